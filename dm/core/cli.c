/* qemu-xen's command line, as libxl 4.17 and master build it
 * (docs/libxl-compat.md §1.3, §1.9), into struct xsdm_config.
 * Nothing here touches the system. Every option is either understood or a
 * startup error that names it and says what to configure instead: an option
 * that would change what the guest sees is never silently dropped. */
#include "dm/core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/log.h"

#define KV_MAX     16
#define KV_KEY_MAX 32
#define MAX_VCPUS  128            /* HVM_MAX_VCPUS */
#define MAX_DOMID  0x7fef         /* DOMID_FIRST_RESERVED - 1 */
#define MAX_RAM_MB (1024ull * 1024)

/* Advice shared by several refusals. */
#define ADV_VGA   "only the standard VGA is emulated; xl: set vga=\"stdvga\" (or \"none\"); " \
                  "libvirt: <video><model type='vga'/></video>"
#define ADV_NIC   "this emulated network card is not supported; use the RTL8139, the e1000 or a PV network interface: " \
                  "xl: model=rtl8139 (the default), model=e1000 or type=vif in the vif= entry; " \
                  "libvirt: <model type='rtl8139'/>, <model type='e1000'/> or <model type='netfront'/> in the <interface>"
/* -net/-nic: what libxl and libvirt generate for an emulated NIC instead. */
#define ADV_NETOPT "use -netdev tap and -device rtl8139, as libxl passes them: xl: a vif= entry; " \
                   "libvirt: an <interface> with <model type='rtl8139'/>"
#define ADV_SCSI  "SCSI disks are not supported; xl: use hd* (IDE) or xvd* (PV) vdevs; libvirt: <target bus='ide'/> or bus='xen'"
#define ADV_USB   "USB is not supported; xl: remove usb=, usbdevice= and usbctrl= from the guest config; " \
                  "libvirt: <controller type='usb' model='none'/> and no USB <input>"
#define ADV_SOUND "emulated sound is not supported; xl: remove soundhw= from the guest config; libvirt: remove <sound>"
#define ADV_CHAN  "channels are not supported; xl: remove channel= from the guest config; libvirt: remove <channel>"
#define ADV_VNC   "xsdm serves its display over VNC only; xl: set sdl=0 (vnc=1 works); libvirt: <graphics type='vnc'/>"
#define ADV_VNC_NODEV "VNC needs a display device and this guest has none (vga=\"none\"); " \
                      "xl: remove vga=\"none\" or set vnc=0; libvirt: add a <video> or remove <graphics>"

struct kv {
    char key[KV_KEY_MAX];
    char val[CFG_PATH_MAX];
    bool used;
};

struct kvs {
    struct kv v[KV_MAX];
    int n;
};

/* A -drive if=none waiting for the -device that places it. */
struct pending_drive {
    struct drive_spec d;
    bool used;
};

struct ctx {
    struct xsdm_config *cfg;
    const char *opt;               /* the option being parsed, for messages */
    const char *arg;
    char *err;
    size_t errlen;
    bool accel_given;
    struct pending_drive pend[CFG_MAX_DRIVES];
    int n_pend;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The value is echoed shortened: an overlong one must not push the
     * reason out of the caller's buffer. */
    if (c->opt && c->arg && strlen(c->arg) > 96)
        snprintf(c->err, c->errlen, "option '-%s %.96s...': %s", c->opt, c->arg, msg);
    else if (c->opt && c->arg)
        snprintf(c->err, c->errlen, "option '-%s %s': %s", c->opt, c->arg, msg);
    else if (c->opt)
        snprintf(c->err, c->errlen, "option '-%s': %s", c->opt, msg);
    else
        snprintf(c->err, c->errlen, "%s", msg);
    return -1;
}

static int copy(struct ctx *c, char *dst, size_t dstlen, const char *src, const char *what)
{
    if (strlen(src) >= dstlen)
        return fail(c, "%s is too long (at most %zu bytes)", what, dstlen - 1);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

/* ---- QEMU option syntax: "[implied,]key=val,key=val", ",," is a comma ---- */

static int kv_parse(struct ctx *c, const char *s, const char *implied, struct kvs *out)
{
    char item[CFG_PATH_MAX + KV_KEY_MAX + 2];
    size_t len = 0;
    const char *p = s;
    bool first = true;

    out->n = 0;
    for (;;) {
        bool end = *p == '\0';

        if (!end && *p == ',' && p[1] == ',') {
            if (len + 1 >= sizeof(item))
                return fail(c, "value too long");
            item[len++] = ',';
            p += 2;
            continue;
        }
        if (end || *p == ',') {
            struct kv *kv;
            char *eq;

            item[len] = '\0';
            if (out->n == KV_MAX)
                return fail(c, "too many parameters");
            kv = &out->v[out->n];
            memset(kv, 0, sizeof(*kv));
            eq = strchr(item, '=');
            if (first && implied && !eq) {
                snprintf(kv->key, sizeof(kv->key), "%s", implied);
                if (copy(c, kv->val, sizeof(kv->val), item, "value") < 0)
                    return -1;
            } else if (eq) {
                *eq = '\0';
                if (!item[0] || strlen(item) >= sizeof(kv->key))
                    return fail(c, "bad parameter name '%s'", item);
                snprintf(kv->key, sizeof(kv->key), "%s", item);
                if (copy(c, kv->val, sizeof(kv->val), eq + 1, "value") < 0)
                    return -1;
            } else if (item[0]) {
                /* QEMU's old flag forms: "server" = server=on, "nowait" = wait=off. */
                if (strlen(item) >= sizeof(kv->key))
                    return fail(c, "bad parameter name '%s'", item);
                if (!strcmp(item, "nowait")) {
                    snprintf(kv->key, sizeof(kv->key), "wait");
                    snprintf(kv->val, sizeof(kv->val), "off");
                } else {
                    snprintf(kv->key, sizeof(kv->key), "%s", item);
                    snprintf(kv->val, sizeof(kv->val), "on");
                }
            } else {
                if (end && first)
                    break;
                return fail(c, "empty parameter");
            }
            out->n++;
            first = false;
            len = 0;
            if (end)
                break;
            p++;
            continue;
        }
        if (len + 1 >= sizeof(item))
            return fail(c, "value too long");
        item[len++] = *p++;
    }
    return 0;
}

/* The value of key (the last one given, as QEMU), marking it consumed. */
static const char *kv_get(struct kvs *k, const char *key)
{
    const char *v = NULL;
    int i;

    for (i = 0; i < k->n; i++) {
        if (!strcmp(k->v[i].key, key)) {
            k->v[i].used = true;
            v = k->v[i].val;
        }
    }
    return v;
}

static int kv_check_used(struct ctx *c, struct kvs *k)
{
    int i;

    for (i = 0; i < k->n; i++)
        if (!k->v[i].used)
            return fail(c, "parameter '%s' is not supported by xsdm", k->v[i].key);
    return 0;
}

static int parse_bool(struct ctx *c, const char *key, const char *v, bool *out)
{
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
        *out = false;
        return 0;
    }
    return fail(c, "parameter '%s' expects 'on' or 'off', not '%s'", key, v);
}

