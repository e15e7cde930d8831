/* A QMP client with libxl's framing: one JSON object per line (\r\n),
 * greeting then qmp_capabilities on connect, integer ids counting up from
 * 0x786c7100 like libxl, replies matched by id with events queued aside,
 * and a payload fd sent by SCM_RIGHTS on the first byte of the request.
 * Used by xsdmctl and by the tests. */
#ifndef XSDM_QMP_CLIENT_H
#define XSDM_QMP_CLIENT_H

#include <jansson.h>
#include <stddef.h>

struct qmpc;

/* Connect to a unix socket path (or adopt a connected stream fd), read the
 * greeting and, if negotiate, send qmp_capabilities. timeout_ms bounds each
 * wait for the peer (a bound, not a test assertion). NULL + err on failure. */
struct qmpc *qmpc_connect_path(const char *path, int negotiate, int timeout_ms, char *err, size_t errlen);
struct qmpc *qmpc_connect_fd(int fd, int negotiate, int timeout_ms, char *err, size_t errlen);
void qmpc_close(struct qmpc *c);
const json_t *qmpc_greeting(const struct qmpc *c);

/* Execute cmd with args (reference stolen; NULL = none); fd >= 0 is sent
 * with the first byte. Returns 0 with *ret = the "return" value, 1 with
 * *ret = the "error" object ({class, desc}), or -1 (transport/protocol
 * failure, err filled, *ret = NULL). The caller owns *ret. */
int qmpc_execute(struct qmpc *c, const char *cmd, json_t *args, int fd, json_t **ret, char *err, size_t errlen);
/* Raw bytes (for malformed-input tests), fd < 0 for none. 0 or -1. */
int qmpc_send_raw(struct qmpc *c, const void *buf, size_t len, int fd);
/* Next message of any kind (reply or event) in arrival order, queued events
 * first; NULL on timeout/EOF with err filled. */
json_t *qmpc_recv(struct qmpc *c, int timeout_ms, char *err, size_t errlen);
/* Wait for an event by name (queued or new); NULL on timeout/EOF. */
json_t *qmpc_wait_event(struct qmpc *c, const char *name, int timeout_ms);
int qmpc_fd(const struct qmpc *c);

#endif
