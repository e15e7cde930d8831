/* libxl's device-model uid rules against a scripted user database. */
#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "tests/lib/fake_users.h"
#include "toolstack/uid.h"

static const struct fake_user range_users[] = {
    { "root", 0, 0 },
    { "xen-qemuuser-range-base", 131072, 131072 },
    { "xen-qemuuser-shared", 998, 998 },
    { "alice", 131077, 1000 },                  /* collides with range-base + 5 */
    { "qemu", 64055, 64055 },
    { "rootish", 0, 100 },
    { NULL, 0, 0 },
};

START_TEST(range_base_plus_domid)
{
    struct fake_users f = { .users = range_users };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256];

    ck_assert_int_eq(uid_choose(&db, 3, NULL, true, false, &u, err, sizeof(err)), 0);
    ck_assert_uint_eq(u.uid, 131075);
    ck_assert_uint_eq(u.gid, 131072);             /* libxl: range-base's gid, shared */
    ck_assert_str_eq(u.runas, "131075:131072");   /* numeric form, no NSS in the DM */
    ck_assert(u.kill_uid);
}
END_TEST

START_TEST(range_uid_taken_by_a_user)
{
    struct fake_users f = { .users = range_users };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256] = "";

    ck_assert_int_eq(uid_choose(&db, 5, NULL, true, false, &u, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "131077") && strstr(err, "alice"), "err: %s", err);
}
END_TEST

START_TEST(device_model_user_wins)
{
    struct fake_users f = { .users = range_users };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256];

    /* even without dm_restrict, as libxl */
    ck_assert_int_eq(uid_choose(&db, 3, "qemu", false, false, &u, err, sizeof(err)), 0);
    ck_assert_str_eq(u.runas, "qemu");
    ck_assert_uint_eq(u.uid, 64055);
    ck_assert(u.kill_uid);
}
END_TEST

START_TEST(device_model_user_missing)
{
    struct fake_users f = { .users = range_users };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256] = "";

    ck_assert_int_eq(uid_choose(&db, 3, "nobody-here", true, false, &u, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "nobody-here") && strstr(err, "does not exist"), "err: %s", err);
}
END_TEST

START_TEST(uid_zero_refused)
{
    struct fake_users f = { .users = range_users };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256] = "";

    ck_assert_int_eq(uid_choose(&db, 3, "root", true, false, &u, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "uid 0"), "err: %s", err);
    ck_assert_int_eq(uid_choose(&db, 3, "rootish", false, false, &u, err, sizeof(err)), -1);
    ck_assert_uint_eq(u.uid, 0);
    ck_assert_str_eq(u.runas, "");
}
END_TEST

START_TEST(range_base_of_zero_with_domid_is_not_root)
{
    static const struct fake_user zero_base[] = {
        { "xen-qemuuser-range-base", 0, 0 }, { NULL, 0, 0 },
    };
    struct fake_users f = { .users = zero_base };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256];

    /* base 0 + domid 2 = uid 2: allowed by libxl's rule (only 0 is refused) */
    ck_assert_int_eq(uid_choose(&db, 2, NULL, true, false, &u, err, sizeof(err)), 0);
    ck_assert_uint_eq(u.uid, 2);
}
END_TEST

START_TEST(shared_user_no_kill_uid)
{
    static const struct fake_user shared_only[] = {
        { "xen-qemuuser-shared", 998, 997 }, { NULL, 0, 0 },
    };
    struct fake_users f = { .users = shared_only };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256];

    ck_assert_int_eq(uid_choose(&db, 7, NULL, true, false, &u, err, sizeof(err)), 0);
    ck_assert_str_eq(u.runas, "xen-qemuuser-shared");
    ck_assert_uint_eq(u.uid, 998);
    ck_assert(!u.kill_uid);
    /* a per-domid gid needs the range rule */
    ck_assert_int_eq(uid_choose(&db, 7, NULL, true, true, &u, err, sizeof(err)), -1);
}
END_TEST

START_TEST(nobody_to_run_as)
{
    static const struct fake_user none[] = { { "qemu", 64055, 64055 }, { NULL, 0, 0 } };
    struct fake_users f = { .users = none };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256] = "";

    ck_assert_int_eq(uid_choose(&db, 7, NULL, true, false, &u, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "cannot restrict"), "err: %s", err);
    /* not restricted, no user: stays root, no -runas */
    ck_assert_int_eq(uid_choose(&db, 7, NULL, false, false, &u, err, sizeof(err)), 1);
}
END_TEST

START_TEST(per_domid_gid)
{
    static const gid_t taken[] = { 131080, 0 };
    struct fake_users f = { .users = range_users, .groups = taken };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256] = "";

    ck_assert_int_eq(uid_choose(&db, 3, NULL, true, true, &u, err, sizeof(err)), 0);
    ck_assert_uint_eq(u.gid, 131075);
    ck_assert_str_eq(u.runas, "131075:131075");
    ck_assert(u.per_domid_gid);
    /* gid 131072 + 8 belongs to a group: refused */
    ck_assert_int_eq(uid_choose(&db, 8, NULL, true, true, &u, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "131080"), "err: %s", err);
}
END_TEST