static int parse_int(struct ctx *c, const char *what, const char *v, long long min, long long max,
                     long long *out)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < min || n > max)
        return fail(c, "%s must be an integer from %lld to %lld, not '%s'", what, min, max, v);
    *out = n;
    return 0;
}

/* A size with QEMU's suffixes; unit is what a bare number means. */
static int parse_size(struct ctx *c, const char *what, const char *v, uint64_t unit, uint64_t *out)
{
    char *end;
    unsigned long long n;
    uint64_t mul = unit;

    errno = 0;
    if (!*v || *v == '-')
        return fail(c, "%s must be a size, not '%s'", what, v);
    n = strtoull(v, &end, 10);
    if (errno)
        return fail(c, "%s must be a size, not '%s'", what, v);
    if (*end) {
        switch (*end) {
        case 'b': case 'B': mul = 1; break;
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        case 't': case 'T': mul = 1ull << 40; break;
        default: return fail(c, "%s must be a size, not '%s'", what, v);
        }
        if (end[1])
            return fail(c, "%s must be a size, not '%s'", what, v);
    }
    if (n > UINT64_MAX / mul)
        return fail(c, "%s is too large", what);
    *out = n * mul;
    return 0;
}

/* ---- options ---------------------------------------------------------- */

static int opt_xen_domid(struct ctx *c, const char *a)
{
    long long v;

    if (parse_int(c, "the domain id", a, 0, MAX_DOMID, &v) < 0)
        return -1;
    if (c->cfg->domid >= 0 && c->cfg->domid != (int)v)
        return fail(c, "the domain id is already %d: give -xen-domid once", c->cfg->domid);
    c->cfg->domid = (int)v;
    return 0;
}

static int opt_name(struct ctx *c, const char *a)
{
    struct kvs k;
    const char *g;

    /* libxl passes the bare name; "guest=NAME" is QEMU's long form. */
    if (!strncmp(a, "guest=", 6)) {
        if (kv_parse(c, a, "guest", &k) < 0)
            return -1;
        g = kv_get(&k, "guest");
        if (kv_check_used(c, &k) < 0)
            return -1;
    } else {
        g = a;
    }
    if (strlen(g) >= sizeof(c->cfg->name))
        log_warn("-name: '%s' shortened to %zu bytes", g, sizeof(c->cfg->name) - 1);
    snprintf(c->cfg->name, sizeof(c->cfg->name), "%s", g);
    return 0;
}

static struct chardev_spec *chardev_new(struct ctx *c, const char *id, enum chardev_kind kind)
{
    struct xsdm_config *cfg = c->cfg;
    struct chardev_spec *s;

    if (!id || !*id) {
        fail(c, "a chardev needs an id");
        return NULL;
    }
    if (cli_find_chardev(cfg, id)) {
        fail(c, "duplicate chardev id '%s'", id);
        return NULL;
    }
    if (cfg->n_chardevs == CFG_MAX_CHARDEVS) {
        fail(c, "too many chardevs (at most %d)", CFG_MAX_CHARDEVS);
        return NULL;
    }
    s = &cfg->chardevs[cfg->n_chardevs];
    memset(s, 0, sizeof(*s));
    if (copy(c, s->id, sizeof(s->id), id, "the chardev id") < 0)
        return NULL;
    s->kind = kind;
    s->fd = -1;
    cfg->n_chardevs++;
    return s;
}

static int opt_chardev(struct ctx *c, const char *a)
{
    struct kvs k;
    struct chardev_spec *s;
    const char *backend, *id, *v;
    enum chardev_kind kind;

    if (kv_parse(c, a, "backend", &k) < 0)
        return -1;
    backend = kv_get(&k, "backend");
    id = kv_get(&k, "id");
    if (!backend)
        return fail(c, "no chardev backend given");
    if (!strcmp(backend, "socket"))
        kind = CHARDEV_SOCKET;
    else if (!strcmp(backend, "pty"))
        kind = CHARDEV_PTY;
    else if (!strcmp(backend, "file"))
        kind = CHARDEV_FILE;
    else if (!strcmp(backend, "null"))
        kind = CHARDEV_NULL;
    else
        return fail(c, "chardev backend '%s' is not supported (socket, pty, file and null are)", backend);
    s = chardev_new(c, id, kind);
    if (!s)
        return -1;
    switch (kind) {
    case CHARDEV_SOCKET:
        if (kv_get(&k, "host") || kv_get(&k, "port"))
            return fail(c, "TCP sockets are not supported; use a unix socket path");
        if ((v = kv_get(&k, "path")) && copy(c, s->path, sizeof(s->path), v, "the socket path") < 0)
            return -1;
        if ((v = kv_get(&k, "fd"))) {
            long long fd;

            if (parse_int(c, "fd", v, 0, 1 << 20, &fd) < 0)
                return -1;
            s->fd = (int)fd;
        }
        if (!s->path[0] && s->fd < 0)
            return fail(c, "a socket chardev needs path= or fd=");
        if (s->path[0] && s->fd >= 0)
            return fail(c, "give either path= or fd=, not both");
        if ((v = kv_get(&k, "server")) && parse_bool(c, "server", v, &s->server) < 0)
            return -1;
        if ((v = kv_get(&k, "wait")) && parse_bool(c, "wait", v, &s->wait) < 0)
            return -1;
        if (s->server && s->wait)
            return fail(c, "wait=on would block startup until a client connects; use wait=off");
        break;
    case CHARDEV_FILE:
        if (!(v = kv_get(&k, "path")))
            return fail(c, "a file chardev needs path=");
        if (copy(c, s->path, sizeof(s->path), v, "the file path") < 0)
            return -1;
        if ((v = kv_get(&k, "append")) && parse_bool(c, "append", v, &s->append) < 0)
            return -1;
        break;
    default:
        break;
    }
    return kv_check_used(c, &k);
}

static int opt_mon(struct ctx *c, const char *a)
{
    struct xsdm_config *cfg = c->cfg;
    struct monitor_spec *m;
    struct kvs k;
    const char *chr, *mode, *v;
    bool pretty = false;

    if (kv_parse(c, a, "chardev", &k) < 0)
        return -1;
    chr = kv_get(&k, "chardev");
    mode = kv_get(&k, "mode");
    if ((v = kv_get(&k, "pretty")) && parse_bool(c, "pretty", v, &pretty) < 0)
        return -1;
    if (kv_check_used(c, &k) < 0)
        return -1;
    if (!chr)
        return fail(c, "a monitor needs chardev=ID");
    if (!mode || strcmp(mode, "control"))
        return fail(c, "only QMP monitors (mode=control) are supported");
    if (pretty)
        return fail(c, "pretty=on is not supported; replies are one line each");
    if (cfg->n_monitors == CFG_MAX_MONITORS)
        return fail(c, "too many monitors (at most %d)", CFG_MAX_MONITORS);
    m = &cfg->monitors[cfg->n_monitors];
    memset(m, 0, sizeof(*m));
    if (copy(c, m->chardev, sizeof(m->chardev), chr, "the chardev id") < 0)
        return -1;
    m->control = true;
    cfg->n_monitors++;
    return 0;
}

