/* QMP input framing (dm/qmp/qmp-input.h; docs/qmp.md "Framing").
 *
 * As QEMU's, the input is a stream of JSON values, not lines: values may
 * come back to back with no separator, split across reads, or spread over
 * many lines; whitespace between them is ignored. jansson parses the
 * buffered input (JSON_DISABLE_EOF_CHECK: one value, jerr.position = its
 * length); a value is handed on as soon as its last byte is in. The scan
 * (want_parse) decides when trying is worth it, so input arriving in small
 * pieces costs linear time, and spots a byte that no continuation can make
 * JSON (a control byte, a '%', a '}' closing nothing, a literal that is no
 * prefix of true/false/null): that input is an error at once, as in QEMU's
 * streaming parser, not when a newline arrives. Otherwise "incomplete"
 * (premature end, or a token cut by the end of the input) means wait.
 *   Syntax error: one GenericError, then input resumes after the offending
 * token (at it, if it is a '{') and skips to the next '{' or past the next
 * newline: the next well-formed request is served; garbage that contains a
 * '{' may draw more than one error (QEMU's parser too).
 *   More than QMP_MAX_MSG bytes without a complete value: one GenericError,
 * that input and the rest up to the next newline are dropped.
 *
 * fds: the kernel returns the fds of one sendmsg() together with the bytes
 * of that sendmsg (and fd-less bytes before them), and a recvmsg() never
 * goes past a chunk that carried fds. So the fds of a read belong to the
 * value the read's last byte belongs to: the value that byte completed
 * (or that only whitespace follows in the read), or else the value still
 * being received. A read whose last byte is whitespace outside any value
 * brings fds without a command (an error); one that ends in dropped input
 * (syntax error, oversized) has its fds closed with that input. */
#include "dm/qmp/qmp-input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/core/log.h"

#define SCAN_KINDS_MAX 64              /* levels whose bracket kind the scan remembers */

void qmp_close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }
static bool is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

static bool is_hex(unsigned char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool all_ws(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_ws(p[i]))
            return false;
    return true;
}

/* ---- fds -------------------------------------------------------------- */

static void pending_add(struct qmp_input *in, const int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        if (in->n_pending < QMP_MAX_FDS) {
            in->pending[in->n_pending++] = fds[i];
        } else {
            close(fds[i]);
            log_guest("qmp %s: more than %d fds for one request, extra fd closed", in->label, QMP_MAX_FDS);
        }
    }
}

static void pending_drop(struct qmp_input *in, const char *why)
{
    if (!in->n_pending)
        return;
    log_guest("qmp %s: %d received fd(s) closed: %s", in->label, in->n_pending, why);
    qmp_close_fds(in->pending, in->n_pending);
    in->n_pending = 0;
}

static size_t utf8_seq_len(unsigned char lead)
{
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 1;
}

/* ---- the scan --------------------------------------------------------- */

static void scan_reset(struct qmp_input *in)
{
    memset(&in->scan, 0, sizeof(in->scan));
    in->scan.pos = in->head;
}

/* A word (jansson reads [a-zA-Z]+ as one token) that has ended: one of
 * JSON's literals? */
static bool word_is_literal(const struct qmp_scan *sc)
{
    return sc->lit_len < sizeof(sc->lit) &&
           (!strcmp(sc->lit, "true") || !strcmp(sc->lit, "false") || !strcmp(sc->lit, "null"));
}

/* A byte inside a string: never a raw control byte, nor a byte that is
 * never UTF-8 (QEMU's 0xff reset); escapes as RFC 8259 has them. A
 * multi-byte character is judged once it is whole (or broken): jansson
 * decodes it before it looks at it, and quotes it. */
static void scan_string_byte(struct qmp_scan *sc, unsigned char ch)
{
    if (sc->utf8_left) {
        if ((ch & 0xC0) != 0x80)
            sc->hopeless = true;                /* a broken character */
        else if (--sc->utf8_left == 0 && sc->utf8_bad)
            sc->hopeless = true;                /* a whole character inside an escape */
    } else if (ch < 0x20 || (ch >= 0x80 && ch < 0xC2) || ch >= 0xF5) {
        sc->hopeless = true;
    } else if (ch >= 0xC2) {
        sc->utf8_left = (int)utf8_seq_len(ch) - 1;
        sc->utf8_bad = sc->uhex || sc->esc;
    } else if (sc->uhex) {
        if (is_hex(ch))
            sc->uhex--;
        else
            sc->hopeless = true;
    } else if (sc->esc) {
        sc->esc = false;
        if (ch == 'u')
            sc->uhex = 4;
        else if (!strchr("\"\\/bfnrt", ch))
            sc->hopeless = true;
    } else if (ch == '\\') {
        sc->esc = true;
    } else if (ch == '"') {
        sc->in_str = false;
    }
}

