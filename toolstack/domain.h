/* A domain's device model lifecycle for xsdmctl: create/restore (reaper,
 * chroot dir, uid, sockets, hardened launch, readiness over QMP, record
 * last) and destroy (kill, reaper again, remove everything). */
#ifndef XSDMCTL_DOMAIN_H
#define XSDMCTL_DOMAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "toolstack/state.h"

#define DOMAIN_MAX_DM_ARGS 8

struct create_opts {
    const char *cfg_path;
    const char *restore_file;     /* restore: state file for -incoming fd:M */
    bool paused;                  /* leave it paused (no cont) */
    const char *dm_path;          /* NULL: see domain_dm_path() */
    const char *accel;            /* "qtest", "xen" or NULL (xen iff /dev/xen exists) */
    int domid;                    /* <= 0: lowest free (qtest only) */
    bool per_domid_gid;
    const char *dm_args[DOMAIN_MAX_DM_ARGS + 1];   /* device_model_args */
    int ready_timeout_ms;         /* 0 = 30 s */
    FILE *out;                    /* progress, NULL = quiet */
};

/* 0 with *rec filled (and saved), or -1 with err; nothing is left behind
 * on failure (the log file stays for diagnosis). */
int domain_create(const struct create_opts *o, struct dom_rec *rec, char *err, size_t errlen);
/* Kill, reap, remove the chroot dir, sockets and record. */
int domain_destroy(struct dom_rec *r, FILE *out, char *err, size_t errlen);
/* The xsdm binary: XSDM_DM, else xsdm beside our own executable, else the
 * installed /usr/lib/xsdm/xsdm. */
const char *domain_dm_path(void);

#endif
