/* Order of emission is libxl's (the table in libxl-compat.md §1.3). */
#include "toolstack/dmargs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/core/errmsg.h"

static int add(struct dm_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(struct dm_args *a, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int r;

    if (a->argc >= DMARGS_MAX)
        return -1;
    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -1;
    a->argv[a->argc++] = s;
    a->argv[a->argc] = NULL;
    return 0;
}

static int add_vnc(struct dm_args *a, const struct xl_config *c, const struct dm_args_in *in)
{
    const struct xl_vnc *v = &c->vnc;
    const char *pw = v->passwd[0] ? ",password=on" : "";
    bool v6 = strchr(v->listen, ':') != NULL;

    if (!v->enabled)
        return add(a, "-vnc") | add(a, "none");
    if (in->vnc_fd >= 0)
        return add(a, "-vnc") | add(a, "fd=%d%s", in->vnc_fd, pw);
    return add(a, "-vnc") | add(a, "%s%s%s:%d%s%s", v6 ? "[" : "", v->listen, v6 ? "]" : "", v->display, pw,
                                v->findunused ? ",to=99" : "");
}

void dm_args_free(struct dm_args *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    memset(a, 0, sizeof(*a));
}

int dm_args_build(const struct xl_config *c, const struct dm_args_in *in, struct dm_args *a,
                  char *err, size_t errlen)
{
    int r = 0;

    memset(a, 0, sizeof(*a));
    r |= add(a, "%s", in->dm_path);
    r |= add(a, "-xen-domid") | add(a, "%d", in->domid);
    r |= add(a, "-no-shutdown");
    /* dm_restrict: fd-passed QMP socket, then -S */
    r |= add(a, "-chardev") | add(a, "socket,id=libxl-cmd,fd=%d,server=on,wait=off", in->qmp_fd);
    r |= add(a, "-S");
    r |= add(a, "-mon") | add(a, "chardev=libxl-cmd,mode=control");
    r |= add(a, "-chardev") |
         add(a, "socket,id=libxenstat-cmd,path=%s/qmp-libxenstat-%d,server=on,wait=off", in->run_dir, in->domid);
    r |= add(a, "-mon") | add(a, "chardev=libxenstat-cmd,mode=control");
    r |= add(a, "-nodefaults");
    r |= add(a, "-no-user-config");
    r |= add(a, "-name") | add(a, "%s", c->name);
    r |= add_vnc(a, c, in);
    r |= add(a, "-display") | add(a, "none");
    for (int i = 0; i < c->n_serials; i++)
        r |= add(a, "-serial") | add(a, "%s", c->serials[i]);
    if (!strcmp(c->vga, "cirrus"))
        r |= add(a, "-device") | add(a, "cirrus-vga,vgamem_mb=%ld", c->videoram_mb);
    else if (!strcmp(c->vga, "stdvga"))
        r |= add(a, "-device") | add(a, "VGA,vgamem_mb=%ld", c->videoram_mb);
    r |= add(a, "-boot") | add(a, "order=%s", c->boot);
    if (c->vcpus > 1)
        r |= add(a, "-smp") | add(a, "%d,maxcpus=%d", c->vcpus, c->vcpus);
    for (int i = 0; i < c->n_vifs; i++) {
        r |= add(a, "-device") | add(a, "%s,id=nic%d,netdev=net%d,mac=%s", c->vifs[i].model, i, i, c->vifs[i].mac);
        if (in->tap_fd_at > 0)
            r |= add(a, "-netdev") | add(a, "type=tap,id=net%d,fd=%d", i, in->tap_fd_at + i);
        else
            r |= add(a, "-netdev") |
                 add(a, "type=tap,id=net%d,ifname=vif%d.%d-emu,br=%s,script=no,downscript=no",
                     i, in->domid, i, c->vifs[i].bridge);
    }
    if (!c->n_vifs)
        r |= add(a, "-net") | add(a, "none");
    if (c->dm_restrict) {
        r |= add(a, "-xen-domid-restrict");
        r |= add(a, "-chroot") | add(a, "%s/qemu-root-%d", in->run_dir, in->domid);
    }
    if (in->incoming_fd >= 0)
        r |= add(a, "-incoming") | add(a, "fd:%d", in->incoming_fd);
    for (int i = 0; in->extra && in->extra[i]; i++)
        r |= add(a, "%s", in->extra[i]);
    r |= add(a, "-machine") | add(a, "xenfv,suppress-vmdesc=on");
    r |= add(a, "-m") | add(a, "%ld", c->memory_mb - c->videoram_mb);
    for (int i = 0; i < c->n_disks; i++) {
        const struct xl_disk *d = &c->disks[i];

        if (d->cdrom) {
            if (d->target[0])
                r |= add(a, "-drive") |
                     add(a, "if=none,readonly=on,id=ide-%d,file=%s,format=%s", d->devnum, d->target, d->format);
            else
                r |= add(a, "-drive") | add(a, "if=none,readonly=on,id=ide-%d", d->devnum);
            r |= add(a, "-device") |
                 add(a, "ide-cd,id=ide-%d,drive=ide-%d,bus=ide.%d,unit=%d", d->devnum, d->devnum,
                     d->index / 2, d->index % 2);
        } else {
            r |= add(a, "-drive") |
                 add(a, "file=%s,if=ide,index=%d,media=disk,format=%s,cache=writeback", d->target, d->index, d->format);
        }
    }
    if (in->runas)
        r |= add(a, "-runas") | add(a, "%s", in->runas);
    if (in->qtest_path) {
        r |= add(a, "-accel") | add(a, "qtest");
        r |= add(a, "-qtest") | add(a, "unix:%s", in->qtest_path);
    }
    if (r) {
        seterr(err, errlen, "device model command line too long");
        dm_args_free(a);
        return -1;
    }
    return 0;
}
