/* libxl's per-domain device model user, dm_user_pick() (restrict/dm-user.c),
 * the one rule behind restrict_default_user() (xsdm without -runas) and
 * uid_choose() (xsdmctl): one table of cases against a scripted user
 * database, one check test per row so that a broken rule shows every case
 * it breaks; then the passwd(5) file database the DM reads without NSS. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "restrict/dm-user.h"
#include "tests/lib/ckrun.h"
#include "tests/lib/fake_users.h"

#define RANGE "xen-qemuuser-range-base"
#define SHARED "xen-qemuuser-shared"

#define U(...) ((const struct fake_user[]){ __VA_ARGS__, { NULL, 0, 0 } })
#define ROOT { "root", 0, 0 }
#define BASE { RANGE, 131072, 131000 }
#define SHR { SHARED, 150000, 150002 }

static const struct row {
    const char *what;
    const struct fake_user *users;
    int domid;
    bool unnamed;               /* the caller takes the unnamed fallback (xsdm) */
    const char *fail_name;
    bool fail_by_uid;
    int rc;
    enum dm_user_rule rule;     /* when rc == 0 */
    uid_t uid;
    gid_t gid;
    const char *text;           /* in how (rc 0) or err (rc -1) */
} rows[] = {
    /* range base present */
    { "range base + domid, its gid", U(ROOT, BASE, SHR), 5, false, NULL, false,
      0, DM_USER_BY_RANGE, 131077, 131000, RANGE " (uid 131072) + domid 5" },
    { "range base wins over the shared user and the fallback", U(SHR, BASE), 9, true, NULL, false,
      0, DM_USER_BY_RANGE, 131081, 131000, "libxl's dm_restrict rule" },
    { "domain 0's slot is range base's own uid: taken", U(BASE), 0, true, NULL, false,
      -1, 0, 0, 0, "that is user '" RANGE "'" },
    { "the last domid", U(BASE), 0x7fef, false, NULL, false,
      0, DM_USER_BY_RANGE, 131072 + 0x7fef, 131000, "+ domid 32751" },
    { "range uid taken by a user", U(BASE, { "alice", 131077, 100 }), 5, true, NULL, false,
      -1, 0, 0, 0, "131077 (" RANGE },
    { "range uid taken: the owner is named", U(BASE, { "alice", 131077, 100 }), 5, false, NULL, false,
      -1, 0, 0, 0, "but that is user 'alice'" },
    { "range base 0 + domid 0 is root", U({ RANGE, 0, 0 }), 0, true, NULL, false,
      -1, 0, 0, 0, "as root" },
    { "range base 0 + domid 2 is uid 2, not root", U({ RANGE, 0, 0 }), 2, false, NULL, false,
      0, DM_USER_BY_RANGE, 2, 0, RANGE },
    { "range uid past 32 bits", U({ RANGE, 0xfffffff0u, 5 }), 0x20, false, NULL, false,
      -1, 0, 0, 0, "does not fit" },
    { "range uid (uid_t)-1 means unchanged: refused", U({ RANGE, 0xfffffffeu, 5 }), 1, false, NULL, false,
      -1, 0, 0, 0, "uid 4294967295" },
    /* range base missing: the shared user */
    { "shared user", U(ROOT, SHR), 5, false, NULL, false,
      0, DM_USER_BY_SHARED, 150000, 150002, SHARED ", libxl's fallback" },
    { "shared user wins over the unnamed uid", U(SHR), 7, true, NULL, false,
      0, DM_USER_BY_SHARED, 150000, 150002, "shared by every such DM" },
    { "shared user's uid is its own, not taken", U(SHR, { "other", 150000, 1 }), 7, false, NULL, false,
      0, DM_USER_BY_SHARED, 150000, 150002, SHARED },
    { "shared user uid 0", U({ SHARED, 0, 5 }), 3, true, NULL, false,
      -1, 0, 0, 0, "as root" },
    /* neither: the caller decides */
    { "no named user, no fallback asked: nothing", U(ROOT), 7, false, NULL, false,
      1, 0, 0, 0, NULL },
    { "no named user: unnamed uid = gid = 131072 + domid", U(ROOT), 7, true, NULL, false,
      0, DM_USER_BY_UNNAMED, 131079, 131079, "unnamed uid 131079" },
    { "unnamed uid names the database", U(ROOT), 1, true, NULL, false,
      0, DM_USER_BY_UNNAMED, 131073, 131073, "in fake-db" },
    { "unnamed uid taken by a user", U(ROOT, { "bob", 131079, 131079 }), 7, true, NULL, false,
      -1, 0, 0, 0, "'bob'" },
    /* domid out of range */
    { "domid -1", U(BASE), -1, true, NULL, false, -1, 0, 0, 0, "domain id -1 is out of range" },
    { "domid 0x7ff0 (DOMID_FIRST_RESERVED)", U(BASE), 0x7ff0, true, NULL, false,
      -1, 0, 0, 0, "domain id 32752 is out of range" },
    /* name lookups that fail are errors, never "no such user" */
    { "range base lookup fails", U(SHR), 5, true, RANGE, false,
      -1, 0, 0, 0, "lookup of " RANGE " in fake-db failed: Input/output error" },
    { "shared lookup fails", U(ROOT), 5, true, SHARED, false,
      -1, 0, 0, 0, "lookup of " SHARED " in fake-db failed" },
    { "shared lookup not needed when range base exists", U(BASE), 5, false, SHARED, false,
      0, DM_USER_BY_RANGE, 131077, 131000, RANGE },
    { "uid lookup fails (no errno)", U(BASE), 5, false, NULL, true,
      -1, 0, 0, 0, "lookup of a uid in fake-db failed" },
    { "uid lookup fails for the unnamed uid", U(ROOT), 5, true, NULL, true,
      -1, 0, 0, 0, "lookup of a uid" },
    { "uid lookup not needed for the shared user", U(SHR), 5, false, NULL, true,
      0, DM_USER_BY_SHARED, 150000, 150002, SHARED },
};
#define N_ROWS ((int)(sizeof(rows) / sizeof(rows[0])))

