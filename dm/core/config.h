/* What the command line asks for, after parsing and before anything is
 * opened. dm/core/cli.c fills it from the qemu-xen argv libxl builds
 * (docs/libxl-compat.md §1.3); nothing here touches the system. */
#ifndef XSDM_CONFIG_H
#define XSDM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CFG_MAX_CHARDEVS 8
#define CFG_MAX_MONITORS 4
#define CFG_MAX_SERIALS  4
#define CFG_MAX_DRIVES   4     /* IDE: primary/secondary x master/slave */
#define CFG_ID_MAX       64
#define CFG_PATH_MAX     512
#define CFG_MAX_NICS     4     /* emulated NICs (PCI slots after the machine's own) */
#define CFG_IFNAME_MAX   16    /* IFNAMSIZ */

enum accel_kind { ACCEL_NONE, ACCEL_XEN, ACCEL_QTEST };
enum sandbox_mode { SANDBOX_ON, SANDBOX_LOG, SANDBOX_OFF };

enum chardev_kind {
    CHARDEV_SOCKET,        /* unix socket: path or inherited fd, server or client */
    CHARDEV_PTY,
    CHARDEV_FILE,
    CHARDEV_NULL,
};

struct chardev_spec {
    char id[CFG_ID_MAX];
    enum chardev_kind kind;
    char path[CFG_PATH_MAX];   /* socket path or file path; "" if none */
    int fd;                    /* inherited fd (socket,fd=N), else -1 */
    bool server;               /* server=on */
    bool wait;                 /* wait=on (we never block: refused at parse) */
    bool append;               /* file: append=on */
};

struct monitor_spec {
    char chardev[CFG_ID_MAX];  /* -mon chardev=ID */
    bool control;              /* mode=control (readline mode is refused) */
};

/* -serial VALUE: pty | file:PATH | null | chardev:ID | none */
struct serial_spec {
    char chardev[CFG_ID_MAX];  /* id of the chardev it uses (implicit ones get "serialN") */
};

enum drive_media { MEDIA_DISK, MEDIA_CDROM };

struct drive_spec {
    char id[CFG_ID_MAX];       /* "ide-5632" for libxl CD-ROMs, "ide0-hd0" style otherwise */
    char file[CFG_PATH_MAX];   /* "" = no medium (empty CD-ROM) */
    enum drive_media media;
    bool readonly;
    int bus, unit;             /* ide.B, unit U: index = bus*2+unit */
    bool present;
};

/* -vnc: "none", "<host>:<display>[,password=on][,to=N]" as libxl builds it,
 * or "fd=N[,password=on]": a listening socket the toolstack bound. */
#define CFG_VNC_HOST_MAX 64
#define CFG_VNC_MAX_DISPLAY (65535 - 5900)
struct vnc_spec {
    bool enabled;
    char host[CFG_VNC_HOST_MAX];   /* numeric IPv4/IPv6 address; "" = every address */
    int display;                   /* port 5900 + display */
    int to;                        /* last display tried when the port is taken (to=); = display if absent */
    bool password;                 /* password=on: VNC authentication, password set by QMP */
    int fd;                        /* fd=N: inherited listening socket, else -1 */
};

/* -netdev tap,id=ID,(ifname=NAME|fd=N)[,br=..,script=no,downscript=no] */
struct netdev_spec {
    char id[CFG_ID_MAX];
    char ifname[CFG_IFNAME_MAX];  /* libxl's form: create/attach this tap (root, before restriction) */
    char bridge[CFG_ID_MAX];      /* br=: recorded only; libxl's hotplug script enslaves the tap */
    int fd;                       /* an inherited tap fd, else -1 */
};

enum nic_model { NIC_RTL8139, NIC_E1000 };

/* -device rtl8139|e1000,id=ID,netdev=NETDEV,mac=MAC */
struct nic_spec {
    char id[CFG_ID_MAX];
    char netdev[CFG_ID_MAX];
    enum nic_model model;
    uint8_t mac[6];
};

