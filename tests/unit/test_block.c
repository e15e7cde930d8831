/* Raw image backends (dm/storage/block.c): open by path before restriction and by
 * /dev/fdset/N after, formats other than raw refused, range and read-only
 * checks, flush, the keep-list of fds, and the counters. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/core/fdset.h"
#include "dm/storage/block.h"
#include "tests/lib/ckrun.h"

static char path[64];

static void setup(void)
{
    char buf[4096];
    int fd;

    snprintf(path, sizeof(path), "/tmp/xsdm-block-%d-XXXXXX", (int)getpid());
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 3);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    close(fd);
}

static void teardown(void)
{
    unlink(path);
    fdset_clear();
}

START_TEST(test_open_read_write_flush)
{
    char err[256] = "", buf[512], back[512];
    struct block *b = block_open(path, "raw", false, false, err, sizeof(err));

    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_uint_eq(b->size, 16384);
    ck_assert_uint_eq(block_sectors(b, 512), 32);
    ck_assert_uint_eq(block_sectors(b, 2048), 8);
    ck_assert_str_eq(b->filename, path);
    ck_assert_int_eq(block_read(b, 512, buf, sizeof(buf)), 0);
    ck_assert_int_eq((unsigned char)buf[1], (unsigned char)(513 * 3));
    memset(buf, 0x77, sizeof(buf));
    ck_assert_int_eq(block_write(b, 16384 - 512, buf, sizeof(buf)), 0);
    ck_assert_int_eq(block_flush(b), 0);
    ck_assert_int_eq(block_read(b, 16384 - 512, back, sizeof(back)), 0);
    ck_assert_mem_eq(buf, back, sizeof(buf));
    /* Out of range, including wrap-around. */
    ck_assert_int_eq(block_read(b, 16384 - 256, buf, 512), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(block_write(b, ~0ULL - 10, buf, 512), -1);
    ck_assert_int_eq(block_read(b, 16384, buf, 0), 0);
    ck_assert_uint_eq(b->st.rd_ops, 3);
    ck_assert_uint_eq(b->st.wr_ops, 1);
    ck_assert_uint_eq(b->st.rd_bytes, 512 * 2);
    ck_assert_uint_eq(b->st.wr_bytes, 512);
    ck_assert_uint_eq(b->st.flush_ops, 1);
    ck_assert_uint_eq(b->st.invalid_rd, 1);
    ck_assert_uint_eq(b->st.invalid_wr, 1);
    ck_assert_uint_eq(b->st.wr_highest, 16384);
    block_close(b);
}
END_TEST

START_TEST(test_readonly_and_formats)
{
    char err[256] = "", buf[512] = { 0 };
    struct block *b;

    b = block_open(path, "qcow2", true, false, err, sizeof(err));
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, "qcow2") && strstr(err, "raw"), "%s", err);
    b = block_open("/nonexistent/x.img", NULL, true, false, err, sizeof(err));
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, "/nonexistent/x.img"), "%s", err);
    b = block_open(path, NULL, true, false, err, sizeof(err));
    ck_assert_ptr_nonnull(b);
    ck_assert(b->readonly);
    ck_assert_int_eq(block_write(b, 0, buf, sizeof(buf)), -1);
    ck_assert_int_eq(errno, EROFS);
    ck_assert_int_eq(block_flush(b), 0);
    ck_assert_int_eq(block_read(b, 0, buf, sizeof(buf)), 0);
    block_close(b);
}
END_TEST

START_TEST(test_restricted_fdset)
{
    char err[256] = "", name[32], buf[16];
    struct block *b;
    int fd, set, fdr;

    b = block_open(path, "raw", true, true, err, sizeof(err));
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, "/dev/fdset"), "%s", err);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fdset_add(-1, fd, "raw:test", &set, &fdr, err, sizeof(err)), 0);
    snprintf(name, sizeof(name), "/dev/fdset/%d", set);
    /* A read-only fd cannot serve a read-write medium. */
    ck_assert_ptr_null(block_open(name, "raw", false, true, err, sizeof(err)));
    b = block_open(name, "raw", true, true, err, sizeof(err));
    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_uint_eq(b->size, 16384);
    ck_assert_int_ne(b->fd, fd);                     /* a duplicate, not the set's fd */
    ck_assert_int_eq(block_read(b, 3, buf, sizeof(buf)), 0);
    ck_assert_int_eq((unsigned char)buf[0], 9);
    ck_assert_ptr_null(block_open("/dev/fdset/99", "raw", true, true, err, sizeof(err)));
    block_close(b);
}
END_TEST

START_TEST(test_keep_fds)
{
    char err[256];
    struct block *a = block_open(path, "raw", true, false, err, sizeof(err));
    struct block *b = block_open(path, "raw", false, false, err, sizeof(err));
    int fds[8], n, one;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    n = block_keep_fds(fds, 8);
    ck_assert_int_eq(n, 2);
    ck_assert((fds[0] == a->fd && fds[1] == b->fd) || (fds[0] == b->fd && fds[1] == a->fd));
    ck_assert_int_eq(block_keep_fds(&one, 1), 1);    /* bounded by max */
    block_close(a);
    n = block_keep_fds(fds, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(fds[0], b->fd);
    block_close(b);
    ck_assert_int_eq(block_keep_fds(fds, 8), 0);
    block_close(NULL);
}
END_TEST

START_TEST(test_stats_add)
{
    struct block_stats a = { .rd_bytes = 1, .wr_ops = 2, .wr_highest = 100 };
    struct block_stats b = { .rd_bytes = 10, .wr_ops = 20, .wr_highest = 50, .failed_rd = 3 };

    block_stats_add(&a, &b);
    ck_assert_uint_eq(a.rd_bytes, 11);
    ck_assert_uint_eq(a.wr_ops, 22);
    ck_assert_uint_eq(a.failed_rd, 3);
    ck_assert_uint_eq(a.wr_highest, 100);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("block");
    TCase *tc = tcase_create("block");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_read_write_flush);
    tcase_add_test(tc, test_readonly_and_formats);
    tcase_add_test(tc, test_restricted_fdset);
    tcase_add_test(tc, test_keep_fds);
    tcase_add_test(tc, test_stats_add);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
