/* The static DM has no NSS. libcap-ng's capng_change_id(), which xsdm never
 * calls, sits in the same object as the functions it does call and refers to
 * getpwuid() and initgroups(); in a static link those would bring in glibc's
 * NSS loader (dlopen of the system's libnss_*.so, which must match the glibc
 * we were built with). The static link (Makefile, DM_LINK=static) points
 * them here with --wrap instead: no module loader in the DM at all. User
 * names are resolved from /etc/passwd by restrict/identity.c. */
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

struct passwd *__wrap_getpwuid(uid_t uid);
int __wrap_initgroups(const char *user, gid_t group);

struct passwd *__wrap_getpwuid(uid_t uid)
{
    (void)uid;
    errno = ENOSYS;
    return NULL;
}

int __wrap_initgroups(const char *user, gid_t group)
{
    (void)user;
    (void)group;
    errno = ENOSYS;
    return -1;
}
