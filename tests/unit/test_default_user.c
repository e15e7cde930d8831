/* The user a DM started without -runas becomes (libvirt, xl without
 * dm_restrict): libxl's rule read from a passwd file, xsdm's fallback, the
 * refusals; and the subuid(5) overlap check. Files only: no root needed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restrict/system.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/fake_users.h"

static char path[64];
static char how[256], err[256];
static uid_t uid;
static gid_t gid;

static const char *file(const char *content)
{
    ck_assert_int_eq(fake_passwd_file(path, sizeof(path), content), 0);
    return path;
}

static int choose(const char *passwd, int domid)
{
    int rc;

    how[0] = err[0] = 0;
    uid = 4242;
    gid = 4242;
    rc = restrict_default_user(file(passwd), domid, &uid, &gid, how, sizeof(how), err, sizeof(err));
    unlink(path);
    return rc;
}

#define ROOT "root:x:0:0:root:/root:/bin/sh\n"
#define BASE "xen-qemuuser-range-base:x:131072:131000::/:/usr/sbin/nologin\n"
#define SHARED "xen-qemuuser-shared:x:150000:150002::/:/usr/sbin/nologin\n"

START_TEST(range_base_plus_domid)
{
    ck_assert_int_eq(choose(ROOT BASE SHARED, 5), 0);
    ck_assert_uint_eq(uid, 131077);
    ck_assert_uint_eq(gid, 131000);
    ck_assert_ptr_nonnull(strstr(how, "xen-qemuuser-range-base"));
}
END_TEST

START_TEST(range_uid_taken)
{
    ck_assert_int_eq(choose(ROOT BASE "alice:x:131077:100::/home/alice:/bin/sh\n", 5), -1);
    ck_assert_ptr_nonnull(strstr(err, "'alice'"));
    ck_assert_ptr_nonnull(strstr(err, "131077"));
    ck_assert_uint_eq(uid, 4242);                   /* nothing chosen */
}
END_TEST

START_TEST(shared_user)
{
    ck_assert_int_eq(choose(ROOT SHARED, 5), 0);
    ck_assert_uint_eq(uid, 150000);
    ck_assert_uint_eq(gid, 150002);
    ck_assert_ptr_nonnull(strstr(how, "xen-qemuuser-shared"));
}
END_TEST

START_TEST(unnamed_fallback)
{
    ck_assert_int_eq(choose(ROOT "nobody:x:65534:65534::/:/usr/sbin/nologin\n", 7), 1);
    ck_assert_uint_eq(uid, RESTRICT_FALLBACK_UID_BASE + 7);
    ck_assert_uint_eq(gid, RESTRICT_FALLBACK_UID_BASE + 7);
    ck_assert_ptr_nonnull(strstr(how, "unnamed"));
    /* qtest has no domain id: domain 0's slot */
    ck_assert_int_eq(choose(ROOT, -1), 1);
    ck_assert_uint_eq(uid, RESTRICT_FALLBACK_UID_BASE);
}
END_TEST

START_TEST(unnamed_fallback_taken)
{
    ck_assert_int_eq(choose(ROOT "bob:x:131079:131079::/home/bob:/bin/sh\n", 7), -1);
    ck_assert_ptr_nonnull(strstr(err, "'bob'"));
}
END_TEST

START_TEST(never_root)
{
    ck_assert_int_eq(choose(ROOT "xen-qemuuser-range-base:x:0:0::/:/bin/sh\n", 0), -1);
    ck_assert_ptr_nonnull(strstr(err, "root"));
    ck_assert_int_eq(choose(ROOT "xen-qemuuser-shared:x:0:5::/:/bin/sh\n", 3), -1);
    ck_assert_int_eq(choose(ROOT "xen-qemuuser-shared:x:5:0::/:/bin/sh\n", 3), -1);
}
END_TEST

START_TEST(bad_domid_and_unreadable_file)
{
    ck_assert_int_eq(choose(ROOT BASE, 0x7ff0), -1);
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    ck_assert_int_eq(restrict_default_user("/nonexistent/passwd", 1, &uid, &gid, how, sizeof(how),
                                           err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/passwd"));
}
END_TEST

START_TEST(subuid_overlap)
{
    char name[64] = "";
    const char *p = file("alice:100000:65536\n"
                         "garbage line\n"
                         "carol:x:5\n"
                         "bob:200000:10\n");

    ck_assert_int_eq(restrict_subuid_owner(p, 131079, name, sizeof(name)), 0);
    ck_assert_str_eq(name, "alice");
    ck_assert_int_eq(restrict_subuid_owner(p, 200009, name, sizeof(name)), 0);
    ck_assert_str_eq(name, "bob");
    ck_assert_int_eq(restrict_subuid_owner(p, 200010, name, sizeof(name)), 1);
    ck_assert_int_eq(restrict_subuid_owner(p, 99999, name, sizeof(name)), 1);
    ck_assert_int_eq(restrict_subuid_owner(p, 165536, name, sizeof(name)), 1);
    unlink(p);
    ck_assert_int_eq(restrict_subuid_owner("/nonexistent/subuid", 1, name, sizeof(name)), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("default-user");
    TCase *tc = tcase_create("rule");

    tcase_add_test(tc, range_base_plus_domid);
    tcase_add_test(tc, range_uid_taken);
    tcase_add_test(tc, shared_user);
    tcase_add_test(tc, unnamed_fallback);
    tcase_add_test(tc, unnamed_fallback_taken);
    tcase_add_test(tc, never_root);
    tcase_add_test(tc, bad_domid_and_unreadable_file);
    tcase_add_test(tc, subuid_overlap);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
