/* The xl.cfg subset xsdmctl understands, parsed with Xen's own libxlutil
 * (xlu_cfg_*, xlu_disk_parse). Any other key is an error naming it. */
#ifndef XSDMCTL_CONFIG_H
#define XSDMCTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define XLCFG_MAX_DISKS   4     /* hda..hdd */
#define XLCFG_MAX_SERIALS 4
#define XLCFG_MAX_VIFS    4
#define XLCFG_STR         64
#define XLCFG_PATH        512

struct xl_disk {
    char vdev[16];            /* hda..hdd */
    char target[XLCFG_PATH];  /* "" = empty CD-ROM */
    char format[16];          /* libxl's qemu format string: raw */
    bool cdrom;
    bool rw;
    int index;                /* 0..3 (hda..hdd) */
    int devnum;               /* libxl__device_disk_dev_number: hda 768 ... hdc 5632 */
};

struct xl_vif {
    char mac[18];
    char bridge[XLCFG_STR];
    char model[XLCFG_STR];
};

/* vnc=1 with xl's keys. xsdmctl binds the socket and passes it by fd. */
struct xl_vnc {
    bool enabled;             /* vnc (default 0 here; xl's default is 1) */
    char listen[XLCFG_STR];   /* vnclisten: numeric IPv4, or IPv6 in [brackets]; default 127.0.0.1 */
    int display;              /* vncdisplay, or the ":D" of vnclisten; default 0 */
    bool findunused;          /* vncunused (default 1; 0 once a display is given, as xl) */
    char passwd[XLCFG_STR];   /* vncpasswd; "" = no password */
};

struct xl_config {
    char name[XLCFG_STR];
    long memory_mb;
    int vcpus;
    char boot[16];
    bool dm_restrict;
    char dm_user[XLCFG_STR];
    char vga[16];             /* cirrus (default), stdvga, none */
    long videoram_mb;
    struct xl_vnc vnc;
    char serials[XLCFG_MAX_SERIALS][XLCFG_STR];
    int n_serials;
    struct xl_disk disks[XLCFG_MAX_DISKS];
    int n_disks;
    struct xl_vif vifs[XLCFG_MAX_VIFS];
    int n_vifs;
};

/* 0, or -1 with one line in err naming the file, key and problem. */
int xlcfg_read(const char *path, struct xl_config *c, char *err, size_t errlen);
int xlcfg_parse(const char *data, size_t len, const char *name, struct xl_config *c, char *err, size_t errlen);

/* hda..hdd -> disk index and libxl's device number; -1 if not an IDE vdev. */
int xlcfg_vdev_index(const char *vdev, int *devnum);

#endif
