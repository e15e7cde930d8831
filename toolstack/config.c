/* xl.cfg through libxlutil. The libxlutil/libxenlight symbols are weak
 * until the Makefile links -lxlutil -lxenlight for every binary: without
 * them the parser reports that it was built without libxlutil instead of
 * breaking other people's links. */
#include "toolstack/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <libxlutil.h>

#include "dm/core/errmsg.h"
#include "toolstack/vncsock.h"


static const char *const known_keys[] = {
    "name", "type", "builder", "memory", "vcpus", "disk", "serial", "boot", "dm_restrict",
    "device_model_user", "device_model_version", "vga", "videoram", "vif", "vnc", "sdl",
    "vnclisten", "vncdisplay", "vncunused", "vncpasswd",
    "on_poweroff", "on_reboot", "on_crash",    /* xl's business: checked, not used by the DM */
    NULL,
};

static bool known(const char *k)
{
    for (int i = 0; known_keys[i]; i++)
        if (!strcmp(known_keys[i], k))
            return true;
    return false;
}

/* libxlutil has no way to list keys, so walk the statements ourselves:
 * top-level identifiers followed by '=' (outside strings, lists and
 * comments). libxlutil has already checked the syntax. */
static int check_keys(const char *d, size_t len, const char *name, char *err, size_t errlen)
{
    int depth = 0, line = 1;
    bool start = true;
    char q = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = d[i];

        if (ch == '\n')
            line++;
        if (q) {
            if (ch == '\\' && i + 1 < len)
                i++;
            else if (ch == q)
                q = 0;
            continue;
        }
        if (ch == '#') {
            while (i + 1 < len && d[i + 1] != '\n')
                i++;
            continue;
        }
        if (ch == '"' || ch == '\'') {
            q = ch;
            start = false;
            continue;
        }
        if (ch == '[')
            depth++;
        else if (ch == ']' && depth > 0)
            depth--;
        if (depth == 0 && (ch == '\n' || ch == ';')) {
            start = true;
            continue;
        }
        if (isspace((unsigned char)ch))
            continue;
        if (start && depth == 0 && (isalpha((unsigned char)ch) || ch == '_')) {
            char key[XLCFG_STR];
            size_t n = 0;

            while (i < len && (isalnum((unsigned char)d[i]) || d[i] == '_')) {
                if (n + 1 < sizeof(key))
                    key[n++] = d[i];
                i++;
            }
            key[n] = 0;
            i--;
            if (!known(key)) {
                seterr(err, errlen, "%s:%d: unsupported key '%s' (xsdmctl understands: name type builder "
                       "memory vcpus disk serial boot dm_restrict device_model_user device_model_version "
                       "vga videoram vif vnc vnclisten vncdisplay vncunused vncpasswd sdl on_poweroff "
                       "on_reboot on_crash)", name, line, key);
                return -1;
            }
        }
        start = false;
    }
    return 0;
}

int xlcfg_vdev_index(const char *vdev, int *devnum)
{
    static const int nums[4] = { 768, 832, 5632, 5696 };   /* (3<<8), (3<<8)+64, (22<<8), (22<<8)+64 */

    if (!vdev || strlen(vdev) != 3 || strncmp(vdev, "hd", 2) || vdev[2] < 'a' || vdev[2] > 'd')
        return -1;
    if (devnum)
        *devnum = nums[vdev[2] - 'a'];
    return vdev[2] - 'a';
}

