/* fd sets (QEMU's add-fd / remove-fd / query-fdsets) and dm_open(), the one
 * way the DM opens a file. Before restriction a plain path is opened; after
 * it, only "/dev/fdset/N" works, served from fds the toolstack passed in. */
#include "dm/core/fdset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/core/errmsg.h"

#define FDSET_OPAQUE_MAX 256
#define FDSET_PREFIX     "/dev/fdset/"

struct fdset_fd {
    int fd;                         /* -1: free slot */
    bool has_opaque;                /* its text: opaque_text[set][slot] */
};

struct fdset {
    bool used;
    int id;
    struct fdset_fd fds[FDSET_MAX_FDS];
};

/* A duplicate dm_open() handed out: while one lives, its set stays. */
struct fdset_dup {
    int fd;                         /* -1: free slot */
    int set_id;
};

static struct fdset sets[FDSET_MAX_SETS];
static struct fdset_dup dups[FDSET_MAX_DUPS];
static bool dups_init;
static int monitors;                /* QMP clients connected now */
/* Apart from sets[]: every scan of the sets (close-fds at restriction,
 * each /dev/fdset lookup) reads sets[] only, which then spans one page
 * rather than the 33 KiB the texts take. */
static char opaque_text[FDSET_MAX_SETS][FDSET_MAX_FDS][FDSET_OPAQUE_MAX];

static struct fdset *set_find(int id)
{
    int i;

    for (i = 0; i < FDSET_MAX_SETS; i++)
        if (sets[i].used && sets[i].id == id)
            return &sets[i];
    return NULL;
}

static int set_count(const struct fdset *s)
{
    int i, n = 0;

    for (i = 0; i < FDSET_MAX_FDS; i++)
        if (s->fds[i].fd >= 0)
            n++;
    return n;
}

/* Duplicates of set s handed out and not released (counted, not kept: the
 * table is the one record). */
static int set_dups(const struct fdset *s)
{
    int i, n = 0;

    for (i = 0; dups_init && i < FDSET_MAX_DUPS; i++)
        if (dups[i].fd >= 0 && dups[i].set_id == s->id)
            n++;
    return n;
}

/* A set left with neither fds nor duplicates in use disappears. */
static void set_drop_if_unused(struct fdset *s)
{
    if (!set_count(s) && !set_dups(s))
        s->used = false;
}

static struct fdset *set_create(int id)
{
    int i, j;

    for (i = 0; i < FDSET_MAX_SETS; i++) {
        if (sets[i].used)
            continue;
        memset(&sets[i], 0, sizeof(sets[i]));
        sets[i].used = true;
        sets[i].id = id;
        for (j = 0; j < FDSET_MAX_FDS; j++)
            sets[i].fds[j].fd = -1;
        return &sets[i];
    }
    return NULL;
}

/* QEMU allocates the lowest id not in use. */
static int lowest_free_id(void)
{
    int id = 0;

    while (set_find(id))
        id++;
    return id;
}

/* On failure the caller still owns fd (the QMP server closes unclaimed fds). */
int fdset_add(int fdset_id, int fd, const char *opaque, int *fdset_id_r, int *fd_r,
              char *err, size_t errlen)
{
    struct fdset *s;
    int i;

    if (fd < 0 || fcntl(fd, F_GETFL) < 0) {
        seterr(err, errlen, "Invalid file descriptor");
        return -1;
    }
    if (opaque && strlen(opaque) >= FDSET_OPAQUE_MAX) {
        seterr(err, errlen, "Parameter 'opaque' is longer than %d bytes", FDSET_OPAQUE_MAX - 1);
        return -1;
    }
    if (fdset_id < 0)
        fdset_id = lowest_free_id();
    s = set_find(fdset_id);
    if (!s) {
        s = set_create(fdset_id);
        if (!s) {
            seterr(err, errlen, "Too many fd sets (at most %d)", FDSET_MAX_SETS);
            return -1;
        }
    }
    for (i = 0; i < FDSET_MAX_FDS; i++)
        if (s->fds[i].fd < 0)
            break;
    if (i == FDSET_MAX_FDS) {
        seterr(err, errlen, "fd set %d is full (at most %d fds)", fdset_id, FDSET_MAX_FDS);
        set_drop_if_unused(s);
        return -1;
    }
    s->fds[i].fd = fd;
    s->fds[i].has_opaque = opaque != NULL;
    if (opaque)
        snprintf(opaque_text[s - sets][i], sizeof(opaque_text[0][0]), "%s", opaque);
    if (fdset_id_r)
        *fdset_id_r = fdset_id;
    if (fd_r)
        *fd_r = fd;
    return 0;
}