static int opt_serial(struct ctx *c, const char *a)
{
    struct xsdm_config *cfg = c->cfg;
    struct serial_spec *sp;
    struct chardev_spec *s;
    char id[CFG_ID_MAX];

    /* QEMU: "none" creates no port and takes no index. */
    if (!strcmp(a, "none"))
        return 0;
    if (cfg->n_serials == CFG_MAX_SERIALS)
        return fail(c, "too many serial ports (at most %d)", CFG_MAX_SERIALS);
    sp = &cfg->serials[cfg->n_serials];
    memset(sp, 0, sizeof(*sp));
    if (!strncmp(a, "chardev:", 8)) {
        if (copy(c, sp->chardev, sizeof(sp->chardev), a + 8, "the chardev id") < 0)
            return -1;
        cfg->n_serials++;
        return 0;
    }
    snprintf(id, sizeof(id), "serial%d", cfg->n_serials);
    if (!strcmp(a, "pty")) {
        s = chardev_new(c, id, CHARDEV_PTY);
    } else if (!strcmp(a, "null")) {
        s = chardev_new(c, id, CHARDEV_NULL);
    } else if (!strncmp(a, "file:", 5) && a[5]) {
        s = chardev_new(c, id, CHARDEV_FILE);
        if (s && copy(c, s->path, sizeof(s->path), a + 5, "the file path") < 0)
            return -1;
    } else {
        return fail(c, "serial backend not supported; use serial='pty' or serial='file:PATH' "
                    "(or 'null', 'none', 'chardev:ID')");
    }
    if (!s)
        return -1;
    snprintf(sp->chardev, sizeof(sp->chardev), "%s", id);
    cfg->n_serials++;
    return 0;
}

/* "<host>:<display>", host numeric, "[v6]" bracketed, or empty (every address). */
static int vnc_addr(struct ctx *c, const char *a, struct vnc_spec *v)
{
    const char *colon = strrchr(a, ':');
    unsigned char buf[16];
    size_t hl;
    long long d;

    if (!colon)
        return fail(c, "expected <address>:<display> or fd=N");
    if (parse_int(c, "the display number", colon + 1, 0, CFG_VNC_MAX_DISPLAY, &d) < 0)
        return -1;
    hl = (size_t)(colon - a);
    if (hl >= 2 && a[0] == '[' && a[hl - 1] == ']') {
        a++;
        hl -= 2;
    }
    if (hl >= sizeof(v->host))
        return fail(c, "the listen address is too long");
    memcpy(v->host, a, hl);
    v->host[hl] = '\0';
    /* Numeric only: the DM resolves no names (no NSS in the static binary). */
    if (v->host[0] && inet_pton(AF_INET, v->host, buf) != 1 && inet_pton(AF_INET6, v->host, buf) != 1)
        return fail(c, "the listen address '%s' must be a numeric IPv4 or IPv6 address "
                    "(set vnclisten= to one)", v->host);
    v->display = (int)d;
    v->to = (int)d;
    return 0;
}

static int parse_vnc(struct ctx *c, const char *a, struct vnc_spec *v)
{
    struct kvs k;
    const char *addr, *fd, *pw, *to;
    long long n;

    memset(v, 0, sizeof(*v));
    v->fd = -1;
    if (!strcmp(a, "none"))
        return 0;
    if (kv_parse(c, a, "addr", &k) < 0)
        return -1;
    addr = kv_get(&k, "addr");
    fd = kv_get(&k, "fd");
    pw = kv_get(&k, "password");
    to = kv_get(&k, "to");
    if (!addr == !fd)
        return fail(c, "give either <address>:<display> or fd=N");
    if (addr && vnc_addr(c, addr, v) < 0)
        return -1;
    if (fd) {
        if (parse_int(c, "fd", fd, 3, 1 << 20, &n) < 0)
            return -1;
        v->fd = (int)n;
        if (to)
            return fail(c, "to= needs an address to search ports on, not fd=");
    }
    if (pw && parse_bool(c, "password", pw, &v->password) < 0)
        return -1;
    if (to) {
        if (parse_int(c, "to=", to, v->display, CFG_VNC_MAX_DISPLAY, &n) < 0)
            return -1;
        v->to = (int)n;
    }
    if (kv_check_used(c, &k) < 0)
        return -1;
    v->enabled = true;
    return 0;
}

static int opt_vnc(struct ctx *c, const char *a)
{
    return parse_vnc(c, a, &c->cfg->vnc);
}

int cli_parse_vnc(const char *arg, struct vnc_spec *spec, char *err, size_t errlen)
{
    struct ctx c;

    memset(&c, 0, sizeof(c));
    c.opt = "vnc";
    c.arg = arg;
    c.err = err;
    c.errlen = errlen;
    return parse_vnc(&c, arg, spec);
}

static int opt_display(struct ctx *c, const char *a)
{
    if (strcmp(a, "none"))
        return fail(c, "%s", ADV_VNC);
    return 0;
}

/* -vga: libxl passes -device instead; "std" is the same standard VGA. */
static int opt_vga(struct ctx *c, const char *a)
{
    if (!strcmp(a, "std")) {
        if (c->cfg->display_device)
            return fail(c, "only one graphics device is supported");
        c->cfg->display_device = true;
        c->cfg->vga_vram_mb = VGA_VRAM_DEFAULT_MB;
        return 0;
    }
    if (strcmp(a, "none"))
        return fail(c, "%s", ADV_VGA);
    return 0;
}

static int opt_boot(struct ctx *c, const char *a)
{
    struct kvs k;
    const char *o, *p;

    if (kv_parse(c, a, "order", &k) < 0)
        return -1;
    o = kv_get(&k, "order");
    if (kv_check_used(c, &k) < 0)
        return -1;
    if (!o || !*o)
        return fail(c, "boot order= is empty");
    for (p = o; *p; p++)
        if (*p < 'a' || *p > 'p')
            return fail(c, "invalid boot device '%c' (a-p)", *p);
    return copy(c, c->cfg->boot_order, sizeof(c->cfg->boot_order), o, "the boot order");
}

static int opt_smp(struct ctx *c, const char *a)
{
    struct kvs k;
    const char *v;
    long long n = 1, max;

    if (kv_parse(c, a, "cpus", &k) < 0)
        return -1;
    if ((v = kv_get(&k, "cpus")) && parse_int(c, "cpus", v, 1, MAX_VCPUS, &n) < 0)
        return -1;
    max = n;
    if ((v = kv_get(&k, "maxcpus")) && parse_int(c, "maxcpus", v, 1, MAX_VCPUS, &max) < 0)
        return -1;
    if (kv_check_used(c, &k) < 0)
        return -1;
    if (max < n)
        return fail(c, "maxcpus (%lld) is below cpus (%lld)", max, n);
    c->cfg->smp = (int)n;
    c->cfg->maxcpus = (int)max;
    return 0;
}

