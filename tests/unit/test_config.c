/* xl.cfg through libxlutil, and the DM argv built from it, compared with
 * what libxl 4.17 really produced in the reference run (tests/data/toolstack,
 * copied from ../shared/xen-lab/reference-run/results) and with the
 * documented example (libxl-compat.md §1.9). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/ckrun.h"
#include "toolstack/config.h"
#include "toolstack/dmargs.h"

static char err[1024];

static int parse(const char *text, struct xl_config *c)
{
    err[0] = 0;
    return xlcfg_parse(text, strlen(text), "test.cfg", c, err, sizeof(err));
}

/* Compare argv with a whitespace-separated expectation. */
static void expect_argv(const struct dm_args *a, const char *want)
{
    char *copy = strdup(want), *save = NULL, *tok;
    int i = 0;

    for (tok = strtok_r(copy, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
        ck_assert_msg(i < a->argc, "argv too short: missing '%s' at %d", tok, i);
        ck_assert_msg(!strcmp(a->argv[i], tok), "argv[%d] = '%s', want '%s'", i, a->argv[i], tok);
    }
    ck_assert_msg(i == a->argc, "argv has %d entries, want %d (extra '%s')", a->argc, i,
                  i < a->argc ? a->argv[i] : "");
    free(copy);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

START_TEST(reference_run_argv)
{
    struct xl_config c;
    struct dm_args a;
    struct dm_args_in in = {
        .dm_path = "/usr/libexec/xen-qemu-system-i386", .domid = 4, .qmp_fd = 14,
        .run_dir = "/var/run/xen", .runas = "131076:999", .incoming_fd = -1,
    };
    char *want;

    ck_assert_msg(xlcfg_read(SRC_DIR "/tests/data/toolstack/s4-hvm2.cfg", &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.name, "hvm2");
    ck_assert_int_eq(c.n_disks, 1);
    ck_assert(c.disks[0].cdrom);
    ck_assert_int_eq(c.disks[0].devnum, 5632);
    ck_assert_int_eq(c.n_vifs, 0);
    ck_assert_int_eq(dm_args_build(&c, &in, &a, err, sizeof(err)), 0);
    want = slurp(SRC_DIR "/tests/data/toolstack/s4-dm-args.txt");
    expect_argv(&a, want);
    free(want);
    dm_args_free(&a);
}
END_TEST

static const char doc_example[] =
    "name=\"hvm1\"\ntype=\"hvm\"\nmemory=1024\nvcpus=2\nvnc=0\nserial='pty'\ndm_restrict=1\n"
    "disk=[ 'format=raw,vdev=hda,access=rw,target=/srv/vm/hvm1.img',\n"
    "       'format=raw,vdev=hdc,access=ro,devtype=cdrom,target=/srv/iso/inst.iso' ]\n"
    "vif=[ 'mac=00:16:3e:12:34:56,bridge=xenbr0' ]\n";

START_TEST(documented_example_argv)
{
    struct xl_config c;
    struct dm_args a;
    struct dm_args_in in = {
        .dm_path = "/usr/libexec/xen-qemu-system-i386", .domid = 5, .qmp_fd = 4,
        .run_dir = "/var/run/xen", .runas = "131077:131072", .incoming_fd = -1,
    };

    ck_assert_msg(parse(doc_example, &c) == 0, "%s", err);
    ck_assert_int_eq(dm_args_build(&c, &in, &a, err, sizeof(err)), 0);
    expect_argv(&a,
        "/usr/libexec/xen-qemu-system-i386 -xen-domid 5 -no-shutdown "
        "-chardev socket,id=libxl-cmd,fd=4,server=on,wait=off -S -mon chardev=libxl-cmd,mode=control "
        "-chardev socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-5,server=on,wait=off "
        "-mon chardev=libxenstat-cmd,mode=control -nodefaults -no-user-config -name hvm1 -vnc none "
        "-display none -serial pty -device cirrus-vga,vgamem_mb=8 -boot order=cda -smp 2,maxcpus=2 "
        "-device rtl8139,id=nic0,netdev=net0,mac=00:16:3e:12:34:56 "
        "-netdev type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no "
        "-xen-domid-restrict -chroot /var/run/xen/qemu-root-5 -machine xenfv,suppress-vmdesc=on -m 1016 "
        "-drive file=/srv/vm/hvm1.img,if=ide,index=0,media=disk,format=raw,cache=writeback "
        "-drive if=none,readonly=on,id=ide-5632,file=/srv/iso/inst.iso,format=raw "
        "-device ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0 -runas 131077:131072");
    dm_args_free(&a);
}
END_TEST

START_TEST(restore_and_qtest_argv)
{
    static const char *const extra[] = { "-sandbox", "off", NULL };
    struct xl_config c;
    struct dm_args a;
    struct dm_args_in in = {
        .dm_path = "xsdm", .domid = 2, .qmp_fd = 3, .run_dir = "/r", .runas = "1:2", .incoming_fd = 4,
        .qtest_path = "/r/qtest-2", .extra = extra,
    };

    ck_assert_msg(parse("name=\"q\"\nmemory=64\nvga=\"none\"\ndm_restrict=1\n"
                        "disk=['vdev=hdc,devtype=cdrom,access=ro,target=']\n", &c) == 0, "%s", err);
    ck_assert_int_eq(dm_args_build(&c, &in, &a, err, sizeof(err)), 0);
    expect_argv(&a,
        "xsdm -xen-domid 2 -no-shutdown -chardev socket,id=libxl-cmd,fd=3,server=on,wait=off -S "
        "-mon chardev=libxl-cmd,mode=control "
        "-chardev socket,id=libxenstat-cmd,path=/r/qmp-libxenstat-2,server=on,wait=off "
        "-mon chardev=libxenstat-cmd,mode=control -nodefaults -no-user-config -name q -vnc none -display none "
        "-boot order=cda -net none -xen-domid-restrict -chroot /r/qemu-root-2 -incoming fd:4 -sandbox off "
        "-machine xenfv,suppress-vmdesc=on -m 64 -drive if=none,readonly=on,id=ide-5632 "
        "-device ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0 -runas 1:2 "
        "-accel qtest -qtest unix:/r/qtest-2");
    dm_args_free(&a);
}
END_TEST

START_TEST(unsupported_key_named)
{
    struct xl_config c;

    ck_assert_int_eq(parse("name=\"a\"\nmemory=64\n\npci=['01:00.0']\n", &c), -1);
    ck_assert_msg(strstr(err, "test.cfg:4") && strstr(err, "'pci'"), "err: %s", err);
    /* keys inside strings or comments are not keys */
    ck_assert_msg(parse("name=\"a\" # pci = 1\nserial=\"pty; x=1\"\n", &c) == 0, "%s", err);
}
END_TEST

START_TEST(syntax_error_reported)
{
    struct xl_config c;

    ck_assert_int_eq(parse("name=\"a\"\nmemory=[\n", &c), -1);
    ck_assert_msg(strstr(err, "syntax error") && strstr(err, "test.cfg"), "err: %s", err);
}
END_TEST

START_TEST(bad_values)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "memory=64\n", "'name' is required" },
        { "name=\"a b\"\n", "may only hold" },
        { "name=\"a\"\ntype=\"pv\"\n", "type 'pv'" },
        { "name=\"a\"\nvga=\"none\"\nvnc=1\n", "vnc=1 needs a display device" },
        { "name=\"a\"\nvnc=1\nvnclisten=\"localhost\"\n", "not a host name" },
        { "name=\"a\"\nvnc=1\nvnclisten=\"::1\"\n", "in brackets" },
        { "name=\"a\"\nvnc=1\nvnclisten=\"[::1\"\n", "missing ']'" },
        { "name=\"a\"\nvnc=1\nvnclisten=\"[::1]x\"\n", "[ADDRESS]:DISPLAY" },
        { "name=\"a\"\nvnc=1\nvnclisten=\"127.0.0.1:x\"\n", "display must be 0-99" },
        { "name=\"a\"\nvnc=1\nvnclisten=\"127.0.0.1:100\"\n", "display must be 0-99" },
        { "name=\"a\"\nvnc=1\nvncdisplay=100\n", "'vncdisplay'" },
        { "name=\"a\"\nvnc=1\nvncunused=2\n", "'vncunused'" },
        { "name=\"a\"\nvnc=2\n", "'vnc'" },
        { "name=\"a\"\nvnc=1\nvncviewer=1\n", "unsupported key 'vncviewer'" },
        { "name=\"a\"\nvga=\"qxl\"\n", "vga 'qxl'" },
        { "name=\"a\"\nmemory=\"lots\"\n", "'memory'" },
        { "name=\"a\"\ndisk=['vdev=xvda,target=/x']\n", "xvda" },
        { "name=\"a\"\ndisk=['vdev=hda,access=ro,target=/x']\n", "must be access=rw" },
        { "name=\"a\"\ndisk=['format=qcow2,vdev=hda,target=/x']\n", "format=raw" },
        { "name=\"a\"\ndisk=['vdev=hda,target=/x','vdev=hda,target=/y']\n", "used twice" },
        { "name=\"a\"\nvif=['mac=zz']\n", "bad mac" },
        { "name=\"a\"\nvif=['rate=10Mb/s']\n", "unsupported key 'rate'" },
        { "name=\"a\"\non_crash=\"explode\"\n", "on_crash" },
        { "name=\"a\"\ndevice_model_version=\"qemu-xen-traditional\"\n", "qemu-xen only" },
        { "name=\"a\"\nboot=\"x\"\n", "boot 'x'" },
    };
    struct xl_config c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(parse(cases[i].text, &c) == -1, "accepted: %s", cases[i].text);
        ck_assert_msg(strstr(err, cases[i].want), "for %s: err '%s' lacks '%s'", cases[i].text, err, cases[i].want);
    }
}
END_TEST

