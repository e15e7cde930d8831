/* QMP input framing: a connection's bytes and SCM_RIGHTS fds in; complete
 * JSON values (each with the fds that belong to it) and parse errors out.
 * jansson parses; this file only decides where a value ends, when input is
 * worth parsing, when it can never become JSON, and how to resynchronise.
 * docs/qmp.md ("Framing") says exactly what a client sees. */
#ifndef XSDM_QMP_INPUT_H
#define XSDM_QMP_INPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/qmp/qmp.h"

/* What the connection does with what the input finds. Each call may close
 * the connection (alive() then says false, and the input is closed). */
struct qmp_input_ops {
    /* A complete JSON value (any type) and its fds: both are the callee's. */
    void (*value)(void *opaque, json_t *root, int *fds, int n_fds);
    /* Input that is not JSON: desc is the GenericError's text. */
    void (*error)(void *opaque, const char *desc);
    /* False once nothing more is to be served (client gone, or quitting). */
    bool (*alive)(void *opaque);
};

enum qmp_skip {
    QMP_SKIP_NONE,                 /* whitespace only */
    QMP_SKIP_RECOVER,              /* after a syntax error: up to a '{' or past a newline */
    QMP_SKIP_LINE,                 /* after an oversized request: past the next newline */
};

enum qmp_byte_fate { QMP_FATE_WS, QMP_FATE_REQUEST, QMP_FATE_JUNK };

/* Not a parser (jansson decides what a value is): just enough lexical and
 * nesting state over the bytes of the value being received to tell when
 * parsing could change anything, and when no byte to come can make them
 * JSON. */
struct qmp_scan {
    size_t pos;                    /* buf[head, pos) was scanned */
    int depth;                     /* open '{' '[' outside strings */
    uint64_t kinds;                /* bit d: level d+1 is a '[' (levels past 64 unchecked) */
    bool in_str, esc;
    int uhex;                      /* hex digits still due in a \u escape */
    enum { TOK_NONE, TOK_NUM, TOK_WORD } tok;   /* the token being read */
    char lit[6];                   /* the word being read, when it may be a literal */
    size_t lit_len;                /* its length (sizeof(lit): longer than any literal) */
    int utf8_left;                 /* bytes still due in a multi-byte UTF-8 character */
    bool utf8_bad;                 /* ... that is wrong where it stands (in an escape) */
    bool hopeless;                 /* a byte no continuation can make valid JSON ... */
    size_t bad_off;                /* ... at buf[head + bad_off] */
    size_t tried;                  /* value size at the last "incomplete" verdict */
};

struct qmp_input {
    const struct qmp_input_ops *ops;
    void *opaque;
    const char *label;             /* for logs */
    enum qmp_skip skip;            /* what to drop before the next value */
    enum qmp_byte_fate last_fate;  /* what the last byte consumed was part of */
    char *buf;                     /* QMP_MAX_MSG bytes; NULL when closed */
    size_t head, len;              /* buf[head, len): received, not yet consumed */
    struct qmp_scan scan;
    int pending[QMP_MAX_FDS];      /* fds received for the value being received */
    int n_pending;
    int rfds[QMP_MAX_FDS];         /* fds of the read being fed, until a value takes them */
    int n_rfds;
    const char *read_rest;         /* the bytes of that read not in the buffer yet */
    size_t read_rest_len;
};

/* 0, or -1 (no memory). */
int qmp_input_open(struct qmp_input *in, const struct qmp_input_ops *ops, void *opaque, const char *label);
/* Drops the buffer and closes the fds still waiting for a value (why: for
 * the log). Safe from inside a callback, and twice. */
void qmp_input_close(struct qmp_input *in, const char *why);
/* One read's bytes and the fds that came with them (the input owns them). */
void qmp_input_feed(struct qmp_input *in, const char *buf, size_t len, int *fds, int n_fds);
/* The client shut its side: a value cut short is an error now. */
void qmp_input_eof(struct qmp_input *in);

void qmp_close_fds(int *fds, int n);

#endif