START_TEST(rule_table)
{
    const struct row *t = &rows[_i];
    struct fake_users f = { .users = t->users, .fail_name = t->fail_name, .fail_by_uid = t->fail_by_uid };
    struct uid_db db = fake_users_db(&f, "fake-db");
    struct dm_user_pick p;
    char err[512] = "";
    int rc;

    memset(&p, 0x5a, sizeof(p));
    errno = ENOENT;                 /* an old errno must not leak into messages */
    rc = dm_user_pick(&db, t->domid, t->unnamed, &p, err, sizeof(err));
    ck_assert_msg(rc == t->rc, "%s: rc %d, wanted %d (err: %s)", t->what, rc, t->rc, err);
    if (rc == 0) {
        ck_assert_msg(p.rule == t->rule, "%s: rule %d, wanted %d", t->what, p.rule, t->rule);
        ck_assert_msg(p.uid == t->uid && p.gid == t->gid, "%s: %u:%u, wanted %u:%u", t->what,
                      (unsigned)p.uid, (unsigned)p.gid, (unsigned)t->uid, (unsigned)t->gid);
        ck_assert_msg(strstr(p.how, t->text), "%s: how '%s' lacks '%s'", t->what, p.how, t->text);
        ck_assert_msg(!strcmp(p.name, p.rule == DM_USER_BY_SHARED ? SHARED : ""), "%s: name '%s'",
                      t->what, p.name);
    } else {
        /* nothing picked is left for a caller to use by mistake */
        ck_assert_msg(p.uid == 0 && p.gid == 0, "%s: picked %u:%u anyway", t->what, (unsigned)p.uid,
                      (unsigned)p.gid);
        if (t->text)
            ck_assert_msg(strstr(err, t->text), "%s: err '%s' lacks '%s'", t->what, err, t->text);
        if (rc == -1)
            ck_assert_msg(!strstr(err, "No such file"), "%s: stale errno in '%s'", t->what, err);
    }
}
END_TEST