/* xl.cfg's VNC keys, and the -vnc argument they make: fd=N when xsdmctl
 * passes the socket, libxl's own form otherwise. */
START_TEST(vnc_keys)
{
    static const struct {
        const char *text, *host;
        int display;
        bool findunused;
        const char *passwd, *libxl_form, *fd_form;
    } cases[] = {
        { "vnc=1\n", "127.0.0.1", 0, true, "", "127.0.0.1:0,to=99", "fd=5" },
        { "vnc=1\nvncdisplay=3\n", "127.0.0.1", 3, false, "", "127.0.0.1:3", "fd=5" },
        { "vnc=1\nvncdisplay=3\nvncunused=1\n", "127.0.0.1", 3, true, "", "127.0.0.1:3,to=99", "fd=5" },
        { "vnc=1\nvnclisten=\"0.0.0.0\"\n", "0.0.0.0", 0, true, "", "0.0.0.0:0,to=99", "fd=5" },
        { "vnc=1\nvnclisten=\"10.0.0.1:7\"\n", "10.0.0.1", 7, false, "", "10.0.0.1:7", "fd=5" },
        { "vnc=1\nvnclisten=\"[::1]\"\nvncunused=0\n", "::1", 0, false, "", "[::1]:0", "fd=5" },
        { "vnc=1\nvnclisten=\"[::1]:2\"\n", "::1", 2, false, "", "[::1]:2", "fd=5" },
        { "vnc=1\nvncpasswd=\"secret\"\n", "127.0.0.1", 0, true, "secret", "127.0.0.1:0,password=on,to=99",
          "fd=5,password=on" },
        { "vnc=1\nvncpasswd=\"\"\n", "127.0.0.1", 0, true, "", "127.0.0.1:0,to=99", "fd=5" },
    };
    struct dm_args_in in = { .dm_path = "xsdm", .domid = 2, .qmp_fd = 3, .run_dir = "/r", .incoming_fd = -1 };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xl_config c;
        struct dm_args a;
        char text[256];
        int at = -1;

        snprintf(text, sizeof(text), "name=\"v\"\nmemory=64\n%s", cases[i].text);
        ck_assert_msg(parse(text, &c) == 0, "case %zu: %s", i, err);
        ck_assert(c.vnc.enabled);
        ck_assert_str_eq(c.vnc.listen, cases[i].host);
        ck_assert_int_eq(c.vnc.display, cases[i].display);
        ck_assert_int_eq(c.vnc.findunused, cases[i].findunused);
        ck_assert_str_eq(c.vnc.passwd, cases[i].passwd);
        for (int k = 0; k < 2; k++) {
            in.vnc_fd = k ? 5 : -1;
            ck_assert_int_eq(dm_args_build(&c, &in, &a, err, sizeof(err)), 0);
            for (int j = 0; j + 1 < a.argc; j++)
                if (!strcmp(a.argv[j], "-vnc"))
                    at = j + 1;
            ck_assert_int_gt(at, 0);
            ck_assert_str_eq(a.argv[at], k ? cases[i].fd_form : cases[i].libxl_form);
            ck_assert_str_eq(a.argv[at + 1], "-display");     /* libxl's place: right after -name */
            ck_assert_str_eq(a.argv[at - 2], "v");
            dm_args_free(&a);
        }
    }
    /* Off (the default here): -vnc none whatever the other keys say, as xl. */
    {
        struct xl_config c;
        struct dm_args a;

        ck_assert_msg(parse("name=\"v\"\nvga=\"none\"\nvnclisten=\"0.0.0.0\"\nvncpasswd=\"x\"\n", &c) == 0,
                      "%s", err);
        ck_assert(!c.vnc.enabled);
        in.vnc_fd = 5;
        ck_assert_int_eq(dm_args_build(&c, &in, &a, err, sizeof(err)), 0);
        for (int j = 0; j + 1 < a.argc; j++)
            if (!strcmp(a.argv[j], "-vnc"))
                ck_assert_str_eq(a.argv[j + 1], "none");
        dm_args_free(&a);
    }
}
END_TEST

