/* `xsdmctl exec-dm -- ARGV...`: the wrapper xl runs through
 * device_model_override. It adds what libxl omits and execs xsdm with the
 * same argv. */
#ifndef XSDMCTL_EXECDM_H
#define XSDMCTL_EXECDM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define EXECDM_MAX_KEEP 10         /* chardev fds, -incoming, -vnc fd=, the taps */

/* What the wrapper needs from libxl's argv. */
struct execdm_facts {
    int domid;                      /* -xen-domid, -1 if absent */
    const char *runas;              /* -runas U or -run-with user=U */
    const char *chroot;             /* -chroot DIR or -run-with chroot=DIR */
    bool has_nic;                   /* -netdev / -net other than none */
    int keep[EXECDM_MAX_KEEP];      /* inherited fds: chardev fd=N, -incoming fd:M, -vnc fd=V, netdev fd=T */
    int n_keep;
    int n_taps;                     /* taps the wrapper opened (execdm_open_taps) */
};

/* argv[0] is the DM path libxl used; 0, or -1 with err. */
int execdm_scan(int argc, char **argv, struct execdm_facts *f, char *err, size_t errlen);
/* libxl's `-vnc <listen>:<display>[,password=on][,to=99]`: bind it here, in
 * the network namespace libxl runs us in, and rewrite argv to -vnc fd=N
 * (kept in f), so the DM can serve VNC from a new, empty network
 * namespace. "-vnc none" and fd=N are left alone. 0, or -1 with err. */
int execdm_pass_vnc(int argc, char **argv, struct execdm_facts *f, char *err, size_t errlen);
/* Under xl the DM starts in a network namespace of its own, where a tap it
 * created would be out of the bridge's reach: for each libxl netdev
 * "type=tap,id=I,ifname=vifD.N-emu,br=B,..." open the tap here, in the
 * initial namespace (up, not on the bridge: libxl's vif-bridge hotplug
 * script does that once the DM runs), and rewrite that argv entry into
 * "type=tap,id=I,fd=F" with F inherited (in f->keep). 0, or -1 with err
 * (the taps opened so far stay open: the wrapper is about to fail). */
int execdm_open_taps(int argc, char **argv, struct execdm_facts *f, char *err, size_t errlen);
/* Runs the whole wrapper; returns only on failure (message in err). */
int execdm_run(int argc, char **argv, const char *dm_path, char *err, size_t errlen);

#endif