static int copy_str(char *dst, size_t n, const char *src, const char *what, const char *name,
                    char *err, size_t errlen)
{
    if (strlen(src) >= n) {
        seterr(err, errlen, "%s: %s too long", name, what);
        return -1;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int get_str(XLU_Config *x, const char *key, char *dst, size_t n, const char *name,
                   char *err, size_t errlen)
{
    const char *v = NULL;
    int r = xlu_cfg_get_string(x, key, &v, 0);

    if (r == ESRCH)
        return 0;
    if (r) {
        seterr(err, errlen, "%s: '%s' must be a string", name, key);
        return -1;
    }
    return copy_str(dst, n, v, key, name, err, errlen) < 0 ? -1 : 1;
}

static int get_long(XLU_Config *x, const char *key, long *dst, long min, long max, const char *name,
                    char *err, size_t errlen)
{
    long v;
    int r = xlu_cfg_get_long(x, key, &v, 0);

    if (r == ESRCH)
        return 0;
    if (r || v < min || v > max) {
        seterr(err, errlen, "%s: '%s' must be a number in %ld..%ld", name, key, min, max);
        return -1;
    }
    *dst = v;
    return 1;
}

static int parse_disks(XLU_Config *x, struct xl_config *c, const char *name, char *err, size_t errlen)
{
    XLU_ConfigList *list = NULL;
    const char *spec;
    int n = 0, r, rc = -1;

    r = xlu_cfg_get_list(x, "disk", &list, &n, 0);
    if (r == ESRCH)
        return 0;
    if (r) {
        seterr(err, errlen, "%s: 'disk' must be a list", name);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        libxl_device_disk disk;
        struct xl_disk *d;
        int idx, devnum;

        spec = xlu_cfg_get_listitem(list, i);
        libxl_device_disk_init(&disk);
        r = xlu_disk_parse(x, 1, &spec, &disk);
        if (r) {
            seterr(err, errlen, "%s: disk '%s': %s", name, spec ? spec : "", strerror(r));
            goto next_fail;
        }
        idx = xlcfg_vdev_index(disk.vdev, &devnum);
        if (idx < 0) {
            seterr(err, errlen, "%s: disk '%s': vdev '%s' unsupported (emulated IDE only: hda..hdd)",
                   name, spec, disk.vdev ? disk.vdev : "");
            goto next_fail;
        }
        for (int j = 0; j < c->n_disks; j++)
            if (c->disks[j].index == idx) {
                seterr(err, errlen, "%s: vdev %s used twice", name, disk.vdev);
                goto next_fail;
            }
        if (disk.format != LIBXL_DISK_FORMAT_RAW && disk.format != LIBXL_DISK_FORMAT_UNKNOWN &&
            disk.format != LIBXL_DISK_FORMAT_EMPTY) {
            seterr(err, errlen, "%s: disk '%s': only format=raw is supported", name, spec);
            goto next_fail;
        }
        if (disk.script) {
            seterr(err, errlen, "%s: disk '%s': script= is not supported", name, spec);
            goto next_fail;
        }
        if (!disk.is_cdrom && !disk.readwrite) {
            /* libxl: IDE hard disks must be rw (ERROR_INVAL) */
            seterr(err, errlen, "%s: disk '%s': an IDE hard disk must be access=rw", name, spec);
            goto next_fail;
        }
        if (!disk.is_cdrom && (!disk.pdev_path || !*disk.pdev_path)) {
            seterr(err, errlen, "%s: disk '%s': a hard disk needs a target", name, spec);
            goto next_fail;
        }
        d = &c->disks[c->n_disks];
        memset(d, 0, sizeof(*d));
        snprintf(d->vdev, sizeof(d->vdev), "%s", disk.vdev);
        if (disk.pdev_path && copy_str(d->target, sizeof(d->target), disk.pdev_path, "disk target",
                                       name, err, errlen) < 0)
            goto next_fail;
        snprintf(d->format, sizeof(d->format), "raw");
        d->cdrom = disk.is_cdrom;
        d->rw = disk.readwrite && !disk.is_cdrom;
        d->index = idx;
        d->devnum = devnum;
        c->n_disks++;
        libxl_device_disk_dispose(&disk);
        continue;
next_fail:
        libxl_device_disk_dispose(&disk);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

static int parse_vif(const char *spec, struct xl_vif *v, const char *name, char *err, size_t errlen)
{
    char buf[256], *save = NULL, *tok;

    memset(v, 0, sizeof(*v));
    snprintf(v->bridge, sizeof(v->bridge), "xenbr0");
    snprintf(v->model, sizeof(v->model), "rtl8139");
    if (strlen(spec) >= sizeof(buf)) {
        seterr(err, errlen, "%s: vif '%s' too long", name, spec);
        return -1;
    }
    memcpy(buf, spec, strlen(spec) + 1);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        unsigned m[6];
        char tail;

        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (!eq) {
            seterr(err, errlen, "%s: vif '%s': '%s' is not key=value", name, spec, tok);
            return -1;
        }
        *eq++ = 0;
        if (!strcmp(tok, "mac")) {
            if (sscanf(eq, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &tail) != 6) {
                seterr(err, errlen, "%s: vif '%s': bad mac '%s'", name, spec, eq);
                return -1;
            }
            snprintf(v->mac, sizeof(v->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        } else if (!strcmp(tok, "bridge")) {
            if (copy_str(v->bridge, sizeof(v->bridge), eq, "vif bridge", name, err, errlen) < 0)
                return -1;
        } else if (!strcmp(tok, "model")) {
            if (copy_str(v->model, sizeof(v->model), eq, "vif model", name, err, errlen) < 0)
                return -1;
        } else if (!strcmp(tok, "type")) {
            if (strcmp(eq, "ioemu")) {
                seterr(err, errlen, "%s: vif '%s': only type=ioemu (an emulated NIC) is supported", name, spec);
                return -1;
            }
        } else {
            seterr(err, errlen, "%s: vif '%s': unsupported key '%s'", name, spec, tok);
            return -1;
        }
    }
    if (!v->mac[0]) {
        /* libxl picks 00:16:3e + random; keep it stable per config instead */
        snprintf(v->mac, sizeof(v->mac), "00:16:3e:00:00:01");
    }
    return 0;
}

static int parse_list_or_string(XLU_Config *x, const char *key, char out[][XLCFG_STR], int max,
                                int *n_r, const char *name, char *err, size_t errlen)
{
    XLU_ConfigList *list = NULL;
    const char *s = NULL;
    int n = 0;

    *n_r = 0;
    if (!xlu_cfg_get_list(x, key, &list, &n, 1)) {
        if (n > max) {
            seterr(err, errlen, "%s: at most %d entries in '%s'", name, max, key);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            s = xlu_cfg_get_listitem(list, i);
            if (!s || copy_str(out[i], XLCFG_STR, s, key, name, err, errlen) < 0)
                return -1;
        }
        *n_r = n;
        return 0;
    }
    if (!xlu_cfg_get_string(x, key, &s, 1)) {
        if (copy_str(out[0], XLCFG_STR, s, key, name, err, errlen) < 0)
            return -1;
        *n_r = 1;
    }
    return 0;
}

/* vnclisten: "ADDR" or "ADDR:D", ADDR numeric IPv4 or "[IPv6]" (libxl
 * takes a listen value with a ':' as address and display together). */
static int parse_vnclisten(const char *s, struct xl_vnc *v, bool *has_display, const char *name,
                           char *err, size_t errlen)
{
    unsigned char buf[16];
    const char *colon, *addr_end;
    size_t n;

    *has_display = false;
    if (s[0] == '[') {
        addr_end = strchr(s, ']');
        if (!addr_end) {
            seterr(err, errlen, "%s: vnclisten '%s': missing ']'", name, s);
            return -1;
        }
        colon = addr_end[1] == ':' ? addr_end + 1 : NULL;
        if (addr_end[1] && !colon) {
            seterr(err, errlen, "%s: vnclisten '%s': expected [ADDRESS] or [ADDRESS]:DISPLAY", name, s);
            return -1;
        }
        s++;
    } else {
        colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) {
            seterr(err, errlen, "%s: vnclisten '%s': write an IPv6 address in brackets, as [::1]", name, s);
            return -1;
        }
        addr_end = colon ? colon : s + strlen(s);
    }
    n = (size_t)(addr_end - s);
    if (n >= sizeof(v->listen)) {
        seterr(err, errlen, "%s: vnclisten too long", name);
        return -1;
    }
    memcpy(v->listen, s, n);
    v->listen[n] = 0;
    /* Numeric only: the DM resolves no names, and one name may stand for several addresses. */
    if (inet_pton(AF_INET, v->listen, buf) != 1 && inet_pton(AF_INET6, v->listen, buf) != 1) {
        seterr(err, errlen, "%s: vnclisten '%s' must be a numeric IPv4 address or [IPv6] address, "
               "not a host name", name, v->listen);
        return -1;
    }
    if (colon) {
        char *end;
        long d;

        errno = 0;
        d = strtol(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || d < 0 || d > VNCSOCK_FIND_TO) {
            seterr(err, errlen, "%s: vnclisten '%s': display must be 0-%d", name, colon + 1, VNCSOCK_FIND_TO);
            return -1;
        }
        v->display = (int)d;
        *has_display = true;
    }
    return 0;
}

static int parse_vnc(XLU_Config *x, struct xl_config *c, const char *name, char *err, size_t errlen)
{
    struct xl_vnc *v = &c->vnc;
    char listen[XLCFG_STR] = "";
    bool has_display = false;
    long on = 0, d = -1, unused = -1;

    snprintf(v->listen, sizeof(v->listen), "127.0.0.1");
    v->findunused = true;
    if (get_long(x, "vnc", &on, 0, 1, name, err, errlen) < 0 ||
        get_str(x, "vnclisten", listen, sizeof(listen), name, err, errlen) < 0 ||
        get_long(x, "vncdisplay", &d, 0, VNCSOCK_FIND_TO, name, err, errlen) < 0 ||
        get_long(x, "vncunused", &unused, 0, 1, name, err, errlen) < 0 ||
        get_str(x, "vncpasswd", v->passwd, sizeof(v->passwd), name, err, errlen) < 0)
        return -1;
    v->enabled = on;
    if (listen[0] && parse_vnclisten(listen, v, &has_display, name, err, errlen) < 0)
        return -1;
    if (d >= 0) {
        v->display = (int)d;
        has_display = true;
    }
    /* xl: a display given means that display, unless vncunused says search. */
    v->findunused = unused >= 0 ? unused == 1 : !has_display;
    if (!v->enabled)
        return 0;
    if (!strcmp(c->vga, "none")) {
        seterr(err, errlen, "%s: vnc=1 needs a display device: remove vga=\"none\" (stdvga, or the "
               "default cirrus, served as stdvga) or set vnc=0", name);
        return -1;
    }
    return 0;
}

int xlcfg_parse(const char *data, size_t len, const char *name, struct xl_config *c, char *err, size_t errlen)
{
    char tmp[XLCFG_STR], vifs[XLCFG_MAX_VIFS][XLCFG_STR];
    XLU_Config *x = NULL;
    FILE *report = NULL;
    char *msg = NULL;
    size_t msglen = 0;
    long v;
    int rc = -1, r, n;

    memset(c, 0, sizeof(*c));
    c->memory_mb = 128;
    c->vcpus = 1;
    snprintf(c->boot, sizeof(c->boot), "cda");
    snprintf(c->vga, sizeof(c->vga), "cirrus");
    c->videoram_mb = -1;
    if (len > 1024 * 1024 || len > (size_t)INT32_MAX) {
        seterr(err, errlen, "%s: config file too large", name);
        return -1;
    }
    /* libxlutil reports syntax errors on a FILE: collect them for err */
    report = open_memstream(&msg, &msglen);
    if (!report) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    x = xlu_cfg_init(report, name);
    if (!x) {
        seterr(err, errlen, "%s: cannot initialise libxlutil", name);
        goto out;
    }
    r = xlu_cfg_readdata(x, data, (int)len);
    if (r) {
        fflush(report);
        seterr(err, errlen, "%s: syntax error: %s", name, msg && *msg ? msg : strerror(r));
        if (err && errlen && strlen(err) && err[strlen(err) - 1] == '\n')
            err[strlen(err) - 1] = 0;
        goto out;
    }
    if (check_keys(data, len, name, err, errlen) < 0)
        goto out;

    if (get_str(x, "name", c->name, sizeof(c->name), name, err, errlen) < 0)
        goto out;
    if (!c->name[0]) {
        seterr(err, errlen, "%s: 'name' is required", name);
        goto out;
    }
    for (const char *p = c->name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
            seterr(err, errlen, "%s: name '%s' may only hold letters, digits, '-', '_' and '.'", name, c->name);
            goto out;
        }
    tmp[0] = 0;
    if (get_str(x, "type", tmp, sizeof(tmp), name, err, errlen) < 0)
        goto out;
    if (tmp[0] && strcmp(tmp, "hvm")) {
        seterr(err, errlen, "%s: type '%s' unsupported: a device model serves type=\"hvm\" only", name, tmp);
        goto out;
    }
    tmp[0] = 0;
    if (get_str(x, "builder", tmp, sizeof(tmp), name, err, errlen) < 0)
        goto out;
    if (tmp[0] && strcmp(tmp, "hvm")) {
        seterr(err, errlen, "%s: builder '%s' unsupported (hvm only)", name, tmp);
        goto out;
    }
    tmp[0] = 0;
    if (get_str(x, "device_model_version", tmp, sizeof(tmp), name, err, errlen) < 0)
        goto out;
    if (tmp[0] && strcmp(tmp, "qemu-xen")) {
        seterr(err, errlen, "%s: device_model_version '%s' unsupported (qemu-xen only)", name, tmp);
        goto out;
    }
    if (get_long(x, "memory", &c->memory_mb, 16, 1024 * 1024, name, err, errlen) < 0)
        goto out;
    v = 1;
    if (get_long(x, "vcpus", &v, 1, 128, name, err, errlen) < 0)
        goto out;
    c->vcpus = (int)v;
    if (get_str(x, "boot", c->boot, sizeof(c->boot), name, err, errlen) < 0)
        goto out;
    for (const char *p = c->boot; *p; p++)
        if (!strchr("acdn", *p)) {
            seterr(err, errlen, "%s: boot '%s': only a, c, d, n", name, c->boot);
            goto out;
        }
    v = 0;
    if (get_long(x, "dm_restrict", &v, 0, 1, name, err, errlen) < 0)
        goto out;
    c->dm_restrict = v;
    if (get_str(x, "device_model_user", c->dm_user, sizeof(c->dm_user), name, err, errlen) < 0)
        goto out;
    if (get_str(x, "vga", c->vga, sizeof(c->vga), name, err, errlen) < 0)
        goto out;
    if (strcmp(c->vga, "cirrus") && strcmp(c->vga, "stdvga") && strcmp(c->vga, "none")) {
        seterr(err, errlen, "%s: vga '%s' unsupported (cirrus, stdvga, none)", name, c->vga);
        goto out;
    }
    if (get_long(x, "videoram", &c->videoram_mb, 1, 256, name, err, errlen) < 0)
        goto out;
    if (c->videoram_mb < 0)   /* libxl's defaults for qemu-xen */
        c->videoram_mb = !strcmp(c->vga, "none") ? 0 : !strcmp(c->vga, "stdvga") ? 16 : 8;
    if (!strcmp(c->vga, "none"))
        c->videoram_mb = 0;
    if (c->videoram_mb >= c->memory_mb) {
        seterr(err, errlen, "%s: videoram %ld MiB leaves no guest memory", name, c->videoram_mb);
        goto out;
    }
    if (parse_vnc(x, c, name, err, errlen) < 0)
        goto out;
    {
        static const char *const acts[] = { "destroy", "restart", "rename-restart", "preserve",
                                             "coredump-destroy", "coredump-restart", "soft-reset", NULL };
        static const char *const keys[] = { "on_poweroff", "on_reboot", "on_crash", NULL };

        for (int k = 0; keys[k]; k++) {
            bool ok = false;

            tmp[0] = 0;
            if (get_str(x, keys[k], tmp, sizeof(tmp), name, err, errlen) < 0)
                goto out;
            if (!tmp[0])
                continue;
            for (int a = 0; acts[a]; a++)
                ok = ok || !strcmp(tmp, acts[a]);
            if (!ok) {
                seterr(err, errlen, "%s: %s '%s' is not an xl action", name, keys[k], tmp);
                goto out;
            }
        }
    }
    v = 0;
    if (get_long(x, "sdl", &v, 0, 1, name, err, errlen) < 0)
        goto out;
    if (v) {
        seterr(err, errlen, "%s: sdl=1 unsupported", name);
        goto out;
    }
    if (parse_list_or_string(x, "serial", c->serials, XLCFG_MAX_SERIALS, &c->n_serials, name, err, errlen) < 0)
        goto out;
    if (parse_disks(x, c, name, err, errlen) < 0)
        goto out;
    if (parse_list_or_string(x, "vif", vifs, XLCFG_MAX_VIFS, &n, name, err, errlen) < 0)
        goto out;
    for (int i = 0; i < n; i++)
        if (parse_vif(vifs[i], &c->vifs[i], name, err, errlen) < 0)
            goto out;
    c->n_vifs = n;
    rc = 0;
out:
    if (x)
        xlu_cfg_destroy(x);
    fclose(report);
    free(msg);
    return rc;
}

int xlcfg_read(const char *path, struct xl_config *c, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0, cap = 0;
    FILE *f;
    int rc;

    f = fopen(path, "re");
    if (!f) {
        seterr(err, errlen, "cannot read config %s: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t r;

        if (cap - len < 4096) {
            char *nd;

            cap = cap ? cap * 2 : 8192;
            if (cap > 2 * 1024 * 1024 || !(nd = realloc(data, cap))) {
                seterr(err, errlen, "%s: config file too large", path);
                fclose(f);
                free(data);
                return -1;
            }
            data = nd;
        }
        r = fread(data + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        seterr(err, errlen, "cannot read config %s", path);
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    rc = xlcfg_parse(data, len, path, c, err, errlen);
    free(data);
    return rc;
}