START_TEST(bad_domids)
{
    struct fake_users f = { .users = range_users };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    char err[256];

    ck_assert_int_eq(uid_choose(&db, 0, NULL, true, false, &u, err, sizeof(err)), -1);
    ck_assert_int_eq(uid_choose(&db, -1, NULL, true, false, &u, err, sizeof(err)), -1);
    ck_assert_int_eq(uid_choose(&db, 0x7FF0, NULL, true, false, &u, err, sizeof(err)), -1);
}
END_TEST

START_TEST(lookup_errors_propagate)
{
    struct fake_users f = { .users = range_users, .fail = true };
    struct uid_db db = fake_users_db(&f, NULL);
    struct dm_user u;
    uid_t r;
    char err[256] = "";

    ck_assert_int_eq(uid_choose(&db, 3, NULL, true, false, &u, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "lookup"), "err: %s", err);
    ck_assert_int_eq(uid_reaper(&db, &r, err, sizeof(err)), -1);
}
END_TEST

START_TEST(reaper_uid)
{
    static const struct fake_user with_reaper[] = {
        { "xen-qemuuser-range-base", 131072, 131072 }, { "xen-qemuuser-reaper", 131071, 131071 }, { NULL, 0, 0 },
    };
    static const struct fake_user root_reaper[] = { { "xen-qemuuser-reaper", 0, 0 }, { NULL, 0, 0 } };
    struct fake_users f1 = { .users = with_reaper }, f2 = { .users = range_users }, f3 = { .users = NULL },
                   f4 = { .users = root_reaper };
    struct uid_db d1 = fake_users_db(&f1, NULL), d2 = fake_users_db(&f2, NULL), d3 = fake_users_db(&f3, NULL), d4 = fake_users_db(&f4, NULL);
    char err[256];
    uid_t r = 0;

    ck_assert_int_eq(uid_reaper(&d1, &r, err, sizeof(err)), 0);
    ck_assert_uint_eq(r, 131071);
    ck_assert_int_eq(uid_reaper(&d2, &r, err, sizeof(err)), 0);
    ck_assert_uint_eq(r, 131072);
    ck_assert_int_eq(uid_reaper(&d3, &r, err, sizeof(err)), 1);
    ck_assert_int_eq(uid_reaper(&d4, &r, err, sizeof(err)), -1);
}
END_TEST

START_TEST(numeric_runas)
{
    uid_t u;
    gid_t g;

    ck_assert_int_eq(uid_parse_numeric("131075:131072", &u, &g), 0);
    ck_assert_uint_eq(u, 131075);
    ck_assert_uint_eq(g, 131072);
    ck_assert_int_eq(uid_parse_numeric("qemu", &u, &g), -1);
    ck_assert_int_eq(uid_parse_numeric("12:", &u, &g), -1);
    ck_assert_int_eq(uid_parse_numeric("12:x", &u, &g), -1);
    ck_assert_int_eq(uid_parse_numeric("-1:2", &u, &g), -1);
    ck_assert_int_eq(uid_parse_numeric("99999999999:2", &u, &g), -1);
}
END_TEST

START_TEST(system_db_passwd_file)
{
    char path[] = "/tmp/xsdm-passwd-XXXXXX";
    const struct uid_db *db = uid_db_system();
    struct uid_pw pw;
    FILE *f;
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    fprintf(f, "xen-qemuuser-range-base:x:131072:131072::/nonexistent:/usr/sbin/nologin\n");
    fclose(f);
    setenv("XSDM_PASSWD_FILE", path, 1);
    ck_assert_int_eq(db->by_name(db->ctx, "xen-qemuuser-range-base", &pw), 1);
    ck_assert_uint_eq(pw.uid, 131072);
    ck_assert_int_eq(db->by_uid(db->ctx, 131072, &pw), 1);
    /* NSS still answers first: root is root */
    ck_assert_int_eq(db->by_uid(db->ctx, 0, &pw), 1);
    ck_assert_str_eq(pw.name, "root");
    ck_assert_int_eq(db->by_name(db->ctx, "no-such-user-xsdm", &pw), 0);
    unsetenv("XSDM_PASSWD_FILE");
    /* without the file only NSS answers */
    ck_assert_int_eq(db->by_name(db->ctx, "xen-qemuuser-range-base", &pw),
                     getpwnam("xen-qemuuser-range-base") ? 1 : 0);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uid");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, range_base_plus_domid);
    tcase_add_test(tc, range_uid_taken_by_a_user);
    tcase_add_test(tc, device_model_user_wins);
    tcase_add_test(tc, device_model_user_missing);
    tcase_add_test(tc, uid_zero_refused);
    tcase_add_test(tc, range_base_of_zero_with_domid_is_not_root);
    tcase_add_test(tc, shared_user_no_kill_uid);
    tcase_add_test(tc, nobody_to_run_as);
    tcase_add_test(tc, per_domid_gid);
    tcase_add_test(tc, bad_domids);
    tcase_add_test(tc, lookup_errors_propagate);
    tcase_add_test(tc, reaper_uid);
    tcase_add_test(tc, numeric_runas);
    tcase_add_test(tc, system_db_passwd_file);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