static void dups_reset(void)
{
    int i;

    for (i = 0; i < FDSET_MAX_DUPS; i++)
        dups[i].fd = -1;
    dups_init = true;
}

static void set_close_fd(struct fdset *s, int slot)
{
    close(s->fds[slot].fd);
    s->fds[slot].fd = -1;
}

/* QEMU's rule: with no QMP client connected, nobody can name a set's fds any
 * more, so a set none of whose duplicates is in use gives back its fds; a set
 * left with neither fds nor duplicates disappears. A duplicate in use keeps
 * its whole set (the toolstack's fd behind a medium stays listed). */
static void set_cleanup(struct fdset *s)
{
    int i;

    if (!s->used)
        return;
    if (!monitors && !set_dups(s))
        for (i = 0; i < FDSET_MAX_FDS; i++)
            if (s->fds[i].fd >= 0)
                set_close_fd(s, i);
    set_drop_if_unused(s);
}

void fdset_cleanup(void)
{
    int i;

    for (i = 0; i < FDSET_MAX_SETS; i++)
        set_cleanup(&sets[i]);
}

void fdset_monitor_connected(void)
{
    monitors++;
}

void fdset_monitor_disconnected(void)
{
    if (monitors > 0)
        monitors--;
    if (!monitors)
        fdset_cleanup();
}

int fdset_dup_release(int fd)
{
    struct fdset *s;
    int i;

    if (fd < 0 || !dups_init)
        return -1;
    for (i = 0; i < FDSET_MAX_DUPS; i++)
        if (dups[i].fd == fd)
            break;
    if (i == FDSET_MAX_DUPS)
        return -1;
    dups[i].fd = -1;
    s = set_find(dups[i].set_id);
    if (s)
        set_cleanup(s);
    return 0;
}

void dm_close(int fd)
{
    if (fd < 0)
        return;
    /* Released before the close: once closed, the number may come back from
     * the next dm_open() and must not match a stale record. */
    fdset_dup_release(fd);
    close(fd);
}

static int dup_record(struct fdset *s, int fd)
{
    int i;

    if (!dups_init)
        dups_reset();
    for (i = 0; i < FDSET_MAX_DUPS; i++) {
        if (dups[i].fd < 0) {
            dups[i].fd = fd;
            dups[i].set_id = s->id;
            return 0;
        }
    }
    return -1;
}

int fdset_dups_in_use(int fdset_id)
{
    struct fdset *s = set_find(fdset_id);

    return s ? set_dups(s) : -1;
}

int fdset_remove(int fdset_id, int fd, char *err, size_t errlen)
{
    struct fdset *s = set_find(fdset_id);
    bool found = false;
    int i;

    if (s) {
        for (i = 0; i < FDSET_MAX_FDS; i++) {
            if (s->fds[i].fd < 0 || (fd >= 0 && s->fds[i].fd != fd))
                continue;
            /* Closed now, as QEMU does: a user holds its own duplicate. */
            set_close_fd(s, i);
            found = true;
        }
        /* remove-fd comes from a connected client: only the emptied set goes. */
        set_drop_if_unused(s);
    }
    if (found)
        return 0;
    if (fd >= 0)
        seterr(err, errlen, "File descriptor named 'fdset-id:%d, fd:%d' not found", fdset_id, fd);
    else
        seterr(err, errlen, "File descriptor named 'fdset-id:%d' not found", fdset_id);
    return -1;
}

json_t *fdset_query(void)
{
    json_t *list = json_array();
    int i, j;

    if (!list)
        return NULL;
    for (i = 0; i < FDSET_MAX_SETS; i++) {
        json_t *set, *fds;

        if (!sets[i].used)
            continue;
        fds = json_array();
        for (j = 0; j < FDSET_MAX_FDS; j++) {
            const struct fdset_fd *f = &sets[i].fds[j];
            json_t *o;

            if (f->fd < 0)
                continue;
            o = json_pack("{s:i}", "fd", f->fd);
            if (o && f->has_opaque)
                json_object_set_new(o, "opaque", json_string(opaque_text[i][j]));
            json_array_append_new(fds, o);
        }
        set = json_pack("{s:i,s:o}", "fdset-id", sets[i].id, "fds", fds);
        json_array_append_new(list, set);
    }
    return list;
}

