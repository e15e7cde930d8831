/* xsdmctl's run dir (default /var/run/xsdm, env XSDM_RUN_DIR) and one JSON
 * record per running domain ($RUN/dom-D.json), written atomically. */
#ifndef XSDMCTL_STATE_H
#define XSDMCTL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define STATE_PATH     512
#define STATE_MAX_FILES 8
#define STATE_MAX_DOMS 256

struct dom_file {
    char path[STATE_PATH];
    bool readonly;
};

struct dom_rec {
    int domid;
    char name[64];
    pid_t pid;                      /* the DM */
    unsigned long long start;       /* its /proc start time: guards pid reuse */
    pid_t keeper;                   /* qtest peer holder, 0 = none */
    unsigned long long keeper_start;
    bool has_uid;                   /* DM deprivileged to uid/gid */
    uid_t uid;
    gid_t gid;
    bool kill_uid;                  /* reaper may kill by uid */
    bool restricted;                /* dm_restrict */
    bool net_ns;                    /* started in its own network namespace */
    int taps;                       /* tap fds it was given (one per vif) */
    bool qtest;
    char accel[8];
    char cfg[STATE_PATH];
    char log[STATE_PATH];
    char chroot[STATE_PATH];
    struct dom_file files[STATE_MAX_FILES];  /* files the DM may hold open */
    int n_files;
};

const char *state_run_dir(void);
const char *state_log_dir(void);
/* mkdir -p the run dir (0700, root) and log dir. */
int state_init(char *err, size_t errlen);
/* Exclusive lock on $RUN/xsdmctl.lock for domid allocation and record
 * changes; returns the fd to close, or -1. */
int state_lock(char *err, size_t errlen);

int state_path(char *buf, size_t len, const char *prefix, int domid);   /* $RUN/<prefix>-<domid> */
int state_save(const struct dom_rec *r, char *err, size_t errlen);
int state_load(int domid, struct dom_rec *r, char *err, size_t errlen);
/* dom = a domid or a name. -1 with "unknown domain" if none. */
int state_find(const char *dom, struct dom_rec *r, char *err, size_t errlen);
int state_remove(int domid);
/* Domids with a record, ascending. Returns the count. */
int state_list(int *ids, int max);
/* Lowest domid >= 1 with no record. */
int state_free_domid(void);
int state_add_file(struct dom_rec *r, const char *path, bool readonly);

/* Field 22 of /proc/PID/stat, 0 if the process is gone. */
unsigned long long state_proc_start(pid_t pid);
/* The recorded process still runs (same pid and start time, not a zombie). */
bool state_proc_alive(pid_t pid, unsigned long long start);

#endif