struct xsdm_config {
    enum accel_kind accel;
    bool probe;                    /* -machine none: the Xen-master capability probe */
    int domid;                     /* -xen-domid; -1 if absent */
    bool domid_restrict;           /* -xen-domid-restrict */
    bool start_paused;             /* -S */
    bool no_shutdown;              /* -no-shutdown */
    char name[CFG_ID_MAX];         /* -name */
    uint64_t ram_mb;               /* -m */
    int smp, maxcpus;              /* -smp N,maxcpus=M */
    char boot_order[16];           /* -boot order= (letters a-p; dm/board/pc-cmos.c takes a b c d, refuses n) */
    bool acpi;                     /* false with -no-acpi */
    bool xen_platform;             /* -machine xenfv (true) or pc,accel=xen (false) */
    uint64_t max_ram_below_4g;     /* -machine ...,max-ram-below-4g= (0 = default) */

    char qtest_path[CFG_PATH_MAX]; /* -qtest unix:PATH (we connect as a client) */
    char qtest_vram[CFG_PATH_MAX]; /* -accel qtest,vram=FILE: the VGA's VRAM as guest memory kept in FILE */

    char chroot_dir[CFG_PATH_MAX]; /* -chroot DIR / -run-with chroot=DIR */
    char runas[CFG_ID_MAX * 2];    /* -runas U / -run-with user=U, unresolved */
    bool have_runas;
    enum sandbox_mode sandbox;     /* -sandbox on|log|off (default on) */
    bool confine;                  /* -confine on|off (default on): without -chroot/-runas,
                                    * xsdm picks the per-domid user and an empty root itself */

    int incoming_fd;               /* -incoming fd:M, else -1 */

    struct vnc_spec vnc;           /* -vnc */
    bool display_device;           /* a graphics device that fills a display: the stdvga */
    unsigned vga_vram_mb;          /* its VRAM: vgamem_mb= (default 16 for VGA, 8 for cirrus-vga) */
    bool vga_was_cirrus;           /* -device cirrus-vga, served as stdvga (docs/xen.md) */

    struct chardev_spec chardevs[CFG_MAX_CHARDEVS];
    int n_chardevs;
    struct monitor_spec monitors[CFG_MAX_MONITORS];
    int n_monitors;
    struct serial_spec serials[CFG_MAX_SERIALS];
    int n_serials;
    struct drive_spec drives[CFG_MAX_DRIVES];  /* indexed by bus*2+unit */
    struct netdev_spec netdevs[CFG_MAX_NICS];
    int n_netdevs;
    struct nic_spec nics[CFG_MAX_NICS];        /* in command-line order = PCI slot order */
    int n_nics;
};

/* Parse argv into cfg. Returns 0, or -1 after writing one line naming the
 * offending option (and what to configure instead) into err. */
int cli_parse(int argc, char **argv, struct xsdm_config *cfg, char *err, size_t errlen);
void cli_defaults(struct xsdm_config *cfg);
/* Parse one -vnc value into spec; 0, or -1 with err set. cli_parse()
 * uses it, and refuses an enabled VNC without a display device. */
int cli_parse_vnc(const char *arg, struct vnc_spec *spec, char *err, size_t errlen);
const struct chardev_spec *cli_find_chardev(const struct xsdm_config *cfg, const char *id);
const struct netdev_spec *cli_find_netdev(const struct xsdm_config *cfg, const char *id);

/* -device VGA,vgamem_mb=: the VRAM the standard VGA gets (dm/devices/vga.c). */
#define VGA_VRAM_DEFAULT_MB 16         /* qemu-xen's -device VGA default */
#define VGA_VRAM_MIN_MB     1
#define VGA_VRAM_MAX_MB     256

/* The VRAM bytes the VGA gets for cfg: vgamem_mb rounded up to a power of
 * two (its BAR size); 0 without a display device. */
static inline uint64_t cfg_vga_vram_bytes(const struct xsdm_config *cfg)
{
    uint64_t want, p = 1;

    if (!cfg->display_device)
        return 0;
    want = (uint64_t)(cfg->vga_vram_mb ? cfg->vga_vram_mb : VGA_VRAM_DEFAULT_MB) << 20;
    while (p < want)
        p <<= 1;
    return p;
}

#endif