static int opt_m(struct ctx *c, const char *a)
{
    struct kvs k;
    const char *v;
    uint64_t bytes;

    if (kv_parse(c, a, "size", &k) < 0)
        return -1;
    v = kv_get(&k, "size");
    if (kv_check_used(c, &k) < 0)
        return -1;
    if (!v)
        return fail(c, "no memory size given");
    if (parse_size(c, "memory size", v, 1ull << 20, &bytes) < 0)
        return -1;
    if (bytes < (1ull << 20) || bytes % (1ull << 20) || bytes / (1ull << 20) > MAX_RAM_MB)
        return fail(c, "memory size must be a whole number of MiB from 1 to %llu", MAX_RAM_MB);
    c->cfg->ram_mb = bytes >> 20;
    return 0;
}

static int set_accel(struct ctx *c, const char *v)
{
    if (!strcmp(v, "xen"))
        c->cfg->accel = ACCEL_XEN;
    else if (!strcmp(v, "qtest"))
        c->cfg->accel = ACCEL_QTEST;
    else
        return fail(c, "accelerator '%s' is not supported: xsdm runs with accel xen (or qtest for tests)", v);
    c->accel_given = true;
    return 0;
}

static int opt_machine(struct ctx *c, const char *a)
{
    struct xsdm_config *cfg = c->cfg;
    struct kvs k;
    const char *type, *v;
    bool b;

    if (kv_parse(c, a, "type", &k) < 0)
        return -1;
    type = kv_get(&k, "type");
    if (!type)
        return fail(c, "no machine type given");
    if (!strcmp(type, "xenfv")) {
        cfg->xen_platform = true;
        cfg->probe = false;
    } else if (!strcmp(type, "pc")) {
        cfg->xen_platform = false;
        cfg->probe = false;
    } else if (!strcmp(type, "none")) {
        cfg->probe = true;
    } else {
        return fail(c, "machine type '%s' is not supported (xenfv, pc,accel=xen, none)", type);
    }
    if ((v = kv_get(&k, "accel")) && set_accel(c, v) < 0)
        return -1;
    /* No vmdesc is ever written: the state stream is xsdm's own format. */
    if ((v = kv_get(&k, "suppress-vmdesc")) && parse_bool(c, "suppress-vmdesc", v, &b) < 0)
        return -1;
    if ((v = kv_get(&k, "max-ram-below-4g")) &&
        parse_size(c, "max-ram-below-4g", v, 1, &cfg->max_ram_below_4g) < 0)
        return -1;
    if (cfg->max_ram_below_4g > (4ull << 30))
        return fail(c, "max-ram-below-4g must not exceed 4G");
    if (kv_get(&k, "igd-passthru"))
        return fail(c, "IGD passthrough is not supported; remove gfx_passthru= from the guest config");
    return kv_check_used(c, &k);
}

static int opt_accel(struct ctx *c, const char *a)
{
    struct kvs k;
    const char *v;

    if (kv_parse(c, a, "accel", &k) < 0)
        return -1;
    v = kv_get(&k, "accel");
    /* Tests only: VRAM kept outside the DM, as Xen keeps it in the domain,
     * so a restarted DM finds it again (dm/accel/accel-qtest.c). */
    if (kv_get(&k, "vram") && copy(c, c->cfg->qtest_vram, sizeof(c->cfg->qtest_vram), kv_get(&k, "vram"),
                                   "the qtest VRAM file") < 0)
        return -1;
    if (kv_check_used(c, &k) < 0)
        return -1;
    if (!v)
        return fail(c, "no accelerator given");
    return set_accel(c, v);
}

static int opt_qtest(struct ctx *c, const char *a)
{
    if (strncmp(a, "unix:", 5) || !a[5])
        return fail(c, "only -qtest unix:PATH is supported");
    return copy(c, c->cfg->qtest_path, sizeof(c->cfg->qtest_path), a + 5, "the qtest socket path");
}

static int opt_sandbox(struct ctx *c, const char *a)
{
    static const struct {
        const char *key;
        const char *values[4];
    } sub[] = {
        { "obsolete", { "allow", "deny" } },
        { "elevateprivileges", { "allow", "deny", "children" } },
        { "spawn", { "allow", "deny" } },
        { "resourcecontrol", { "allow", "deny" } },
    };
    struct kvs k;
    const char *v;
    size_t i, j;

    if (kv_parse(c, a, "enable", &k) < 0)
        return -1;
    v = kv_get(&k, "enable");
    if (!v)
        return fail(c, "expected on, log or off");
    if (!strcmp(v, "log")) {
        c->cfg->sandbox = SANDBOX_LOG;
    } else {
        bool on;

        if (parse_bool(c, "sandbox", v, &on) < 0)
            return -1;
        c->cfg->sandbox = on ? SANDBOX_ON : SANDBOX_OFF;
    }
    /* QEMU's sub-options select parts of its denylist; xsdm's allowlist is
     * stricter than any of them, so they are checked and have no effect. */
    for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        if (!(v = kv_get(&k, sub[i].key)))
            continue;
        for (j = 0; j < 4 && sub[i].values[j]; j++)
            if (!strcmp(v, sub[i].values[j]))
                break;
        if (j == 4 || !sub[i].values[j])
            return fail(c, "invalid value '%s' for %s", v, sub[i].key);
    }
    return kv_check_used(c, &k);
}

/* xsdm's own: whether to restrict as under dm_restrict=1 when the toolstack
 * gave no -chroot/-runas (libvirt, xl without dm_restrict). Off only for
 * debugging (docs/xsdm.1). */
static int opt_confine(struct ctx *c, const char *a)
{
    return parse_bool(c, "confine", a, &c->cfg->confine);
}

static int opt_incoming(struct ctx *c, const char *a)
{
    long long fd;

    if (strncmp(a, "fd:", 3))
        return fail(c, "only -incoming fd:N (as libxl passes the saved state) is supported");
    if (parse_int(c, "the incoming fd", a + 3, 0, 1 << 20, &fd) < 0)
        return -1;
    c->cfg->incoming_fd = (int)fd;
    return 0;
}

static int opt_chroot(struct ctx *c, const char *a)
{
    if (!*a)
        return fail(c, "empty chroot directory");
    /* Where the DM is confined must not depend on which of two values wins
     * (device_model_args come after libxl's own -chroot). */
    if (c->cfg->chroot_dir[0] && strcmp(c->cfg->chroot_dir, a))
        return fail(c, "the chroot directory is already '%s': give it once (-chroot or -run-with chroot=)",
                    c->cfg->chroot_dir);
    return copy(c, c->cfg->chroot_dir, sizeof(c->cfg->chroot_dir), a, "the chroot directory");
}

static int opt_runas(struct ctx *c, const char *a)
{
    if (!*a)
        return fail(c, "empty user");
    if (c->cfg->have_runas && strcmp(c->cfg->runas, a))
        return fail(c, "the user is already '%s': give it once (-runas or -run-with user=)", c->cfg->runas);
    if (copy(c, c->cfg->runas, sizeof(c->cfg->runas), a, "the user") < 0)
        return -1;
    c->cfg->have_runas = true;
    return 0;
}

