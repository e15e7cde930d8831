#include "dm/core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "dm/core/log.h"

struct watch {
    int fd;               /* -1: free slot */
    loop_cb *cb;
    void *opaque;
};

struct timer {
    int ms;               /* 0: free slot */
    void (*cb)(void *opaque);
    void *opaque;
    struct timespec next;
};

struct loop {
    int epfd;
    bool quit;
    int code;
    struct watch w[LOOP_MAX_WATCHES];
    struct timer t[LOOP_MAX_TIMERS];
    struct loop_defer *deferred;    /* for the end of this round (or the next), in order */
    struct loop_defer *running;     /* the ones this round runs now */
};

struct loop *loop_new(void)
{
    struct loop *l = calloc(1, sizeof(*l));
    int i;

    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    for (i = 0; i < LOOP_MAX_WATCHES; i++)
        l->w[i].fd = -1;
    return l;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    if (l->epfd >= 0)
        close(l->epfd);
    free(l);
}

int loop_fd(const struct loop *l) { return l->epfd; }

static struct watch *find(struct loop *l, int fd)
{
    int i;

    for (i = 0; i < LOOP_MAX_WATCHES; i++)
        if (l->w[i].fd == fd)
            return &l->w[i];
    return NULL;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_cb *cb, void *opaque)
{
    struct epoll_event ev;
    struct watch *w;

    if (fd < 0 || find(l, fd))
        return -EINVAL;
    w = find(l, -1);
    if (!w)
        return -ENOSPC;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    w->fd = fd;
    w->cb = cb;
    w->opaque = opaque;
    return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
    struct epoll_event ev;
    struct watch *w = find(l, fd);

    if (fd < 0 || !w)
        return -EINVAL;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    return 0;
}

void loop_del(struct loop *l, int fd)
{
    struct watch *w = fd >= 0 ? find(l, fd) : NULL;

    if (!w)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->fd = -1;
    w->cb = NULL;
    w->opaque = NULL;
}

static void ts_add_ms(struct timespec *t, int ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static long ms_until(const struct timespec *due, const struct timespec *now)
{
    long ns = (due->tv_sec - now->tv_sec) * 1000000000L + (due->tv_nsec - now->tv_nsec);

    /* Rounded up: waking early would spin until the deadline. */
    return ns <= 0 ? 0 : (ns + 999999L) / 1000000L;
}

static bool is_due(const struct timespec *due, const struct timespec *now)
{
    return now->tv_sec > due->tv_sec || (now->tv_sec == due->tv_sec && now->tv_nsec >= due->tv_nsec);
}

static int min_timeout(int timeout_ms, long ms)
{
    if (timeout_ms < 0 || ms < timeout_ms)
        return (int)ms;
    return timeout_ms;
}

static bool any_timer(const struct loop *l)
{
    int i;

    for (i = 0; i < LOOP_MAX_TIMERS; i++)
        if (l->t[i].ms)
            return true;
    return false;
}

static int timer_timeout(struct loop *l, int timeout_ms)
{
    struct timespec now;
    int i;

    if (!any_timer(l))
        return timeout_ms;
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (i = 0; i < LOOP_MAX_TIMERS; i++)
        if (l->t[i].ms)
            timeout_ms = min_timeout(timeout_ms, ms_until(&l->t[i].next, &now));
    return timeout_ms;
}

static void run_timers(struct loop *l)
{
    struct timespec now;
    int i;

    if (!any_timer(l))
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (i = 0; i < LOOP_MAX_TIMERS && !l->quit; i++) {
        struct timer *t = &l->t[i];

        /* A callback may delete its own or another timer. */
        if (t->ms && is_due(&t->next, &now)) {
            t->next = now;
            ts_add_ms(&t->next, t->ms);
            t->cb(t->opaque);
        }
    }
}

int loop_timer_add(struct loop *l, int ms, void (*cb)(void *opaque), void *opaque)
{
    int i;

    if (ms <= 0 || !cb)
        return -EINVAL;
    for (i = 0; i < LOOP_MAX_TIMERS; i++) {
        struct timer *t = &l->t[i];

        if (t->ms)
            continue;
        t->ms = ms;
        t->cb = cb;
        t->opaque = opaque;
        clock_gettime(CLOCK_MONOTONIC, &t->next);
        ts_add_ms(&t->next, ms);
        return i;
    }
    return -ENOSPC;
}

void loop_timer_del(struct loop *l, int id)
{
    if (id < 0 || id >= LOOP_MAX_TIMERS)
        return;
    memset(&l->t[id], 0, sizeof(l->t[id]));
}

void loop_defer_init(struct loop_defer *d, void (*cb)(void *opaque), void *opaque)
{
    memset(d, 0, sizeof(*d));
    d->cb = cb;
    d->opaque = opaque;
}

void loop_defer(struct loop *l, struct loop_defer *d)
{
    struct loop_defer **at = &l->deferred;

    if (d->pending)
        return;
    while (*at)
        at = &(*at)->next;
    d->next = NULL;
    d->pending = true;
    *at = d;
}

static bool unlink_from(struct loop_defer **list, struct loop_defer *d)
{
    for (; *list; list = &(*list)->next)
        if (*list == d) {
            *list = d->next;
            return true;
        }
    return false;
}

void loop_defer_cancel(struct loop *l, struct loop_defer *d)
{
    if (!d->pending)
        return;
    /* This round's list too: a callback may cancel one queued behind it. */
    if (!unlink_from(&l->deferred, d))
        unlink_from(&l->running, d);
    d->next = NULL;
    d->pending = false;
}

/* What was deferred before this round's end; what they defer waits for
 * the next round, so a slice that re-defers itself never starves the fds. */
static void run_deferred(struct loop *l)
{
    struct loop_defer *d;

    l->running = l->deferred;
    l->deferred = NULL;
    while ((d = l->running) && !l->quit) {
        l->running = d->next;
        d->next = NULL;
        d->pending = false;
        d->cb(d->opaque);
    }
    /* Quitting: what did not run stays deferred, ahead of newer ones. */
    if (l->running) {
        struct loop_defer **at = &l->running;

        while (*at)
            at = &(*at)->next;
        *at = l->deferred;
        l->deferred = l->running;
        l->running = NULL;
    }
}

int loop_once(struct loop *l, int timeout_ms)
{
    struct epoll_event evs[16];
    int n, i;

    n = epoll_wait(l->epfd, evs, 16, l->deferred ? 0 : timer_timeout(l, timeout_ms));
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        log_err("epoll_wait: %s", strerror(errno));
        return -errno;
    }
    for (i = 0; i < n && !l->quit; i++) {
        struct watch *w = evs[i].data.ptr;

        /* A callback earlier in this batch may have removed this watch. */
        if (w->fd >= 0 && w->cb)
            w->cb(w->opaque, w->fd, evs[i].events);
    }
    run_timers(l);
    run_deferred(l);
    return n;
}

int loop_run(struct loop *l)
{
    while (!l->quit)
        if (loop_once(l, -1) < 0)
            return 1;
    return l->code;
}

void loop_quit(struct loop *l, int code)
{
    if (!l->quit) {
        l->quit = true;
        l->code = code;
    }
}

bool loop_quitting(const struct loop *l) { return l->quit; }
