/* A client's write with an fd riding on it (SCM_RIGHTS), as libxl sends
 * add-fd: for the QMP tests and fuzzer. No libcheck here. */
#ifndef XSDM_TEST_SENDFD_H
#define XSDM_TEST_SENDFD_H

#include <stddef.h>
#include <sys/types.h>

/* sendmsg() of buf[0..len) on sock with fd attached (fd < 0: none); flags
 * as for sendmsg (MSG_NOSIGNAL is added). Returns what sendmsg returns. */
ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd, int flags);

#endif
