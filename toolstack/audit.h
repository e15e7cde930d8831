/* `xsdmctl audit`: read a running DM's facts from /proc and check each one
 * against the policy its start asked for. Every check prints one line; any
 * gap makes the audit fail. */
#ifndef XSDMCTL_AUDIT_H
#define XSDMCTL_AUDIT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "toolstack/state.h"

struct audit_policy {
    pid_t pid;
    uid_t uid;                      /* every uid must be this (never 0) */
    gid_t gid;                      /* every gid; groups empty or {gid} */
    const char *chroot;             /* root and cwd must be this dir */
    bool net_ns;                    /* network namespace expected too, with
                                       nothing in it but a loopback */
    int taps;                       /* tap fds it may hold (/dev/net/tun) */
    const struct dom_file *files;   /* regular files the DM may hold */
    int n_files;
    const char *log;                /* must be open write-only, O_APPEND */
};

/* Returns the number of gaps (0 = pass), or -1 if the process cannot be
 * read at all (gone). */
int audit_run(const struct audit_policy *p, FILE *out);

#endif
