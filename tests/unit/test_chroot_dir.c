/* The per-domid chroot dir: made root-owned mode 0000 and empty, a busy
 * leftover refused with a clear error, removed after destroy, symlinks and
 * files never followed. Runs as root. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/chroot.h"

static char base[64];
static char dir[128];
static char err[512];

static void setup(void)
{
    snprintf(base, sizeof(base), "/tmp/xsdm-chroot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
    ck_assert_int_eq(chroot_dir_path(base, 7, dir, sizeof(dir)), 0);
    err[0] = 0;
}

static void teardown(void)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(path_is_libxls)
{
    char p[64];

    ck_assert_int_eq(chroot_dir_path("/var/run/xen", 5, p, sizeof(p)), 0);
    ck_assert_str_eq(p, "/var/run/xen/qemu-root-5");
    ck_assert_int_eq(chroot_dir_path("/var/run/xen", 5, p, 10), -1);
}
END_TEST

START_TEST(prepare_makes_mode_0000_root_empty)
{
    struct stat st;

    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), 0);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0);
    ck_assert_uint_eq(st.st_uid, 0);
    ck_assert_int_eq(chroot_dir_check(dir, err, sizeof(err)), 0);
    /* a second prepare recycles the empty dir, as libxl does */
    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), 0);
}
END_TEST

START_TEST(busy_dir_refused)
{
    char f[192];
    struct stat st;
    int fd;

    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), 0);
    /* a DM that wrote into its chroot */
    snprintf(f, sizeof(f), "%s/leftover", dir);
    fd = open(f, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(chroot_dir_check(dir, err, sizeof(err)), -1);
    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "busy") && strstr(err, dir) && strstr(err, "1 entries"), "err: %s", err);
    /* and it was not touched */
    ck_assert_int_eq(lstat(f, &st), 0);
    ck_assert_int_eq(chroot_dir_remove(dir, err, sizeof(err)), -1);
    ck_assert_int_eq(lstat(f, &st), 0);
}
END_TEST

START_TEST(remove_after_destroy)
{
    struct stat st;

    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), 0);
    ck_assert_int_eq(chroot_dir_remove(dir, err, sizeof(err)), 0);
    ck_assert_int_eq(lstat(dir, &st), -1);
    /* missing is fine */
    ck_assert_int_eq(chroot_dir_remove(dir, err, sizeof(err)), 0);
}
END_TEST

START_TEST(symlink_not_followed)
{
    char target[128];
    struct stat st;

    snprintf(target, sizeof(target), "%s/elsewhere", base);
    ck_assert_int_eq(mkdir(target, 0755), 0);
    ck_assert_int_eq(symlink(target, dir), 0);
    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "not a directory"), "err: %s", err);
    /* the target was not removed or changed */
    ck_assert_int_eq(lstat(target, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0755);
}
END_TEST

START_TEST(file_in_the_way)
{
    int fd = open(dir, O_CREAT | O_WRONLY, 0600);

    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "not a directory"), "err: %s", err);
}
END_TEST

START_TEST(wrong_mode_detected)
{
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(chroot_dir_check(dir, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "0755"), "err: %s", err);
    /* prepare replaces it with a proper one */
    ck_assert_int_eq(chroot_dir_prepare(dir, err, sizeof(err)), 0);
    ck_assert_int_eq(chroot_dir_check(dir, err, sizeof(err)), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chroot_dir");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, path_is_libxls);
    tcase_add_test(tc, prepare_makes_mode_0000_root_empty);
    tcase_add_test(tc, busy_dir_refused);
    tcase_add_test(tc, remove_after_destroy);
    tcase_add_test(tc, symlink_not_followed);
    tcase_add_test(tc, file_in_the_way);
    tcase_add_test(tc, wrong_mode_detected);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