static int opt_run_with(struct ctx *c, const char *a)
{
    struct kvs k;
    const char *v;
    bool b;

    if (kv_parse(c, a, NULL, &k) < 0)
        return -1;
    if ((v = kv_get(&k, "chroot")) && opt_chroot(c, v) < 0)
        return -1;
    if ((v = kv_get(&k, "user")) && opt_runas(c, v) < 0)
        return -1;
    if ((v = kv_get(&k, "async-teardown"))) {
        if (parse_bool(c, "async-teardown", v, &b) < 0)
            return -1;
        if (b)
            return fail(c, "async-teardown=on is not supported (it needs a second process)");
    }
    if ((v = kv_get(&k, "exit-with-parent"))) {
        if (parse_bool(c, "exit-with-parent", v, &b) < 0)
            return -1;
        if (b)
            return fail(c, "exit-with-parent=on is not supported");
    }
    return kv_check_used(c, &k);
}

static bool drive_slot_taken(struct xsdm_config *cfg, int idx)
{
    return cfg->drives[idx].present;
}

/* libxl's disk numbers (libxl__device_disk_dev_number): hda 768, hdb 832,
 * hdc 5632, hdd 5696. A CD-ROM's id is "ide-<number>", and on restore libxl
 * sometimes omits bus=/unit=, so the number tells where the drive sits. */
static int index_from_libxl_id(const char *id)
{
    static const struct {
        int devnum, index;
    } map[] = { { 768, 0 }, { 832, 1 }, { 5632, 2 }, { 5696, 3 } };
    char *end;
    long n;
    size_t i;

    if (strncmp(id, "ide-", 4))
        return -1;
    n = strtol(id + 4, &end, 10);
    if (*end || end == id + 4)
        return -1;
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].devnum == n)
            return map[i].index;
    return -1;
}

static int first_free_slot(struct xsdm_config *cfg)
{
    int i;

    for (i = 0; i < CFG_MAX_DRIVES; i++)
        if (!drive_slot_taken(cfg, i))
            return i;
    return -1;
}

static int place_drive(struct ctx *c, const struct drive_spec *d, int idx)
{
    struct xsdm_config *cfg = c->cfg;
    struct drive_spec *slot;

    if (idx < 0 || idx >= CFG_MAX_DRIVES)
        return fail(c, "no free IDE slot (at most %d drives: hda-hdd)", CFG_MAX_DRIVES);
    if (drive_slot_taken(cfg, idx))
        return fail(c, "IDE bus %d unit %d is already in use", idx / 2, idx % 2);
    slot = &cfg->drives[idx];
    *slot = *d;
    slot->bus = idx / 2;
    slot->unit = idx % 2;
    slot->present = true;
    return 0;
}

static int opt_drive(struct ctx *c, const char *a)
{
    struct xsdm_config *cfg = c->cfg;
    struct drive_spec d;
    struct kvs k;
    const char *iface, *v;
    long long index = -1, bus = -1, unit = -1;

    memset(&d, 0, sizeof(d));
    if (kv_parse(c, a, NULL, &k) < 0)
        return -1;
    iface = kv_get(&k, "if");
    if (!iface)
        iface = "ide";
    if (!strcmp(iface, "scsi"))
        return fail(c, "%s", ADV_SCSI);
    if (strcmp(iface, "ide") && strcmp(iface, "none"))
        return fail(c, "drive interface '%s' is not supported; use hd* (IDE) or xvd* (PV) vdevs", iface);
    if ((v = kv_get(&k, "format")) && strcmp(v, "raw"))
        return fail(c, "image format '%s' is not supported: xsdm serves raw images only; convert the image "
                    "(qemu-img convert -O raw) and set format=raw", v);
    if ((v = kv_get(&k, "cache")) && strcmp(v, "writeback"))
        return fail(c, "cache mode '%s' is not supported (writeback is what libxl uses)", v);
    if ((v = kv_get(&k, "file")) && copy(c, d.file, sizeof(d.file), v, "the image path") < 0)
        return -1;
    d.media = MEDIA_DISK;
    if ((v = kv_get(&k, "media"))) {
        if (!strcmp(v, "cdrom"))
            d.media = MEDIA_CDROM;
        else if (strcmp(v, "disk"))
            return fail(c, "media must be disk or cdrom, not '%s'", v);
    }
    if ((v = kv_get(&k, "readonly")) && parse_bool(c, "readonly", v, &d.readonly) < 0)
        return -1;
    if ((v = kv_get(&k, "id")) && copy(c, d.id, sizeof(d.id), v, "the drive id") < 0)
        return -1;
    if ((v = kv_get(&k, "index")) && parse_int(c, "index", v, 0, CFG_MAX_DRIVES - 1, &index) < 0)
        return -1;
    if ((v = kv_get(&k, "bus")) && parse_int(c, "bus", v, 0, 1, &bus) < 0)
        return -1;
    if ((v = kv_get(&k, "unit")) && parse_int(c, "unit", v, 0, 1, &unit) < 0)
        return -1;
    if (kv_check_used(c, &k) < 0)
        return -1;

    if (!strcmp(iface, "none")) {
        /* Placed by the -device that names it. */
        if (!d.id[0])
            return fail(c, "a drive with if=none needs id=");
        if (index >= 0 || bus >= 0 || unit >= 0)
            return fail(c, "index=/bus=/unit= do not apply to if=none");
        if (c->n_pend == CFG_MAX_DRIVES)
            return fail(c, "too many drives (at most %d)", CFG_MAX_DRIVES);
        c->pend[c->n_pend].d = d;
        c->pend[c->n_pend].used = false;
        c->n_pend++;
        return 0;
    }
    if (d.media == MEDIA_CDROM) {
        d.readonly = true;
    } else {
        if (!d.file[0])
            return fail(c, "an IDE disk needs file=");
        if (d.readonly)
            return fail(c, "read-only IDE hard disks are not supported; use access=rw, or devtype=cdrom");
    }
    if (index < 0 && (bus >= 0 || unit >= 0))
        index = (bus > 0 ? bus : 0) * 2 + (unit > 0 ? unit : 0);
    if (index < 0)
        index = first_free_slot(cfg);
    if (!d.id[0])
        snprintf(d.id, sizeof(d.id), "ide%d-%s%d", (int)index / 2, d.media == MEDIA_CDROM ? "cd" : "hd",
                 (int)index % 2);
    return place_drive(c, &d, (int)index);
}

static struct pending_drive *pending_find(struct ctx *c, const char *id)
{
    int i;

    for (i = 0; i < c->n_pend; i++)
        if (!strcmp(c->pend[i].d.id, id))
            return &c->pend[i];
    return NULL;
}

