#include "tests/lib/fake_users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int found(const struct fake_user *u, struct uid_pw *out)
{
    snprintf(out->name, sizeof(out->name), "%s", u->name);
    out->uid = u->uid;
    out->gid = u->gid;
    return 1;
}

static int by_name(void *ctx, const char *name, struct uid_pw *out)
{
    const struct fake_users *f = ctx;

    if (f->fail || (f->fail_name && !strcmp(f->fail_name, name))) {
        errno = EIO;
        return -1;
    }
    for (const struct fake_user *u = f->users; u && u->name; u++)
        if (!strcmp(u->name, name))
            return found(u, out);
    errno = ENOENT;
    return 0;
}

static int by_uid(void *ctx, uid_t uid, struct uid_pw *out)
{
    const struct fake_users *f = ctx;

    if (f->fail) {
        errno = EIO;
        return -1;
    }
    if (f->fail_by_uid)
        return -1;
    for (const struct fake_user *u = f->users; u && u->name; u++)
        if (u->uid == uid)
            return found(u, out);
    return 0;
}

static int gid_taken(void *ctx, gid_t gid)
{
    const struct fake_users *f = ctx;

    for (const gid_t *g = f->groups; g && *g; g++)
        if (*g == gid)
            return 1;
    return 0;
}

struct uid_db fake_users_db(struct fake_users *f, const char *where)
{
    struct uid_db db = { .by_name = by_name, .by_uid = by_uid, .gid_taken = gid_taken, .ctx = f,
                         .where = where };

    return db;
}

int fake_passwd_file(char *path, size_t len, const char *content)
{
    size_t n = strlen(content);
    int fd, rc = -1;

    snprintf(path, len, "/tmp/xsdm-passwd-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    if (write(fd, content, n) == (ssize_t)n)
        rc = 0;
    close(fd);
    return rc;
}