/* ---- the passwd(5) file database --------------------------------------- */

static char path[64];

static void passwd_file(const char *content)
{
    ck_assert_int_eq(fake_passwd_file(path, sizeof(path), content), 0);
}

START_TEST(passwd_file_lookups)
{
    struct passwd_file_db pf;
    struct uid_pw pw;

    passwd_file("root:x:0:0:root:/root:/bin/sh\n"
                "not a passwd line\n"
                "xen-qemuuser-shared:x:150000:150002::/:/usr/sbin/nologin\n"
                "twin:x:150000:7::/:/bin/sh\n");
    passwd_file_db_init(&pf, path);
    ck_assert_str_eq(pf.db.where, path);
    ck_assert_int_eq(pf.db.by_name(pf.db.ctx, SHARED, &pw), 1);
    ck_assert_str_eq(pw.name, SHARED);
    ck_assert_uint_eq(pw.uid, 150000);
    ck_assert_uint_eq(pw.gid, 150002);
    ck_assert_int_eq(pf.db.by_name(pf.db.ctx, "xen-qemuuser", &pw), 0);     /* no prefix match */
    ck_assert_int_eq(pf.db.by_name(pf.db.ctx, "not a passwd line", &pw), 0);
    /* by uid: the first entry with it */
    ck_assert_int_eq(pf.db.by_uid(pf.db.ctx, 150000, &pw), 1);
    ck_assert_str_eq(pw.name, SHARED);
    ck_assert_int_eq(pf.db.by_uid(pf.db.ctx, 0, &pw), 1);
    ck_assert_str_eq(pw.name, "root");
    ck_assert_int_eq(pf.db.by_uid(pf.db.ctx, 4242, &pw), 0);
    unlink(path);
    errno = 0;
    ck_assert_int_eq(pf.db.by_name(pf.db.ctx, "root", &pw), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(pf.db.by_uid(pf.db.ctx, 0, &pw), -1);
}
END_TEST

START_TEST(passwd_file_long_name_is_an_error)
{
    struct passwd_file_db pf;
    struct uid_pw pw;
    char line[256], name[DM_USER_NAME_MAX + 1];

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(line, sizeof(line), "%s:x:131077:5::/:/bin/sh\n", name);
    passwd_file(line);
    passwd_file_db_init(&pf, path);
    /* a truncated name could be somebody else's: an error, never a guess */
    errno = 0;
    ck_assert_int_eq(pf.db.by_uid(pf.db.ctx, 131077, &pw), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);
    ck_assert_int_eq(pf.db.by_name(pf.db.ctx, name, &pw), -1);
    unlink(path);
}
END_TEST

START_TEST(rule_on_a_passwd_file)
{
    struct passwd_file_db pf;
    struct dm_user_pick p;
    char err[512] = "";

    passwd_file("root:x:0:0:root:/root:/bin/sh\n"
                "xen-qemuuser-range-base:x:131072:131000::/:/usr/sbin/nologin\n"
                "carol:x:131075:100::/home/carol:/bin/sh\n");
    passwd_file_db_init(&pf, path);
    ck_assert_int_eq(dm_user_pick(&pf.db, 2, false, &p, err, sizeof(err)), 0);
    ck_assert_uint_eq(p.uid, 131074);
    ck_assert_int_eq(dm_user_pick(&pf.db, 3, false, &p, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "'carol'"), "err: %s", err);
    unlink(path);
    /* the file is gone: the message names it and why */
    ck_assert_int_eq(dm_user_pick(&pf.db, 2, true, &p, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, path) && strstr(err, "No such file or directory"), "err: %s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dm-user");
    TCase *tc = tcase_create("rule");

    tcase_add_loop_test(tc, rule_table, 0, N_ROWS);
    tcase_add_test(tc, passwd_file_lookups);
    tcase_add_test(tc, passwd_file_long_name_is_an_error);
    tcase_add_test(tc, rule_on_a_passwd_file);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