static const struct {
    const char *driver;
    const char *advice;
} refused_devices[] = {
    { "qxl-vga", ADV_VGA }, { "qxl", ADV_VGA },
    { "virtio-vga", ADV_VGA }, { "secondary-vga", ADV_VGA }, { "bochs-display", ADV_VGA },
    { "ati-vga", ADV_VGA },
    { "e1000e", ADV_NIC }, { "ne2k_pci", ADV_NIC },
    { "pcnet", ADV_NIC }, { "virtio-net-pci", ADV_NIC }, { "i82550", ADV_NIC }, { "i82551", ADV_NIC },
    { "i82557b", ADV_NIC }, { "i82559er", ADV_NIC }, { "vmxnet3", ADV_NIC },
    { "lsi53c895a", ADV_SCSI }, { "lsi", ADV_SCSI }, { "scsi-hd", ADV_SCSI }, { "scsi-cd", ADV_SCSI },
    { "megasas", ADV_SCSI }, { "virtio-scsi-pci", ADV_SCSI },
    { "ahci", "AHCI is not supported; xl: remove hdtype=\"ahci\" (IDE is used); libvirt: <target bus='ide'/>, not 'sata'" },
    { "piix3-usb-uhci", ADV_USB }, { "usb-ehci", ADV_USB }, { "nec-usb-xhci", ADV_USB },
    { "qemu-xhci", ADV_USB }, { "usb-tablet", ADV_USB }, { "usb-mouse", ADV_USB }, { "usb-kbd", ADV_USB },
    { "usb-host", ADV_USB }, { "usb-storage", ADV_USB },
    { "AC97", ADV_SOUND }, { "ES1370", ADV_SOUND }, { "sb16", ADV_SOUND }, { "intel-hda", ADV_SOUND },
    { "hda-duplex", ADV_SOUND }, { "cs4231a", ADV_SOUND }, { "adlib", ADV_SOUND }, { "gus", ADV_SOUND },
    { "xen-pvdevice", "the XenServer PV device is not supported; remove vendor_device=\"xenserver\"" },
    { "xen-pci-passthrough", "PCI passthrough is not supported; xl: remove pci= from the guest config; libvirt: remove <hostdev>" },
    { "virtio-serial", ADV_CHAN },
    { "virtio-serial-pci", ADV_CHAN },
    { "virtserialport", ADV_CHAN },
};

