/* fd sets and dm_open(): id allocation, membership, removal, query shape,
 * and /dev/fdset/N access-mode matching (a read-only request may use an
 * O_RDWR fd, never the reverse), truncation, and refusal of plain paths
 * once the DM is restricted; the sets' lifetime (freed when no client is
 * connected and no duplicate is in use, QEMU's rule). Real files in /tmp. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/core/fdset.h"
#include "tests/lib/ckrun.h"

static char path[64];
static char err[512];

static void setup(void)
{
    int fd;

    snprintf(path, sizeof(path), "/tmp/xsdm-test-fdset-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    close(fd);
    fdset_clear();
    err[0] = 0;
}

static void teardown(void)
{
    fdset_clear();
    unlink(path);
}

static int open_file(int flags)
{
    int fd = open(path, flags | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    return fd;
}

static bool same_file(int a, int b)
{
    struct stat sa, sb;

    ck_assert_int_eq(fstat(a, &sa), 0);
    ck_assert_int_eq(fstat(b, &sb), 0);
    return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static bool is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

START_TEST(add_allocates_lowest_free)
{
    int a = open_file(O_RDONLY), b = open_file(O_RDONLY), c = open_file(O_RDONLY);
    int id, fd;

    ck_assert_int_eq(fdset_add(-1, a, NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 0);
    ck_assert_int_eq(fd, a);
    ck_assert_int_eq(fdset_add(-1, b, NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 1);
    ck_assert_int_eq(fdset_remove(0, -1, err, sizeof(err)), 0);
    ck_assert(!is_open(a));
    ck_assert_int_eq(fdset_add(-1, c, NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 0);
}
END_TEST

START_TEST(explicit_set_and_query)
{
    int a = open_file(O_RDONLY), b = open_file(O_RDWR);
    int id, fd, all[8];
    json_t *q, *set, *fds;

    ck_assert_int_eq(fdset_add(7, a, "raw:/x.iso", &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 7);
    ck_assert_int_eq(fdset_add(7, b, NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 7);
    q = fdset_query();
    ck_assert_int_eq(json_array_size(q), 1);
    set = json_array_get(q, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(set, "fdset-id")), 7);
    fds = json_object_get(set, "fds");
    ck_assert_int_eq(json_array_size(fds), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(fds, 0), "fd")), a);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fds, 0), "opaque")), "raw:/x.iso");
    ck_assert_ptr_null(json_object_get(json_array_get(fds, 1), "opaque"));
    json_decref(q);
    ck_assert_int_eq(fdset_all_fds(all, 8), 2);
    ck_assert(all[0] == a || all[1] == a);
    ck_assert(all[0] == b || all[1] == b);
    ck_assert_int_eq(fdset_all_fds(all, 1), 1);

    /* Removing one fd keeps the set; removing the last one drops it. */
    ck_assert_int_eq(fdset_remove(7, a, err, sizeof(err)), 0);
    ck_assert(!is_open(a));
    ck_assert(is_open(b));
    q = fdset_query();
    ck_assert_int_eq(json_array_size(q), 1);
    json_decref(q);
    ck_assert_int_eq(fdset_remove(7, b, err, sizeof(err)), 0);
    q = fdset_query();
    ck_assert_int_eq(json_array_size(q), 0);
    json_decref(q);
}
END_TEST