START_TEST(vdev_numbers)
{
    int n;

    ck_assert_int_eq(xlcfg_vdev_index("hda", &n), 0);
    ck_assert_int_eq(n, 768);
    ck_assert_int_eq(xlcfg_vdev_index("hdb", &n), 1);
    ck_assert_int_eq(n, 832);
    ck_assert_int_eq(xlcfg_vdev_index("hdc", &n), 2);
    ck_assert_int_eq(n, 5632);
    ck_assert_int_eq(xlcfg_vdev_index("hdd", &n), 3);
    ck_assert_int_eq(n, 5696);
    ck_assert_int_eq(xlcfg_vdev_index("hde", &n), -1);
    ck_assert_int_eq(xlcfg_vdev_index("sda", &n), -1);
    ck_assert_int_eq(xlcfg_vdev_index("", &n), -1);
}
END_TEST

START_TEST(missing_file)
{
    struct xl_config c;

    ck_assert_int_eq(xlcfg_read("/nonexistent/x.cfg", &c, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "/nonexistent/x.cfg"), "err: %s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, reference_run_argv);
    tcase_add_test(tc, documented_example_argv);
    tcase_add_test(tc, restore_and_qtest_argv);
    tcase_add_test(tc, unsupported_key_named);
    tcase_add_test(tc, syntax_error_reported);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, vdev_numbers);
    tcase_add_test(tc, vnc_keys);
    tcase_add_test(tc, missing_file);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