/* "00:16:3e:01:02:03" (or with '-'): a unicast address. */
static int parse_mac(struct ctx *c, const char *v, uint8_t mac[6])
{
    unsigned b[6];
    char sep[5], end;
    int i;

    if (sscanf(v, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &b[0], &sep[0], &b[1], &sep[1], &b[2], &sep[2],
               &b[3], &sep[3], &b[4], &sep[4], &b[5], &end) != 11 || strlen(v) != 17)
        return fail(c, "mac '%s' is not of the form xx:xx:xx:xx:xx:xx", v);
    for (i = 0; i < 5; i++)
        if (sep[i] != ':' && sep[i] != '-')
            return fail(c, "mac '%s' is not of the form xx:xx:xx:xx:xx:xx", v);
    if (b[0] & 1)
        return fail(c, "mac '%s' is a multicast address", v);
    for (i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return 0;
}

/* -device rtl8139|e1000,id=nicN,netdev=netN,mac=M as libxl passes it. Without
 * mac= QEMU's default 52:54:00:12:34:56 (+ the NIC's index) is used. */
static int device_nic(struct ctx *c, struct kvs *k, enum nic_model model)
{
    struct xsdm_config *cfg = c->cfg;
    struct nic_spec *n;
    const char *v;
    int i;

    if (cfg->n_nics == CFG_MAX_NICS)
        return fail(c, "too many emulated NICs (at most %d)", CFG_MAX_NICS);
    n = &cfg->nics[cfg->n_nics];
    memset(n, 0, sizeof(*n));
    n->model = model;
    if (!(v = kv_get(k, "netdev")))
        return fail(c, "a NIC needs netdev=ID (a -netdev tap)");
    if (copy(c, n->netdev, sizeof(n->netdev), v, "the netdev id") < 0)
        return -1;
    if ((v = kv_get(k, "id")) && copy(c, n->id, sizeof(n->id), v, "the device id") < 0)
        return -1;
    if ((v = kv_get(k, "mac"))) {
        if (parse_mac(c, v, n->mac) < 0)
            return -1;
    } else {
        static const uint8_t qemu_default[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

        memcpy(n->mac, qemu_default, 6);
        n->mac[5] = (uint8_t)(n->mac[5] + cfg->n_nics);
    }
    if (kv_check_used(c, k) < 0)
        return -1;
    for (i = 0; i < cfg->n_nics; i++) {
        if (!strcmp(cfg->nics[i].netdev, n->netdev))
            return fail(c, "netdev '%s' is already used by another NIC", n->netdev);
        if (n->id[0] && !strcmp(cfg->nics[i].id, n->id))
            return fail(c, "duplicate device id '%s'", n->id);
    }
    cfg->n_nics++;
    return 0;
}

/* -device VGA / cirrus-vga[,vgamem_mb=N][,id=..]: the standard VGA. Cirrus
 * is served as stdvga (its blitter is where that device's escapes lived;
 * docs/xen.md), the firmware picks the VGA BIOS by the PCI id it finds. */
static int device_vga(struct ctx *c, struct kvs *k, const char *drv)
{
    struct xsdm_config *cfg = c->cfg;
    bool cirrus = !strcmp(drv, "cirrus-vga");
    const char *v;
    long long mb = cirrus ? 8 : VGA_VRAM_DEFAULT_MB;

    if (cfg->display_device)
        return fail(c, "only one graphics device is supported");
    if ((v = kv_get(k, "vgamem_mb")) && parse_int(c, "vgamem_mb", v, VGA_VRAM_MIN_MB, VGA_VRAM_MAX_MB, &mb) < 0)
        return -1;
    (void)kv_get(k, "id");
    if (kv_check_used(c, k) < 0)
        return -1;
    cfg->display_device = true;
    cfg->vga_vram_mb = (unsigned)mb;
    cfg->vga_was_cirrus = cirrus;
    return 0;
}

static int opt_device(struct ctx *c, const char *a)
{
    struct kvs k;
    struct pending_drive *p;
    struct drive_spec d;
    const char *drv, *v;
    long long unit = -1, bus = -1;
    int idx;
    size_t i;

    if (kv_parse(c, a, "driver", &k) < 0)
        return -1;
    drv = kv_get(&k, "driver");
    if (!drv)
        return fail(c, "no device driver given");
    for (i = 0; i < sizeof(refused_devices) / sizeof(refused_devices[0]); i++)
        if (!strcmp(drv, refused_devices[i].driver))
            return fail(c, "%s", refused_devices[i].advice);
    if (!strcmp(drv, "rtl8139"))
        return device_nic(c, &k, NIC_RTL8139);
    if (!strcmp(drv, "e1000"))
        return device_nic(c, &k, NIC_E1000);
    if (!strcmp(drv, "VGA") || !strcmp(drv, "cirrus-vga"))
        return device_vga(c, &k, drv);
    if (strcmp(drv, "ide-cd") && strcmp(drv, "ide-hd"))
        return fail(c, "device '%s' is not supported by xsdm", drv);

    v = kv_get(&k, "drive");
    if (!v)
        return fail(c, "%s needs drive=ID", drv);
    p = pending_find(c, v);
    if (!p)
        return fail(c, "drive '%s' is not defined by an earlier -drive if=none,id=%s", v, v);
    if (p->used)
        return fail(c, "drive '%s' is already attached", v);
    d = p->d;
    if ((v = kv_get(&k, "id")) && copy(c, d.id, sizeof(d.id), v, "the device id") < 0)
        return -1;
    if ((v = kv_get(&k, "bus"))) {
        if (strncmp(v, "ide.", 4))
            return fail(c, "bus '%s' is not supported (ide.0 or ide.1; AHCI is not supported)", v);
        if (parse_int(c, "the IDE bus", v + 4, 0, 1, &bus) < 0)
            return -1;
    }
    if ((v = kv_get(&k, "unit")) && parse_int(c, "unit", v, 0, 1, &unit) < 0)
        return -1;
    if (kv_check_used(c, &k) < 0)
        return -1;

    if (!strcmp(drv, "ide-cd")) {
        d.media = MEDIA_CDROM;
        d.readonly = true;
    } else {
        d.media = MEDIA_DISK;
        if (!d.file[0])
            return fail(c, "an IDE disk needs a drive with file=");
        if (d.readonly)
            return fail(c, "read-only IDE hard disks are not supported; use access=rw, or devtype=cdrom");
    }
    if (bus >= 0)
        idx = (int)bus * 2 + (unit > 0 ? (int)unit : 0);
    else if (unit >= 0)
        idx = (int)unit;
    else if ((idx = index_from_libxl_id(d.id)) < 0 || drive_slot_taken(c->cfg, idx))
        idx = first_free_slot(c->cfg);
    if (place_drive(c, &d, idx) < 0)
        return -1;
    p->used = true;
    return 0;
}

static int opt_net(struct ctx *c, const char *a)
{
    if (strcmp(a, "none"))
        return fail(c, "-net is not supported; %s", ADV_NETOPT);
    return 0;
}

/* -netdev type=tap,id=netN,ifname=vifD.N-emu,br=B,script=no,downscript=no
 * (libxl) or -netdev tap,id=netN,fd=F (a tap the toolstack opened). xsdm
 * never runs scripts: script=/downscript= may only say "no". */
static int opt_netdev(struct ctx *c, const char *a)
{
    struct xsdm_config *cfg = c->cfg;
    struct netdev_spec *n;
    struct kvs k;
    const char *v, *keys[] = { "script", "downscript" };
    size_t i;

    if (kv_parse(c, a, "type", &k) < 0)
        return -1;
    if (!(v = kv_get(&k, "type")) || strcmp(v, "tap"))
        return fail(c, "only tap netdevs are supported (-netdev tap,id=..,ifname=.. or fd=..)");
    if (cfg->n_netdevs == CFG_MAX_NICS)
        return fail(c, "too many netdevs (at most %d)", CFG_MAX_NICS);
    n = &cfg->netdevs[cfg->n_netdevs];
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    if (!(v = kv_get(&k, "id")) || !*v)
        return fail(c, "a netdev needs an id");
    if (cli_find_netdev(cfg, v))
        return fail(c, "duplicate netdev id '%s'", v);
    if (copy(c, n->id, sizeof(n->id), v, "the netdev id") < 0)
        return -1;
    if ((v = kv_get(&k, "ifname")) && copy(c, n->ifname, sizeof(n->ifname), v, "the interface name") < 0)
        return -1;
    if ((v = kv_get(&k, "fd"))) {
        long long fd;

        if (parse_int(c, "fd", v, 0, 1 << 20, &fd) < 0)
            return -1;
        n->fd = (int)fd;
    }
    if ((v = kv_get(&k, "br")) && copy(c, n->bridge, sizeof(n->bridge), v, "the bridge name") < 0)
        return -1;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if ((v = kv_get(&k, keys[i])) && strcmp(v, "no"))
            return fail(c, "%s=%s: xsdm runs no scripts; use %s=no (the toolstack's hotplug script "
                        "configures the tap)", keys[i], v, keys[i]);
    if (kv_check_used(c, &k) < 0)
        return -1;
    if (!n->ifname[0] == (n->fd < 0))
        return fail(c, "a tap netdev needs exactly one of ifname= and fd=");
    if (n->ifname[0] && (strchr(n->ifname, '/') || !strcmp(n->ifname, ".") || !strcmp(n->ifname, "..")))
        return fail(c, "'%s' is not a valid interface name", n->ifname);
    cfg->n_netdevs++;
    return 0;
}

/* ---- tables ----------------------------------------------------------- */

struct option {
    const char *name;
    int (*fn)(struct ctx *c, const char *arg);  /* NULL: a flag handled in set_flag() */
    const char *refuse;                         /* non-NULL: always an error with this advice */
    bool has_arg;
};

static const struct option options[] = {
    { "xen-domid", opt_xen_domid, NULL, true },
    { "xen-domid-restrict", NULL, NULL, false },
    { "xen-attach", NULL, "PV guests are not supported: xsdm is a device model for HVM guests only", false },
    { "no-shutdown", NULL, NULL, false },
    { "S", NULL, NULL, false },
    { "nodefaults", NULL, NULL, false },
    { "no-user-config", NULL, NULL, false },
    { "nographic", NULL, NULL, false },
    { "no-acpi", NULL, NULL, false },
    { "chardev", opt_chardev, NULL, true },
    { "mon", opt_mon, NULL, true },
    { "name", opt_name, NULL, true },
    { "vnc", opt_vnc, NULL, true },
    { "display", opt_display, NULL, true },
    { "vga", opt_vga, NULL, true },
    { "serial", opt_serial, NULL, true },
    { "boot", opt_boot, NULL, true },
    { "smp", opt_smp, NULL, true },
    { "m", opt_m, NULL, true },
    { "machine", opt_machine, NULL, true },
    { "M", opt_machine, NULL, true },
    { "accel", opt_accel, NULL, true },
    { "qtest", opt_qtest, NULL, true },
    { "sandbox", opt_sandbox, NULL, true },
    { "confine", opt_confine, NULL, true },
    { "incoming", opt_incoming, NULL, true },
    { "chroot", opt_chroot, NULL, true },
    { "runas", opt_runas, NULL, true },
    { "run-with", opt_run_with, NULL, true },
    { "drive", opt_drive, NULL, true },
    { "device", opt_device, NULL, true },
    { "net", opt_net, NULL, true },
    { "netdev", opt_netdev, NULL, true },
    { "nic", NULL, "-nic is not supported; " ADV_NETOPT, true },
    { "spice", NULL, "SPICE is not supported; set spice=0 in the guest config", true },
    { "sdl", NULL, ADV_VNC, false },
    { "k", NULL, "keyboard layouts need a display; remove keymap= from the guest config", true },
    { "kernel", NULL, "direct kernel boot is not supported; boot from a disk or CD-ROM image", true },
    { "initrd", NULL, "direct kernel boot is not supported; boot from a disk or CD-ROM image", true },
    { "append", NULL, "direct kernel boot is not supported; boot from a disk or CD-ROM image", true },
    { "usb", NULL, ADV_USB, false },
    { "usbdevice", NULL, ADV_USB, true },
    { "soundhw", NULL, ADV_SOUND, true },
    { "audiodev", NULL, ADV_SOUND, true },
    { "enable-kvm", NULL, "xsdm runs with accel xen (or qtest for tests)", false },
    { "daemonize", NULL, "xsdm does not daemonize (libxl supervises the process)", false },
};

static void set_flag(struct xsdm_config *cfg, const char *name)
{
    if (!strcmp(name, "xen-domid-restrict"))
        cfg->domid_restrict = true;
    else if (!strcmp(name, "no-shutdown"))
        cfg->no_shutdown = true;
    else if (!strcmp(name, "S"))
        cfg->start_paused = true;
    else if (!strcmp(name, "no-acpi"))
        cfg->acpi = false;
    /* -nodefaults, -no-user-config: xsdm never adds default devices or
     * reads a config file; -nographic: there is no display to turn off. */
}

void cli_defaults(struct xsdm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->accel = ACCEL_XEN;
    cfg->domid = -1;
    cfg->ram_mb = 128;                 /* QEMU's default */
    cfg->smp = 1;
    cfg->maxcpus = 1;
    snprintf(cfg->boot_order, sizeof(cfg->boot_order), "cad");
    cfg->acpi = true;
    cfg->xen_platform = true;
    cfg->sandbox = SANDBOX_ON;
    cfg->confine = true;
    cfg->incoming_fd = -1;
    cfg->vnc.fd = -1;
}

const struct chardev_spec *cli_find_chardev(const struct xsdm_config *cfg, const char *id)
{
    int i;

    for (i = 0; i < cfg->n_chardevs; i++)
        if (!strcmp(cfg->chardevs[i].id, id))
            return &cfg->chardevs[i];
    return NULL;
}

const struct netdev_spec *cli_find_netdev(const struct xsdm_config *cfg, const char *id)
{
    int i;

    for (i = 0; i < cfg->n_netdevs; i++)
        if (!strcmp(cfg->netdevs[i].id, id))
            return &cfg->netdevs[i];
    return NULL;
}

/* Every NIC has its netdev and every netdev its NIC (libxl passes the
 * -device before the -netdev it names). */
static int validate_nics(struct ctx *c)
{
    struct xsdm_config *cfg = c->cfg;
    int i, j;

    for (i = 0; i < cfg->n_nics; i++)
        if (!cli_find_netdev(cfg, cfg->nics[i].netdev))
            return fail(c, "-device %s: no -netdev with id '%s'",
                        cfg->nics[i].id[0] ? cfg->nics[i].id : cfg->nics[i].model == NIC_E1000 ? "e1000" : "rtl8139",
                        cfg->nics[i].netdev);
    for (i = 0; i < cfg->n_netdevs; i++) {
        for (j = 0; j < cfg->n_nics; j++)
            if (!strcmp(cfg->nics[j].netdev, cfg->netdevs[i].id))
                break;
        if (j == cfg->n_nics)
            return fail(c, "-netdev id=%s: not used by any NIC (-device rtl8139,netdev=%s)",
                        cfg->netdevs[i].id, cfg->netdevs[i].id);
        for (j = 0; j < i; j++)
            if (cfg->netdevs[i].ifname[0] && !strcmp(cfg->netdevs[i].ifname, cfg->netdevs[j].ifname))
                return fail(c, "-netdev id=%s: interface %s is used twice", cfg->netdevs[i].id,
                            cfg->netdevs[i].ifname);
    }
    return 0;
}

/* Cross-option checks, once everything has been read. */
static int validate(struct ctx *c)
{
    struct xsdm_config *cfg = c->cfg;
    int i, j;

    c->opt = c->arg = NULL;
    for (i = 0; i < cfg->n_monitors; i++) {
        const struct chardev_spec *s = cli_find_chardev(cfg, cfg->monitors[i].chardev);

        if (!s)
            return fail(c, "-mon chardev=%s: no -chardev with that id", cfg->monitors[i].chardev);
        if (s->kind != CHARDEV_SOCKET || !s->server)
            return fail(c, "-mon chardev=%s: a QMP monitor must be a listening unix socket "
                        "(-chardev socket,...,server=on,wait=off)", s->id);
        for (j = 0; j < i; j++)
            if (!strcmp(cfg->monitors[j].chardev, cfg->monitors[i].chardev))
                return fail(c, "-mon chardev=%s: chardev used by two monitors", s->id);
    }
    for (i = 0; i < cfg->n_serials; i++) {
        const char *id = cfg->serials[i].chardev;

        if (!cli_find_chardev(cfg, id))
            return fail(c, "-serial chardev:%s: no -chardev with that id", id);
        for (j = 0; j < cfg->n_monitors; j++)
            if (!strcmp(cfg->monitors[j].chardev, id))
                return fail(c, "-serial chardev:%s: chardev is already a monitor", id);
        for (j = 0; j < i; j++)
            if (!strcmp(cfg->serials[j].chardev, id))
                return fail(c, "-serial chardev:%s: chardev used by two serial ports", id);
    }
    for (i = 0; i < c->n_pend; i++)
        if (!c->pend[i].used)
            return fail(c, "-drive id=%s: not attached to a device (-device ide-cd,drive=%s)",
                        c->pend[i].d.id, c->pend[i].d.id);
    if (validate_nics(c) < 0)
        return -1;
    if (cfg->qtest_path[0] && !c->accel_given)
        cfg->accel = ACCEL_QTEST;
    if (cfg->accel == ACCEL_QTEST && !cfg->qtest_path[0])
        return fail(c, "the qtest accelerator needs -qtest unix:PATH");
    if (cfg->accel != ACCEL_QTEST && cfg->qtest_path[0])
        return fail(c, "-qtest needs the qtest accelerator (-accel qtest)");
    if (cfg->accel != ACCEL_QTEST && cfg->qtest_vram[0])
        return fail(c, "-accel ...,vram= is for the qtest accelerator only");
    if (cfg->accel == ACCEL_XEN && !cfg->probe && cfg->domid < 0)
        return fail(c, "-xen-domid is required with the Xen accelerator");
    /* A VNC server with nothing to show would only be a black screen and a
     * network listener: refused without a graphics device. */
    if (cfg->vnc.enabled && !cfg->display_device) {
        c->opt = "vnc";
        c->arg = NULL;
        return fail(c, "%s", ADV_VNC_NODEV);
    }
    return 0;
}

int cli_parse(int argc, char **argv, struct xsdm_config *cfg, char *err, size_t errlen)
{
    struct ctx c;
    int i;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.err = err;
    c.errlen = errlen;
    if (errlen)
        err[0] = '\0';
    for (i = 1; i < argc; i++) {
        const char *name = argv[i];
        const struct option *o = NULL;
        size_t k;

        c.opt = NULL;
        c.arg = NULL;
        if (name[0] != '-' || !name[1]) {
            snprintf(err, errlen, "unexpected argument '%s' (xsdm takes no disk image as a bare argument)", name);
            return -1;
        }
        name++;
        if (name[0] == '-')
            name++;             /* QEMU accepts --opt as well */
        for (k = 0; k < sizeof(options) / sizeof(options[0]); k++)
            if (!strcmp(options[k].name, name))
                o = &options[k];
        c.opt = name;
        if (!o) {
            snprintf(err, errlen, "option '%s' is not supported by xsdm", argv[i]);
            return -1;
        }
        if (o->has_arg) {
            if (i + 1 >= argc)
                return fail(&c, "missing argument");
            c.arg = argv[++i];
        }
        if (o->refuse)
            return fail(&c, "%s", o->refuse);
        if (o->fn) {
            if (o->fn(&c, c.arg) < 0)
                return -1;
        } else {
            set_flag(cfg, name);
        }
    }
    return validate(&c);
}