/* A byte outside strings. True when the value may be complete (its
 * outermost level closed, or a newline after a top-level scalar) or can
 * never be JSON (sc->hopeless). A token is judged hopeless only once it has
 * ended (a word at its first non-letter, a UTF-8 character at its last
 * byte): jansson's message quotes the token, and it must not depend on
 * where the client's writes were cut. */
static bool scan_byte(struct qmp_scan *sc, unsigned char ch)
{
    bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');

    /* A multi-byte character, never valid outside a string: judged at its
     * last byte, whatever token it ends (jansson decodes it first). */
    if (sc->utf8_left) {
        sc->hopeless = (ch & 0xC0) != 0x80 || --sc->utf8_left == 0;
        return sc->hopeless;
    }
    if (ch >= 0xC2 && ch <= 0xF4) {
        sc->tok = TOK_NONE;
        sc->utf8_left = (int)utf8_seq_len(ch) - 1;
        return false;
    }
    switch (sc->tok) {
    case TOK_NUM:
        if (is_digit(ch) || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-')
            return false;               /* jansson judges the number's grammar */
        break;
    case TOK_WORD:
        if (letter) {
            if (sc->lit_len < sizeof(sc->lit) - 1)
                sc->lit[sc->lit_len] = (char)ch;
            sc->lit_len += sc->lit_len < sizeof(sc->lit);
            return false;
        }
        if (!word_is_literal(sc)) {
            sc->hopeless = true;
            return true;
        }
        break;
    case TOK_NONE:
        break;
    }
    sc->tok = TOK_NONE;
    if (is_ws((char)ch))
        return ch == '\n' && sc->depth == 0;
    if (ch == '"') {
        sc->in_str = true;
    } else if (is_digit(ch) || ch == '-') {
        sc->tok = TOK_NUM;
    } else if (letter) {
        sc->tok = TOK_WORD;
        memset(sc->lit, 0, sizeof(sc->lit));
        sc->lit[0] = (char)ch;
        sc->lit_len = 1;
    } else if (ch == '{' || ch == '[') {
        if (sc->depth < SCAN_KINDS_MAX) {
            if (ch == '[')
                sc->kinds |= 1ull << sc->depth;
            else
                sc->kinds &= ~(1ull << sc->depth);
        }
        sc->depth++;
    } else if (ch == '}' || ch == ']') {
        /* closing nothing, or closing a '[' with '}' (or the reverse) */
        if (sc->depth == 0) {
            sc->hopeless = true;
        } else {
            sc->depth--;
            if (sc->depth < SCAN_KINDS_MAX && ((sc->kinds >> sc->depth) & 1) != (ch == ']'))
                sc->hopeless = true;
        }
        return sc->hopeless || sc->depth == 0;
    } else if (ch == ',' || ch == ':') {
        sc->hopeless = sc->depth == 0;
    } else {
        /* '%', '#', '\'', '+', '.', a control byte, DEL, a byte that never
         * starts a UTF-8 character: nothing valid starts or goes on so. */
        sc->hopeless = true;
    }
    return sc->hopeless;
}

/* Is it worth parsing the value being received? Yes at once when its
 * outermost level closes, at a newline after a top-level scalar, and at a
 * byte that no continuation can make valid: a well-formed request is
 * answered as soon as its last byte is in, a hopeless one as soon as its
 * first wrong byte is. Any other '}', ']' or newline (inside an object, or
 * in a string the scan may have misread) counts once the value has grown by
 * an eighth since the last try: a broken value is still found, at a cost
 * linear in its size however it is cut into reads. */
static bool want_parse(struct qmp_input *in)
{
    struct qmp_scan *sc = &in->scan;
    bool weak = false;

    if (sc->pos < in->head)
        sc->pos = in->head;
    if (sc->hopeless)
        return true;
    while (sc->pos < in->len) {
        unsigned char ch = (unsigned char)in->buf[sc->pos++];

        if (ch == '}' || ch == ']' || ch == '\n')
            weak = true;
        if (sc->in_str)
            scan_string_byte(sc, ch);
        else if (scan_byte(sc, ch) && !sc->hopeless)
            return true;
        if (sc->hopeless) {
            sc->bad_off = sc->pos - 1 - in->head;
            return true;
        }
    }
    return weak && in->len - in->head >= sc->tried + sc->tried / 8;
}

/* ---- values and errors ------------------------------------------------ */

/* jansson failed on buf[head, head+avail): is that only because the value
 * has not all arrived? Besides "premature end of input", jansson reports a
 * token cut by the end of its input (a number "1.", a literal "tru", an
 * escape "\u00", a multi-byte UTF-8 sequence) as invalid; such an error sits
 * at the very end of the input, after a byte that is not structural. (The
 * scan has already ruled out the bytes that cannot go on.) */
static bool maybe_incomplete(const struct qmp_input *in, const json_error_t *jerr, size_t avail)
{
    const unsigned char *p = (const unsigned char *)in->buf + in->head;
    size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;
    unsigned char last = p[avail - 1];

    switch (json_error_code(jerr)) {
    case json_error_premature_end_of_input:
        return true;
    case json_error_invalid_utf8:
        return pos < avail && avail - pos < utf8_seq_len(p[pos]);
    default:
        return pos >= avail && !is_ws((char)last) && last != '{' && last != '}' && last != '[' &&
               last != ']' && last != ',' && last != ':';
    }
}

/* Drop what lies between values: whitespace, and after an error what the
 * skip mode says. Records what the last dropped byte was (fds, see feed). */
static void skip_between(struct qmp_input *in)
{
    while (in->head < in->len) {
        char ch = in->buf[in->head];

        if (in->skip == QMP_SKIP_NONE) {
            if (!is_ws(ch))
                break;
            in->last_fate = QMP_FATE_WS;
        } else {
            /* A '{' may start the next request; a newline ends a bad line. */
            if (in->skip == QMP_SKIP_RECOVER && ch == '{') {
                in->skip = QMP_SKIP_NONE;
                break;
            }
            if (ch == '\n')
                in->skip = QMP_SKIP_NONE;
            in->last_fate = QMP_FATE_JUNK;
        }
        in->head++;
    }
}

/* A complete value of used bytes at head: it takes the fds pending for it,
 * and this read's fds when the read ends in it or in whitespace right
 * after it. */
static void take_value(struct qmp_input *in, json_t *root, size_t used)
{
    int fds[2 * QMP_MAX_FDS];
    size_t end = in->head + used;
    int n = in->n_pending;

    memcpy(fds, in->pending, sizeof(int) * (size_t)n);
    in->n_pending = 0;
    /* The rest of the read: what is buffered after the value, and what a
     * read too large for the buffer's free room has not put there yet. */
    if (in->n_rfds && all_ws(in->buf + end, in->len - end) && all_ws(in->read_rest, in->read_rest_len)) {
        for (int i = 0; i < in->n_rfds; i++)
            fds[n++] = in->rfds[i];
        in->n_rfds = 0;
    }
    if (n > QMP_MAX_FDS) {
        qmp_close_fds(fds + QMP_MAX_FDS, n - QMP_MAX_FDS);
        log_guest("qmp %s: more than %d fds for one request, extra closed", in->label, QMP_MAX_FDS);
        n = QMP_MAX_FDS;
    }
    in->head = end;
    scan_reset(in);
    in->last_fate = QMP_FATE_REQUEST;
    in->ops->value(in->opaque, root, fds, n);      /* may close the connection */
}

/* A syntax error: report it, drop the bad bytes and resynchronise. jansson
 * stopped just after the offending token; input resumes there, or at that
 * token if it is a '{' (a request that starts where the last one was cut
 * short), and then skips to the next '{' or past the next newline. */
static void bad_request(struct qmp_input *in, const json_error_t *jerr, size_t avail)
{
    size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;
    char desc[256];

    if (pos > avail)
        pos = avail;
    if (pos > 1 && in->buf[in->head + pos - 1] == '{')
        pos--;
    if (pos == 0)
        pos = 1;
    pending_drop(in, "malformed request");
    in->head += pos;
    scan_reset(in);
    in->skip = QMP_SKIP_RECOVER;
    in->last_fate = QMP_FATE_JUNK;
    snprintf(desc, sizeof(desc), "JSON parse error, %s", jerr->text);
    in->ops->error(in->opaque, desc);              /* last: may close the connection */
}

/* QMP_MAX_MSG bytes and still no complete value: drop it and the rest of
 * the input up to the next newline (a line-based client loses that line). */
static void oversized(struct qmp_input *in)
{
    char desc[128];

    pending_drop(in, "oversized request");
    in->head = in->len;
    scan_reset(in);
    in->skip = QMP_SKIP_LINE;
    in->last_fate = QMP_FATE_JUNK;
    snprintf(desc, sizeof(desc), "QMP request too large (more than %d bytes); ignored up to the next newline",
             QMP_MAX_MSG);
    in->ops->error(in->opaque, desc);
}

/* Hand on every complete value in the buffer, in order. At eof nothing more
 * will arrive: a value cut short is an error, not something to wait for. */
static void process(struct qmp_input *in, bool eof)
{
    while (in->ops->alive(in->opaque)) {
        const size_t flags = JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_REJECT_DUPLICATES;
        json_error_t jerr;
        json_t *root;
        const char *nul;
        size_t avail, len;
        bool final;

        skip_between(in);
        avail = in->len - in->head;
        if (!avail) {
            in->head = in->len = 0;
            scan_reset(in);
            return;
        }
        if (!eof && avail < QMP_MAX_MSG && !want_parse(in))
            return;
        /* Nothing to wait for: the end of the input, or a byte that no
         * continuation makes valid. */
        final = eof || in->scan.hopeless;
        /* jansson drops a NUL that follows a number or literal (and its
         * position then lags behind the input) and reports one where a
         * token should be as the end of the input: it parses only what
         * precedes the first NUL, which nothing can complete. */
        nul = memchr(in->buf + in->head, '\0', avail);
        len = nul ? (size_t)(nul - (in->buf + in->head)) : avail;
        root = json_loadb(in->buf + in->head, len, flags, &jerr);
        if (root) {
            size_t used = jerr.position > 0 && (size_t)jerr.position <= len ? (size_t)jerr.position : len;

            /* A number or literal at the end may go on in the next read. */
            if (final || nul || used < len || json_is_object(root) || json_is_array(root)) {
                take_value(in, root, used);
                continue;
            }
            json_decref(root);
        } else if (nul && (!len || (!(in->scan.hopeless && in->scan.bad_off < len) &&
                                    maybe_incomplete(in, &jerr, len)))) {
            /* the first byte that cannot be JSON is the NUL, not one before it */
            jerr.position = (int)len + 1;       /* the error is the NUL: input resumes after it */
            snprintf(jerr.text, sizeof(jerr.text), "unexpected NUL byte");
            bad_request(in, &jerr, avail);
            continue;
        } else if (final || !maybe_incomplete(in, &jerr, len)) {
            bad_request(in, &jerr, avail);
            continue;
        }
        if (avail == QMP_MAX_MSG) {
            oversized(in);
            continue;
        }
        in->scan.tried = avail;
        return;
    }
}

/* ---- the connection's side ---------------------------------------------- */

int qmp_input_open(struct qmp_input *in, const struct qmp_input_ops *ops, void *opaque, const char *label)
{
    memset(in, 0, sizeof(*in));
    in->buf = malloc(QMP_MAX_MSG);
    if (!in->buf)
        return -1;
    in->ops = ops;
    in->opaque = opaque;
    in->label = label;
    in->skip = QMP_SKIP_NONE;
    in->last_fate = QMP_FATE_WS;
    scan_reset(in);
    return 0;
}

void qmp_input_close(struct qmp_input *in, const char *why)
{
    pending_drop(in, why);
    free(in->buf);
    in->buf = NULL;
    in->head = in->len = 0;
    scan_reset(in);
    in->skip = QMP_SKIP_NONE;
}

/* Feed one read's bytes; fds (n_fds) arrived with them. They belong to the
 * value the read's last byte belongs to (see the top comment). */
void qmp_input_feed(struct qmp_input *in, const char *buf, size_t len, int *fds, int n_fds)
{
    size_t off = 0;

    memcpy(in->rfds, fds, sizeof(int) * (size_t)n_fds);
    in->n_rfds = n_fds;
    while (off < len && in->ops->alive(in->opaque)) {
        size_t n = len - off;

        if (in->head) {
            memmove(in->buf, in->buf + in->head, in->len - in->head);
            in->len -= in->head;
            in->scan.pos = in->scan.pos > in->head ? in->scan.pos - in->head : 0;
            in->head = 0;
        }
        /* process() leaves less than QMP_MAX_MSG bytes: there is room. */
        if (n > QMP_MAX_MSG - in->len)
            n = QMP_MAX_MSG - in->len;
        memcpy(in->buf + in->len, buf + off, n);
        in->len += n;
        off += n;
        in->read_rest = buf + off;
        in->read_rest_len = len - off;
        process(in, false);
    }
    in->read_rest = NULL;
    in->read_rest_len = 0;
    n_fds = in->n_rfds;
    in->n_rfds = 0;
    if (!n_fds)
        return;
    if (!in->ops->alive(in->opaque)) {
        qmp_close_fds(in->rfds, n_fds);
    } else if (in->head < in->len) {
        pending_add(in, in->rfds, n_fds);         /* the value still being received */
    } else if (in->last_fate == QMP_FATE_WS) {
        qmp_close_fds(in->rfds, n_fds);
        log_guest("qmp %s: %d fd(s) received without a command, closed", in->label, n_fds);
        in->ops->error(in->opaque, "File descriptor received without a command; closed");
    } else {
        qmp_close_fds(in->rfds, n_fds);
        log_guest("qmp %s: %d fd(s) with a malformed or oversized request closed", in->label, n_fds);
    }
}

void qmp_input_eof(struct qmp_input *in)
{
    in->n_rfds = 0;
    process(in, true);
}
