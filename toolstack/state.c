/* Records are JSON through jansson; a record exists exactly while xsdmctl
 * considers the domain alive (created last on start, removed last on
 * destroy), so a failed start leaves nothing behind. */
#include "toolstack/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm/core/errmsg.h"

const char *state_run_dir(void)
{
    const char *d = getenv("XSDM_RUN_DIR");

    return d && *d ? d : "/var/run/xsdm";
}

const char *state_log_dir(void)
{
    static char buf[STATE_PATH];
    const char *d = getenv("XSDM_LOG_DIR");

    if (d && *d)
        return d;
    if (getenv("XSDM_RUN_DIR") && *getenv("XSDM_RUN_DIR")) {
        snprintf(buf, sizeof(buf), "%s/log", getenv("XSDM_RUN_DIR"));
        return buf;
    }
    return "/var/log/xsdm";
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[STATE_PATH];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int state_init(char *err, size_t errlen)
{
    struct stat st;

    if (state_run_dir()[0] != '/' || state_log_dir()[0] != '/') {
        seterr(err, errlen, "run dir %s and log dir %s must be absolute paths", state_run_dir(), state_log_dir());
        return -1;
    }
    if (mkdir_p(state_run_dir(), 0700) < 0 || lstat(state_run_dir(), &st) < 0) {
        seterr(err, errlen, "cannot create run dir %s: %s", state_run_dir(), strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
        seterr(err, errlen, "run dir %s must be a directory owned by us and not group/world-writable",
               state_run_dir());
        return -1;
    }
    if (mkdir_p(state_log_dir(), 0750) < 0) {
        seterr(err, errlen, "cannot create log dir %s: %s", state_log_dir(), strerror(errno));
        return -1;
    }
    return 0;
}

int state_lock(char *err, size_t errlen)
{
    char path[STATE_PATH];
    int fd;

    snprintf(path, sizeof(path), "%s/xsdmctl.lock", state_run_dir());
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        seterr(err, errlen, "cannot lock %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int state_path(char *buf, size_t len, const char *prefix, int domid)
{
    int n = snprintf(buf, len, "%s/%s-%d", state_run_dir(), prefix, domid);

    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static void rec_path(char *buf, size_t len, int domid)
{
    snprintf(buf, len, "%s/dom-%d.json", state_run_dir(), domid);
}

int state_save(const struct dom_rec *r, char *err, size_t errlen)
{
    char path[STATE_PATH], tmp[STATE_PATH + 8];
    json_t *j = NULL, *files;
    int rc = -1;

    files = json_array();
    for (int i = 0; files && i < r->n_files; i++)
        json_array_append_new(files, json_pack("{s:s, s:b}", "path", r->files[i].path,
                                               "readonly", r->files[i].readonly));
    j = json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:b, s:b, s:b, s:i, s:b, s:s, s:s, s:s, s:s, s:o}",
                  "domid", r->domid, "name", r->name, "pid", (json_int_t)r->pid,
                  "start", (json_int_t)r->start, "keeper", (json_int_t)r->keeper,
                  "keeper_start", (json_int_t)r->keeper_start, "has_uid", r->has_uid,
                  "uid", (json_int_t)r->uid, "gid", (json_int_t)r->gid, "kill_uid", r->kill_uid,
                  "restricted", r->restricted, "net_ns", r->net_ns, "taps", r->taps, "qtest", r->qtest,
                  "accel", r->accel, "cfg", r->cfg, "log", r->log, "chroot", r->chroot,
                  "files", files ? files : json_array());
    if (!j) {
        seterr(err, errlen, "cannot encode the record of domain %d", r->domid);
        return -1;
    }
    rec_path(path, sizeof(path), r->domid);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_dump_file(j, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 || rename(tmp, path) < 0) {
        seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static void get_s(json_t *j, const char *k, char *dst, size_t n)
{
    const char *s = json_string_value(json_object_get(j, k));

    snprintf(dst, n, "%s", s ? s : "");
}

int state_load(int domid, struct dom_rec *r, char *err, size_t errlen)
{
    char path[STATE_PATH];
    json_error_t je;
    json_t *j, *files;

    memset(r, 0, sizeof(*r));
    rec_path(path, sizeof(path), domid);
    j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        seterr(err, errlen, "unknown domain %d (no record %s)", domid, path);
        return -1;
    }
    r->domid = (int)json_integer_value(json_object_get(j, "domid"));
    get_s(j, "name", r->name, sizeof(r->name));
    r->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    r->start = (unsigned long long)json_integer_value(json_object_get(j, "start"));
    r->keeper = (pid_t)json_integer_value(json_object_get(j, "keeper"));
    r->keeper_start = (unsigned long long)json_integer_value(json_object_get(j, "keeper_start"));
    r->has_uid = json_is_true(json_object_get(j, "has_uid"));
    r->uid = (uid_t)json_integer_value(json_object_get(j, "uid"));
    r->gid = (gid_t)json_integer_value(json_object_get(j, "gid"));
    r->kill_uid = json_is_true(json_object_get(j, "kill_uid"));
    r->restricted = json_is_true(json_object_get(j, "restricted"));
    r->net_ns = json_is_true(json_object_get(j, "net_ns"));
    r->taps = (int)json_integer_value(json_object_get(j, "taps"));
    r->qtest = json_is_true(json_object_get(j, "qtest"));
    get_s(j, "accel", r->accel, sizeof(r->accel));
    get_s(j, "cfg", r->cfg, sizeof(r->cfg));
    get_s(j, "log", r->log, sizeof(r->log));
    get_s(j, "chroot", r->chroot, sizeof(r->chroot));
    files = json_object_get(j, "files");
    for (size_t i = 0; i < json_array_size(files) && r->n_files < STATE_MAX_FILES; i++) {
        json_t *f = json_array_get(files, i);

        get_s(f, "path", r->files[r->n_files].path, STATE_PATH);
        r->files[r->n_files].readonly = json_is_true(json_object_get(f, "readonly"));
        r->n_files++;
    }
    json_decref(j);
    if (r->domid != domid || r->pid <= 0) {
        seterr(err, errlen, "record %s is corrupt", path);
        return -1;
    }
    return 0;
}

int state_list(int *ids, int max)
{
    struct dirent *de;
    DIR *d = opendir(state_run_dir());
    int n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) && n < max) {
        int id;
        char tail[8];

        if (sscanf(de->d_name, "dom-%d.jso%1[n]", &id, tail) == 2 && strlen(de->d_name) < 32) {
            char want[32];

            snprintf(want, sizeof(want), "dom-%d.json", id);
            if (!strcmp(want, de->d_name) && id > 0)
                ids[n++] = id;
        }
    }
    closedir(d);
    for (int i = 1; i < n; i++)          /* insertion sort: n is small */
        for (int k = i; k > 0 && ids[k - 1] > ids[k]; k--) {
            int t = ids[k];
            ids[k] = ids[k - 1];
            ids[k - 1] = t;
        }
    return n;
}

int state_find(const char *dom, struct dom_rec *r, char *err, size_t errlen)
{
    int ids[STATE_MAX_DOMS], n;
    char *end;
    long v;

    if (!dom || !*dom) {
        seterr(err, errlen, "no domain given");
        return -1;
    }
    errno = 0;
    v = strtol(dom, &end, 10);
    if (!*end && !errno) {
        if (v <= 0 || v > 0x7fef) {
            seterr(err, errlen, "invalid domid %s", dom);
            return -1;
        }
        if (state_load((int)v, r, err, errlen) < 0) {
            seterr(err, errlen, "unknown domain %s", dom);
            return -1;
        }
        return 0;
    }
    n = state_list(ids, STATE_MAX_DOMS);
    for (int i = 0; i < n; i++)
        if (state_load(ids[i], r, NULL, 0) == 0 && !strcmp(r->name, dom))
            return 0;
    seterr(err, errlen, "unknown domain '%s'", dom);
    return -1;
}

int state_remove(int domid)
{
    char path[STATE_PATH];

    rec_path(path, sizeof(path), domid);
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int state_free_domid(void)
{
    int ids[STATE_MAX_DOMS], n = state_list(ids, STATE_MAX_DOMS), want = 1;

    for (int i = 0; i < n; i++)
        if (ids[i] == want)
            want++;
    return want;
}

int state_add_file(struct dom_rec *r, const char *path, bool readonly)
{
    for (int i = 0; i < r->n_files; i++)
        if (!strcmp(r->files[i].path, path) && r->files[i].readonly == readonly)
            return 0;
    if (r->n_files >= STATE_MAX_FILES || strlen(path) >= STATE_PATH)
        return -1;
    snprintf(r->files[r->n_files].path, STATE_PATH, "%s", path);
    r->files[r->n_files].readonly = readonly;
    r->n_files++;
    return 0;
}

unsigned long long state_proc_start(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* comm may hold spaces and parens: fields resume after the last ')' */
    p = strrchr(buf, ')');
    if (!p)
        return 0;
    p += 2;
    if (*p == 'Z' || *p == 'X')
        return 0;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p)
        start = strtoull(p, NULL, 10);
    return start;
}

bool state_proc_alive(pid_t pid, unsigned long long start)
{
    return pid > 0 && start && state_proc_start(pid) == start;
}