START_TEST(remove_errors)
{
    int a = open_file(O_RDONLY), id, fd;

    ck_assert_int_eq(fdset_remove(3, -1, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "File descriptor named 'fdset-id:3' not found");
    ck_assert_int_eq(fdset_add(3, a, NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(fdset_remove(3, a + 100, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "fdset-id:3, fd:"));
    ck_assert(is_open(a));
}
END_TEST

START_TEST(limits)
{
    int id, fd, i, first = -1;

    ck_assert_int_eq(fdset_add(0, 9999, NULL, &id, &fd, err, sizeof(err)), -1);   /* not open */
    for (i = 0; i < FDSET_MAX_FDS; i++) {
        int f = open_file(O_RDONLY);

        if (first < 0)
            first = f;
        ck_assert_int_eq(fdset_add(1, f, NULL, &id, &fd, err, sizeof(err)), 0);
    }
    i = open_file(O_RDONLY);
    ck_assert_int_eq(fdset_add(1, i, NULL, &id, &fd, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "full"));
    ck_assert(is_open(i));                /* a refused fd stays the caller's */
    close(i);
    for (i = 0; i < FDSET_MAX_SETS - 1; i++)
        ck_assert_int_eq(fdset_add(-1, open_file(O_RDONLY), NULL, &id, &fd, err, sizeof(err)), 0);
    i = open_file(O_RDONLY);
    ck_assert_int_eq(fdset_add(-1, i, NULL, &id, &fd, err, sizeof(err)), -1);
    close(i);
    fdset_clear();
    ck_assert(!is_open(first));
}
END_TEST

static int add(int flags)
{
    int id, fd;

    ck_assert_int_eq(fdset_add(-1, open_file(flags), NULL, &id, &fd, err, sizeof(err)), 0);
    return id;
}

static int open_set(int id, int flags)
{
    char p[32];

    snprintf(p, sizeof(p), "/dev/fdset/%d", id);
    return dm_open(p, flags, true, err, sizeof(err));
}

START_TEST(access_mode_matching)
{
    int ro = add(O_RDONLY), wo = add(O_WRONLY), rw = add(O_RDWR);
    int fd;

    /* Same mode. */
    fd = open_set(ro, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    /* Read-only and write-only requests may use an O_RDWR fd... */
    fd = open_set(rw, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fd = open_set(rw, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* ...but never the reverse. */
    errno = 0;
    ck_assert_int_eq(open_set(ro, O_RDWR), -1);
    ck_assert_int_eq(errno, EACCES);
    ck_assert_int_eq(open_set(ro, O_WRONLY), -1);
    ck_assert_int_eq(open_set(wo, O_RDONLY), -1);
    ck_assert_int_eq(open_set(wo, O_RDWR), -1);
    ck_assert_ptr_nonnull(strstr(err, "read-write"));
    fd = open_set(wo, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    close(fd);
}
END_TEST

START_TEST(exact_mode_preferred)
{
    int id, fd, rofd = open_file(O_RDONLY), rwfd = open_file(O_RDWR), got;

    ck_assert_int_eq(fdset_add(2, rwfd, NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(fdset_add(2, rofd, NULL, &id, &fd, err, sizeof(err)), 0);
    got = open_set(2, O_RDONLY);
    ck_assert_int_ge(got, 0);
    ck_assert_int_eq(fcntl(got, F_GETFL) & O_ACCMODE, O_RDONLY);
    ck_assert(same_file(got, rofd));
    close(got);
    got = open_set(2, O_RDWR);
    ck_assert_int_eq(fcntl(got, F_GETFL) & O_ACCMODE, O_RDWR);
    close(got);
}
END_TEST

START_TEST(truncate_on_o_trunc)
{
    int id = add(O_WRONLY), fd;
    struct stat st;

    fd = open_set(id, O_WRONLY | O_CREAT | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    close(fd);
    /* Without O_TRUNC the content stays. */
    ck_assert_int_eq(truncate(path, 10), 0);
    fd = open_set(id, O_WRONLY);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_size, 10);
    close(fd);
}
END_TEST

START_TEST(bad_paths)
{
    errno = 0;
    ck_assert_int_eq(dm_open("/dev/fdset/4", O_RDONLY, true, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "add-fd"));
    ck_assert_int_eq(dm_open("/dev/fdset/abc", O_RDONLY, true, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(dm_open("/dev/fdset/", O_RDONLY, true, err, sizeof(err)), -1);
    ck_assert_int_eq(dm_open("/dev/fdset/99999999999", O_RDONLY, true, err, sizeof(err)), -1);
    ck_assert_int_eq(dm_open("", O_RDONLY, false, err, sizeof(err)), -1);
}
END_TEST

START_TEST(plain_paths)
{
    int fd = dm_open(path, O_RDONLY, false, err, sizeof(err));
    char buf[4];

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(read(fd, buf, 4), 4);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    /* Restricted: refused with a message that says what to do instead. */
    errno = 0;
    ck_assert_int_eq(dm_open(path, O_RDONLY, true, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "add-fd"));
    ck_assert_int_eq(dm_open("/nonexistent/xsdm", O_RDONLY, false, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST


static int sets_listed(void)
{
    json_t *q = fdset_query();
    int n = (int)json_array_size(q);

    json_decref(q);
    return n;
}

/* libxl never sends remove-fd: a set nobody opened goes when the client
 * that added it disconnects (QEMU's rule). */
START_TEST(unused_set_freed_on_disconnect)
{
    int a = open_file(O_RDONLY), id, fd;

    fdset_monitor_connected();
    ck_assert_int_eq(fdset_add(-1, a, NULL, &id, &fd, err, sizeof(err)), 0);
    fdset_cleanup();                        /* a client is connected: kept */
    ck_assert(is_open(a));
    ck_assert_int_eq(sets_listed(), 1);
    fdset_monitor_disconnected();
    ck_assert(!is_open(a));
    ck_assert_int_eq(sets_listed(), 0);
    ck_assert_int_eq(fdset_dups_in_use(id), -1);
}
END_TEST

/* A set whose duplicate backs a medium outlives the client, and goes with
 * the release of that duplicate once no client is connected. */
START_TEST(set_in_use_survives_disconnect)
{
    int a = open_file(O_RDONLY), id, fd, d;
    char buf[4];

    fdset_monitor_connected();
    ck_assert_int_eq(fdset_add(-1, a, NULL, &id, &fd, err, sizeof(err)), 0);
    d = open_set(id, O_RDONLY);
    ck_assert_int_ge(d, 0);
    ck_assert_int_eq(fdset_dups_in_use(id), 1);
    fdset_monitor_disconnected();
    ck_assert(is_open(a));
    ck_assert(is_open(d));
    ck_assert_int_eq(sets_listed(), 1);
    ck_assert_int_eq(pread(d, buf, 4, 0), 4);
    ck_assert_mem_eq(buf, "0123", 4);
    /* A new client, the eject: kept while the client is there... */
    fdset_monitor_connected();
    dm_close(d);
    ck_assert_int_eq(fdset_dups_in_use(id), 0);
    ck_assert(is_open(a));
    ck_assert_int_eq(sets_listed(), 1);
    /* ...and freed when it leaves. */
    fdset_monitor_disconnected();
    ck_assert(!is_open(a));
    ck_assert_int_eq(sets_listed(), 0);
    ck_assert_int_eq(fdset_add(-1, open_file(O_RDONLY), NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 0);                /* the id is free again */
}
END_TEST

/* The release with no client connected frees the set at once. */
START_TEST(release_without_client_frees)
{
    int a = open_file(O_RDWR), b = open_file(O_RDONLY), id, fd, d;

    ck_assert_int_eq(fdset_add(3, a, NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(fdset_add(3, b, NULL, &id, &fd, err, sizeof(err)), 0);
    d = open_set(3, O_RDWR);
    ck_assert_int_ge(d, 0);
    fdset_cleanup();                        /* a duplicate in use keeps every fd */
    ck_assert(is_open(a));
    ck_assert(is_open(b));
    dm_close(d);
    ck_assert(!is_open(a));
    ck_assert(!is_open(b));
    ck_assert_int_eq(sets_listed(), 0);
}
END_TEST

/* remove-fd closes the set's fd; the user's duplicate stays valid, and the
 * set (empty) stays until that duplicate is released. */
START_TEST(remove_fd_while_in_use)
{
    int a = open_file(O_RDONLY), id, fd, d;
    char buf[4];
    json_t *q;

    fdset_monitor_connected();
    ck_assert_int_eq(fdset_add(-1, a, NULL, &id, &fd, err, sizeof(err)), 0);
    d = open_set(id, O_RDONLY);
    ck_assert_int_ge(d, 0);
    ck_assert_int_eq(fdset_remove(id, a, err, sizeof(err)), 0);
    ck_assert(!is_open(a));
    ck_assert_int_eq(pread(d, buf, 4, 2), 4);
    ck_assert_mem_eq(buf, "2345", 4);
    q = fdset_query();
    ck_assert_int_eq(json_array_size(q), 1);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(q, 0), "fds")), 0);
    json_decref(q);
    ck_assert_int_eq(open_set(id, O_RDONLY), -1);   /* nothing left to duplicate */
    dm_close(d);
    ck_assert_int_eq(sets_listed(), 0);
    fdset_monitor_disconnected();
}
END_TEST

/* dm_close() of a plain open is a close; releasing an unknown fd is refused. */
START_TEST(dm_close_plain_fd)
{
    int a = open_file(O_RDONLY), id, fd, p;

    fdset_monitor_connected();
    ck_assert_int_eq(fdset_add(-1, a, NULL, &id, &fd, err, sizeof(err)), 0);
    fdset_monitor_disconnected();           /* a is gone; now a set in use: */
    ck_assert_int_eq(fdset_add(-1, open_file(O_RDONLY), NULL, &id, &fd, err, sizeof(err)), 0);
    ck_assert_int_ge(open_set(id, O_RDONLY), 0);
    p = dm_open(path, O_RDONLY, false, err, sizeof(err));
    ck_assert_int_ge(p, 0);
    ck_assert_int_eq(fdset_dup_release(p), -1);
    dm_close(p);
    ck_assert(!is_open(p));
    ck_assert_int_eq(fdset_dups_in_use(id), 1);     /* untouched */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fdset");
    TCase *tc = tcase_create("fdset");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, add_allocates_lowest_free);
    tcase_add_test(tc, explicit_set_and_query);
    tcase_add_test(tc, remove_errors);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, access_mode_matching);
    tcase_add_test(tc, exact_mode_preferred);
    tcase_add_test(tc, truncate_on_o_trunc);
    tcase_add_test(tc, bad_paths);
    tcase_add_test(tc, plain_paths);
    tcase_add_test(tc, unused_set_freed_on_disconnect);
    tcase_add_test(tc, set_in_use_survives_disconnect);
    tcase_add_test(tc, release_without_client_frees);
    tcase_add_test(tc, remove_fd_while_in_use);
    tcase_add_test(tc, dm_close_plain_fd);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