int fdset_all_fds(int *fds, int max)
{
    int i, j, n = 0;

    for (i = 0; i < FDSET_MAX_SETS; i++) {
        if (!sets[i].used)
            continue;
        for (j = 0; j < FDSET_MAX_FDS; j++)
            if (sets[i].fds[j].fd >= 0 && n < max)
                fds[n++] = sets[i].fds[j].fd;
    }
    return n;
}

void fdset_clear(void)
{
    int i, j;

    for (i = 0; i < FDSET_MAX_SETS; i++) {
        if (!sets[i].used)
            continue;
        for (j = 0; j < FDSET_MAX_FDS; j++)
            if (sets[i].fds[j].fd >= 0)
                close(sets[i].fds[j].fd);
        sets[i].used = false;
    }
    /* The duplicates are their users' to close; forget them. */
    dups_reset();
    monitors = 0;
}

static const char *accmode_name(int acc)
{
    switch (acc) {
    case O_RDONLY: return "read-only";
    case O_WRONLY: return "write-only";
    default: return "read-write";
    }
}

/* "/dev/fdset/N" with N a plain decimal number; -1 for anything else. */
static int parse_fdset_path(const char *path)
{
    const char *p = path + strlen(FDSET_PREFIX);
    long v = 0;

    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > 0x7fffffff)
            return -1;
    }
    return (int)v;
}

/* An fd whose access mode serves the request: the same mode first, else an
 * O_RDWR fd (it can serve a read-only or a write-only request, never the
 * reverse). */
static int fdset_pick(struct fdset *s, int want)
{
    int i, rdwr = -1;

    for (i = 0; i < FDSET_MAX_FDS; i++) {
        int fl, acc;

        if (s->fds[i].fd < 0)
            continue;
        fl = fcntl(s->fds[i].fd, F_GETFL);
        if (fl < 0)
            continue;
        acc = fl & O_ACCMODE;
        if (acc == want)
            return s->fds[i].fd;
        if (acc == O_RDWR && rdwr < 0)
            rdwr = s->fds[i].fd;
    }
    return rdwr;
}

static int open_fdset(const char *path, int flags, char *err, size_t errlen)
{
    int id = parse_fdset_path(path);
    int want = flags & O_ACCMODE;
    struct fdset *s;
    int src, fd;

    if (id < 0) {
        seterr(err, errlen, "'%s' is not a valid fd set path (expected /dev/fdset/N)", path);
        errno = EINVAL;
        return -1;
    }
    s = set_find(id);
    if (!s) {
        seterr(err, errlen, "fd set %d does not exist: pass the file with add-fd first", id);
        errno = ENOENT;
        return -1;
    }
    src = fdset_pick(s, want);
    if (src < 0) {
        seterr(err, errlen, "fd set %d has no fd that allows %s access", id, accmode_name(want));
        errno = EACCES;
        return -1;
    }
    fd = fcntl(src, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;

        seterr(err, errlen, "fd set %d: cannot duplicate fd %d: %s", id, src, strerror(e));
        errno = e;
        return -1;
    }
    /* A new file is expected to start empty (save: O_WRONLY|O_CREAT|O_TRUNC). */
    if ((flags & O_TRUNC) && want != O_RDONLY && ftruncate(fd, 0) < 0) {
        int e = errno;

        close(fd);
        seterr(err, errlen, "fd set %d: cannot truncate: %s", id, strerror(e));
        errno = e;
        return -1;
    }
    if (dup_record(s, fd) < 0) {
        close(fd);
        seterr(err, errlen, "fd set %d: too many fd set duplicates in use (at most %d)", id,
               FDSET_MAX_DUPS);
        errno = EMFILE;
        return -1;
    }
    return fd;
}

int dm_open(const char *path, int flags, bool restricted, char *err, size_t errlen)
{
    int fd;

    if (!path || !*path) {
        seterr(err, errlen, "empty file name");
        errno = EINVAL;
        return -1;
    }
    if (!strncmp(path, FDSET_PREFIX, strlen(FDSET_PREFIX)))
        return open_fdset(path, flags, err, errlen);
    if (restricted) {
        seterr(err, errlen, "cannot open '%s': the device model is restricted and opens no paths; "
               "pass the file with add-fd (SCM_RIGHTS) and use /dev/fdset/N", path);
        errno = EPERM;
        return -1;
    }
    fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;

        seterr(err, errlen, "cannot open '%s': %s", path, strerror(e));
        errno = e;
        return -1;
    }
    return fd;
}
