/* A scripted user database (struct uid_db, restrict/dm-user.h) and a
 * passwd(5) file in /tmp, for the tests of the DM user rule and its two
 * callers. No libcheck here. */
#ifndef XSDM_TEST_FAKE_USERS_H
#define XSDM_TEST_FAKE_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "restrict/dm-user.h"

struct fake_user {
    const char *name;           /* NULL ends a list */
    uid_t uid;
    gid_t gid;
};

struct fake_users {
    const struct fake_user *users;  /* may be NULL: nobody */
    const gid_t *groups;            /* gids that exist, 0-terminated; may be NULL */
    bool fail;                      /* every user lookup errors out (EIO) */
    const char *fail_name;          /* by_name of this name errors out (EIO) */
    bool fail_by_uid;               /* by_uid errors out, leaving errno alone */
};

/* The database over f (which must outlive it). A name not found leaves
 * errno ENOENT, as fgetpwent() does at the end of a file. */
struct uid_db fake_users_db(struct fake_users *f, const char *where);

/* A new /tmp file holding content; its name in path (>= 32 bytes). 0 or -1. */
int fake_passwd_file(char *path, size_t len, const char *content);

#endif
