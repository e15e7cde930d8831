/* The VNC console: an RFB 3.3/3.7/3.8 server in the DM's one epoll loop
 * (dm/display/vnc.c protocol and clients, dm/display/vnc-enc.c pixels and encodings,
 * dm/display/vnc-auth.c VNC authentication, dm/display/vnc-listen.c the socket, opened
 * before restriction). One client at a time: a new connection replaces a
 * handshake in progress, and replaces the connected viewer only once it has
 * authenticated (docs/design.md). It shows a struct display that a graphics
 * device fills and sends keys and pointer events to a struct input_sink. */
#ifndef XSDM_VNC_H
#define XSDM_VNC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dm/display/display.h"

struct loop;
struct vnc_server;
struct vnc_spec;

#define VNC_UPDATE_MS 30          /* at most one framebuffer update per client per 30 ms */

/* Bind the -vnc socket (host:5900+display, searching up to to=) or adopt
 * the toolstack's listening fd (-vnc fd=N). Before restriction. Returns the
 * fd, or -1 with err set. (dm/display/vnc-listen.c) */
int vnc_listen_open(const struct vnc_spec *spec, char *err, size_t errlen);

/* A server on listen_fd (owned from now on; -1: clients only through
 * vnc_server_attach_client). password_auth: VNC authentication, refused
 * until a password is set. Seeds its random generator, so call it before
 * restriction. NULL with err set on failure. */
struct vnc_server *vnc_server_new(struct loop *l, int listen_fd, bool password_auth,
                                  const char *name, char *err, size_t errlen);
void vnc_server_free(struct vnc_server *s);

/* The board attaches the graphics device's surface (NULL: a black 640x480
 * screen) and the input sink the keyboard and mouse listen on. */
void vnc_server_attach_display(struct vnc_server *s, struct display *d);
void vnc_server_set_input(struct vnc_server *s, const struct input_sink *sink);

/* change-vnc-password: the first 8 bytes count, as in every VNC server.
 * -1 with err set when the server has no password authentication. */
int vnc_server_set_password(struct vnc_server *s, const char *password, char *err, size_t errlen);
/* query-vnc's answer: enabled, host, service, family, auth, clients. */
json_t *vnc_server_query(const struct vnc_server *s);

/* Serve an already-connected stream socket (tests, the fuzzer); it goes
 * through the handshake like an accepted one. 0 or -errno. */
int vnc_server_attach_client(struct vnc_server *s, int fd);
/* The fds to keep across restriction: the listener and any client. */
size_t vnc_server_fds(const struct vnc_server *s, int *fds, size_t max);

/* For tests: bytes queued for the viewer and the buffer holding them. */
struct vnc_stats {
    size_t out_queued, out_capacity;
    unsigned updates_sent;
    unsigned ticks;             /* pacing timer callbacks run */
    bool connected;             /* a viewer past the handshake */
};
void vnc_server_stats(const struct vnc_server *s, struct vnc_stats *st);

#endif
