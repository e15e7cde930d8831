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
/* Deferred work: cb(opaque) once, after the fds and timers of a round (the
 * round it was asked in, or the next); a round with work pending does not
 * block. For a device that cuts a long guest request into slices, so that
 * every other fd gets its turn between two of them: the slice that is not
 * the last defers the next. The struct is the caller's (embedded, zeroed
 * or from loop_defer_init); deferring a pending one changes nothing; cancel
 * it before freeing it. Callbacks run in the order they were deferred; one
 * deferred from a callback runs in the next round. */
struct loop_defer {
    void (*cb)(void *opaque);
    void *opaque;
    bool pending;
    struct loop_defer *next;
};
void loop_defer_init(struct loop_defer *d, void (*cb)(void *opaque), void *opaque);
void loop_defer(struct loop *l, struct loop_defer *d);
void loop_defer_cancel(struct loop *l, struct loop_defer *d);
/* Run until loop_quit(); returns the code passed to loop_quit(). */
int loop_run(struct loop *l);
void loop_quit(struct loop *l, int code);
bool loop_quitting(const struct loop *l);
/* One round with a timeout (ms, -1 blocks): for tests and fuzzers. */
int loop_once(struct loop *l, int timeout_ms);
/* The epoll fd: kept across restriction (keep-list). */
int loop_fd(const struct loop *l);

#endif
