/* Capabilities and the process flags that go with them. */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "dm/core/log.h"
#include "restrict/system.h"

static int last_cap(void)
{
    int c = CAP_LAST_CAP;

    /* The running kernel may know more capabilities than our headers. */
    while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
        c++;
    return c;
}

/* Effective, permitted and inheritable straight from capget(2): one
 * syscall, where libcap-ng's capng_get_caps_process() also parses
 * /proc/PID/status twice. */
static int caps_read(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

    memset(data, 0, sizeof(data[0]) * _LINUX_CAPABILITY_U32S_3);
    return (int)syscall(SYS_capget, &hdr, data);
}

static bool caps_empty(void)
{
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    int i;

    if (caps_read(data) < 0)
        return false;
    for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        if (data[i].effective || data[i].permitted || data[i].inheritable)
            return false;
    return true;
}

static int permitted(int cap)
{
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    if (caps_read(data) < 0)
        return -1;
    return !!(data[cap / 32].permitted & (1u << (cap % 32)));
}

static int bounding_count(void)
{
    int c, n = 0, top = last_cap();

    for (c = 0; c <= top; c++)
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
            n++;
    return n;
}

/* Emptying the bounding set needs CAP_SETPCAP in the effective set; after
 * the uid change (keep-caps) it is only permitted, so raise it alone first
 * (libcap-ng). The drops themselves are PR_CAPBSET_DROP, one per
 * capability, as libcap-ng makes them: its capng_apply(CAPNG_SELECT_BOUNDS)
 * also parses /proc/PID/status three times around them (libcap-ng 0.8.3),
 * a sixth of this step's time, for a set we empty whatever it holds. The
 * result is read back in restrict_drop_caps(). */
static int clear_bounding(void)
{
    int c, top = last_cap();

    capng_clear(CAPNG_SELECT_ALL);
    if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETPCAP) < 0 ||
        capng_apply(CAPNG_SELECT_CAPS) < 0) {
        log_err("restrict: capabilities: cannot raise CAP_SETPCAP");
        return -1;
    }
    for (c = 0; c <= top; c++)
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
            log_err("restrict: capabilities: PR_CAPBSET_DROP %d: %s", c, strerror(errno));
            return -1;
        }
    return 0;
}

int restrict_drop_caps(void)
{
    int can_setpcap = permitted(CAP_SETPCAP);

    if (can_setpcap < 0) {
        log_err("restrict: capabilities: capget: %s", strerror(errno));
        return -1;
    }
    if (can_setpcap && clear_bounding() < 0)
        return -1;
    capng_clear(CAPNG_SELECT_ALL);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0 || capng_apply(CAPNG_SELECT_AMBIENT) < 0) {
        log_err("restrict: capabilities: clearing the sets failed");
        return -1;
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
        log_err("restrict: capabilities: PR_SET_KEEPCAPS 0: %s", strerror(errno));
        return -1;
    }
    /* Read everything back rather than trust the library. The ambient set
     * needs no loop of 41 PR_CAP_AMBIENT_IS_SET: the kernel keeps it inside
     * permitted and inheritable (capabilities(7)), so with both empty it
     * is empty. */
    if (!caps_empty()) {
        log_err("restrict: capabilities: effective/permitted/inheritable not empty");
        return -1;
    }
    if (bounding_count() != 0) {
        if (can_setpcap) {
            log_err("restrict: capabilities: bounding set not empty");
            return -1;
        }
        /* Started without privilege: with empty permitted/inheritable sets
         * and no_new_privs (next), the bounding set can never be used. */
        log_warn("restrict: capabilities: no CAP_SETPCAP, bounding set left as is "
                 "(started unprivileged; no_new_privs makes it inert)");
    }
    return 0;
}

int restrict_no_new_privs(void)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        log_err("restrict: capabilities: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
        log_err("restrict: capabilities: PR_SET_DUMPABLE 0: %s", strerror(errno));
        return -1;
    }
    return 0;
}
