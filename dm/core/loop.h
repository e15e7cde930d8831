/* The single-threaded epoll event loop. Every fd the DM serves (QMP
 * listeners and clients, the qtest socket, event channels, char backends)
 * is a watch; callbacks run one at a time, never concurrently. */
#ifndef XSDM_LOOP_H
#define XSDM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define LOOP_MAX_WATCHES 64
#define LOOP_MAX_TIMERS  4

struct loop;
typedef void loop_cb(void *opaque, int fd, uint32_t events);

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* events are EPOLLIN/EPOLLOUT/... ; returns 0 or -errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_cb *cb, void *opaque);
int loop_mod(struct loop *l, int fd, uint32_t events);
void loop_del(struct loop *l, int fd);
/* Periodic timers, for subsystems that pace themselves (the VNC server's
 * update rate); with none armed, a loop round reads no clock. Returns an id >= 0, or -ENOSPC/-EINVAL;
 * loop_timer_del() with an id from loop_timer_add() (or -1: no-op). */
int loop_timer_add(struct loop *l, int ms, void (*cb)(void *opaque), void *opaque);
void loop_timer_del(struct loop *l, int id);
/* Run until loop_quit(); returns the code passed to loop_quit(). */
int loop_run(struct loop *l);
void loop_quit(struct loop *l, int code);
bool loop_quitting(const struct loop *l);
/* One round with a timeout (ms, -1 blocks): for tests and fuzzers. */
int loop_once(struct loop *l, int timeout_ms);
/* The epoll fd: kept across restriction (keep-list). */
int loop_fd(const struct loop *l);

#endif
