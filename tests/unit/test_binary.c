/* The installed DM binary carries the hardening the build asks for: PIE,
 * full RELRO (PT_GNU_RELRO and BIND_NOW), a non-executable stack, no
 * segment both writable and executable, the stack protector and
 * _FORTIFY_SOURCE checks linked in. A static DM (the default) has no
 * interpreter and no NSS module loader (restrict/no-nss.c). Read from the
 * ELF file itself, so a Makefile change that drops a flag fails here. */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"

struct image {
    const uint8_t *p;
    size_t len;
};

static struct image map_dm(void)
{
    struct image im = { NULL, 0 };
    struct stat st;
    int fd = open(BUILD_DIR "/xsdm", O_RDONLY | O_CLOEXEC);
    void *p;

    ck_assert_msg(fd >= 0, "%s/xsdm: cannot open", BUILD_DIR);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_uint_gt((size_t)st.st_size, sizeof(Elf64_Ehdr));
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    close(fd);
    im.p = p;
    im.len = (size_t)st.st_size;
    return im;
}

/* Bounds-checked views into the file. */
static const void *at(const struct image *im, uint64_t off, uint64_t size)
{
    ck_assert_msg(off <= im->len && size <= im->len - off, "ELF offset %llu+%llu out of file",
                  (unsigned long long)off, (unsigned long long)size);
    return im->p + off;
}

static const Elf64_Ehdr *ehdr(const struct image *im)
{
    const Elf64_Ehdr *e = at(im, 0, sizeof(*e));

    ck_assert(memcmp(e->e_ident, ELFMAG, SELFMAG) == 0);
    ck_assert_int_eq(e->e_ident[EI_CLASS], ELFCLASS64);
    ck_assert_uint_eq(e->e_phentsize, sizeof(Elf64_Phdr));
    ck_assert_uint_eq(e->e_shentsize, sizeof(Elf64_Shdr));
    return e;
}

static const Elf64_Phdr *phdr(const struct image *im, int i)
{
    const Elf64_Ehdr *e = ehdr(im);

    return at(im, e->e_phoff + (uint64_t)i * sizeof(Elf64_Phdr), sizeof(Elf64_Phdr));
}

static const Elf64_Phdr *find_phdr(const struct image *im, uint32_t type)
{
    for (int i = 0; i < ehdr(im)->e_phnum; i++)
        if (phdr(im, i)->p_type == type)
            return phdr(im, i);
    return NULL;
}

/* DT_tag's value from PT_DYNAMIC, or 0. */
static uint64_t dyn_value(const struct image *im, int64_t tag)
{
    const Elf64_Phdr *d = find_phdr(im, PT_DYNAMIC);
    size_t n, i;

    if (!d)
        return 0;
    n = d->p_filesz / sizeof(Elf64_Dyn);
    for (i = 0; i < n; i++) {
        const Elf64_Dyn *dyn = at(im, d->p_offset + i * sizeof(Elf64_Dyn), sizeof(Elf64_Dyn));

        if (dyn->d_tag == DT_NULL)
            break;
        if (dyn->d_tag == tag)
            return dyn->d_un.d_val;
    }
    return 0;
}

/* Does any symbol (static or dynamic table) satisfy match()? */
static bool has_symbol(const struct image *im, bool (*match)(const char *))
{
    const Elf64_Ehdr *e = ehdr(im);

    for (int i = 0; i < e->e_shnum; i++) {
        const Elf64_Shdr *sh = at(im, e->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
        const Elf64_Shdr *strsh;
        const char *strtab;
        size_t n;

        if (sh->sh_type != SHT_SYMTAB && sh->sh_type != SHT_DYNSYM)
            continue;
        ck_assert_uint_lt(sh->sh_link, e->e_shnum);
        strsh = at(im, e->e_shoff + (uint64_t)sh->sh_link * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
        strtab = at(im, strsh->sh_offset, strsh->sh_size);
        n = sh->sh_size / sizeof(Elf64_Sym);
        for (size_t j = 0; j < n; j++) {
            const Elf64_Sym *sym = at(im, sh->sh_offset + j * sizeof(Elf64_Sym), sizeof(Elf64_Sym));

            if (sym->st_name < strsh->sh_size && strnlen(strtab + sym->st_name, strsh->sh_size - sym->st_name) <
                strsh->sh_size - sym->st_name && match(strtab + sym->st_name))
                return true;
        }
    }
    return false;
}

static bool is_stack_chk(const char *s)
{
    return strcmp(s, "__stack_chk_fail") == 0;
}

/* A _FORTIFY_SOURCE checking variant, e.g. __snprintf_chk, __memcpy_chk. */
static bool is_fortify_chk(const char *s)
{
    size_t n = strlen(s);

    return n > 6 && strncmp(s, "__", 2) == 0 && strcmp(s + n - 4, "_chk") == 0 && !is_stack_chk(s);
}

static bool contains(const struct image *im, const char *needle)
{
    return memmem(im->p, im->len, needle, strlen(needle)) != NULL;
}

START_TEST(pie_relro_nx)
{
    struct image im = map_dm();
    const Elf64_Phdr *stack = find_phdr(&im, PT_GNU_STACK);

    ck_assert_msg(ehdr(&im)->e_type == ET_DYN, "xsdm is not position independent (e_type %u)",
                  ehdr(&im)->e_type);
    ck_assert_msg(dyn_value(&im, DT_FLAGS_1) & DF_1_PIE, "DF_1_PIE missing");
    ck_assert_msg(find_phdr(&im, PT_GNU_RELRO), "no PT_GNU_RELRO: not linked with -z relro");
    ck_assert_msg((dyn_value(&im, DT_FLAGS) & DF_BIND_NOW) || (dyn_value(&im, DT_FLAGS_1) & DF_1_NOW),
                  "no BIND_NOW: RELRO is only partial (-z now missing)");
    ck_assert_msg(stack && !(stack->p_flags & PF_X), "executable stack");
    for (int i = 0; i < ehdr(&im)->e_phnum; i++) {
        const Elf64_Phdr *p = phdr(&im, i);

        ck_assert_msg(p->p_type != PT_LOAD || (p->p_flags & (PF_W | PF_X)) != (PF_W | PF_X),
                      "segment %d is writable and executable", i);
    }
    munmap((void *)im.p, im.len);
}
END_TEST

START_TEST(protector_and_fortify)
{
    struct image im = map_dm();

    ck_assert_msg(has_symbol(&im, is_stack_chk), "__stack_chk_fail absent: no stack protector");
    ck_assert_msg(has_symbol(&im, is_fortify_chk), "no __*_chk function: _FORTIFY_SOURCE inactive");
    munmap((void *)im.p, im.len);
}
END_TEST

/* A static DM must not be able to load NSS modules; a dynamic one (the ASan
 * build, DM_LINK=dynamic) has an interpreter and is checked above only. */
START_TEST(static_without_nss)
{
    struct image im = map_dm();

    if (!find_phdr(&im, PT_INTERP)) {
        ck_assert_msg(!contains(&im, "nsswitch.conf"), "static xsdm carries glibc's NSS loader");
        ck_assert_msg(!contains(&im, "libnss_"), "static xsdm names an NSS module");
    } else {
        ck_assert_msg(contains(&im, "ld-linux"), "PT_INTERP without a dynamic loader path");
    }
    munmap((void *)im.p, im.len);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("binary");
    TCase *tc = tcase_create("hardening");

    tcase_add_test(tc, pie_relro_nx);
    tcase_add_test(tc, protector_and_fortify);
    tcase_add_test(tc, static_without_nss);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
