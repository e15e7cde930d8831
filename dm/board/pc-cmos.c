/* What the PC firmware reads from CMOS RAM (board code: the layout, not the
 * device; dm/devices/cmos.c is the RAM). qemu-xen's xenfv machine fills these
 * bytes and SeaBIOS reads them; xsdm fills the same ones with the same
 * values for the same command line, so the guest boots the same way:
 *  - the boot order (-boot order=, libxl's boot=, default "cda"): one
 *    nibble per device in 0x3d (first, second) and 0x38 (third), where
 *    SeaBIOS looks on emulators (floppy 1, hard disk 2, CD-ROM 3, network 4);
 *  - memory sizes, split below/above 4 GiB as qemu-xen's Xen RAM layout
 *    does (below-4G RAM ends at 0xf0000000 or max-ram-below-4g, if lower);
 *  - the equipment byte, floppy and hard disk types, each disk's geometry
 *    and its BIOS translation (what SeaBIOS uses for CHS int 13h calls);
 *  - the century (BCD, also read at 0x37) and the vCPU count.
 * Hard disks are IDE primary master/slave only (the CMOS has two slots);
 * the translation byte covers all four IDE positions. Reset rewrites the
 * disk and equipment bytes, as qemu-xen's reset handler does. */
#include <string.h>
#include <time.h>

#include "dm/board/machine.h"
#include "dm/core/config.h"
#include "dm/core/log.h"
#include "dm/devices/cmos.h"
#include "dm/storage/hd-geometry.h"
#include "dm/storage/ide.h"

/* Byte offsets (the Bochs/QEMU "PC CMOS" layout) */
#define CMOS_FLOPPY_TYPES   0x10    /* drive 0 << 4 | drive 1; 0 = none */
#define CMOS_HD_TYPES       0x12    /* 0xf0: hd0 is type 47 (see 0x19), 0x0f: hd1 */
#define CMOS_EQUIPMENT      0x14
#define CMOS_BASE_MEM       0x15    /* u16 LE: KiB below 1 MiB (at most 640) */
#define CMOS_EXT_MEM        0x17    /* u16 LE: KiB above 1 MiB (at most 65535) */
#define CMOS_HD0_TYPE       0x19
#define CMOS_HD1_TYPE       0x1a
#define CMOS_HD0_PARAMS     0x1b    /* 9 bytes each, see put_hd_params() */
#define CMOS_HD1_PARAMS     0x24
#define CMOS_EXT_MEM2       0x30    /* u16 LE: copy of 0x17 */
#define CMOS_MEM_16M        0x34    /* u16 LE: 64 KiB units from 16 MiB to 4 GiB */
#define CMOS_BOOT_FLAG1     0x38    /* third boot device << 4 | 1 to skip the floppy signature check */
#define CMOS_DISK_TRANS     0x39    /* 2 bits per IDE position (enum hd_trans) */
#define CMOS_BOOT_FLAG2     0x3d    /* second boot device << 4 | first */
#define CMOS_MEM_4G         0x5b    /* 24-bit LE: 64 KiB units above 4 GiB */
#define CMOS_NR_CPUS        0x5f    /* vCPUs - 1 (0 when that does not fit) */

#define EQUIP_FPU           0x02
#define EQUIP_PS2_MOUSE     0x04
#define HD_TYPE_USER        47      /* geometry in the parameter block */
#define HD_CTRL_BASE        0xc0    /* no retries (BIOS), | 0x08 for more than 8 heads */
#define HD_CTRL_MANY_HEADS  0x08

#define BOOT_MAX_DEVICES    3       /* nibbles the layout has room for */
#define XEN_BELOW_4G_END    0xf0000000ull

#define KiB 1024ull
#define MiB (1024ull * 1024)

/* -boot order= letters for the PC: the nibble SeaBIOS reads, or why not. */
static const struct boot_device {
    char letter;
    uint8_t nibble;
    const char *refused;
} boot_devices[] = {
    { 'a', 1, NULL },   /* floppy (none is emulated: the firmware skips it) */
    { 'b', 1, NULL },
    { 'c', 2, NULL },   /* first hard disk */
    { 'd', 3, NULL },   /* CD-ROM */
    { 'n', 4, "network boot needs a NIC with a boot ROM, and xsdm's NICs (rtl8139, e1000) have none: "
              "use boot=\"c\" or boot=\"d\"" },
};

static const struct boot_device *boot_device(char letter)
{
    size_t i;

    for (i = 0; i < sizeof(boot_devices) / sizeof(boot_devices[0]); i++)
        if (boot_devices[i].letter == letter)
            return &boot_devices[i];
    return NULL;
}

static void put_u16(struct cmos *c, unsigned off, uint64_t v)
{
    if (v > 0xffff)
        v = 0xffff;
    cmos_set(c, off, (uint8_t)v);
    cmos_set(c, off + 1, (uint8_t)(v >> 8));
}

static uint8_t bcd(unsigned v)
{
    return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

/* The boot order's nibbles; -1 (logged) for an order the firmware cannot take. */
static int put_boot_order(struct cmos *c, const char *order)
{
    uint8_t nib[BOOT_MAX_DEVICES] = { 0 };
    size_t n = strlen(order), i;

    if (n == 0 || n > BOOT_MAX_DEVICES) {
        log_err("-boot order=%s: the PC firmware takes 1 to %d boot devices", order, BOOT_MAX_DEVICES);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const struct boot_device *b = boot_device(order[i]);

        if (!b) {
            log_err("-boot order=%s: '%c' is not a PC boot device (a, b: floppy; c: disk; d: CD-ROM; n: network)",
                    order, order[i]);
            return -1;
        }
        if (b->refused) {
            log_err("-boot order=%s: %s", order, b->refused);
            return -1;
        }
        if (memchr(order, order[i], i)) {
            log_err("-boot order=%s: boot device '%c' given twice", order, order[i]);
            return -1;
        }
        nib[i] = b->nibble;
    }
    cmos_set(c, CMOS_BOOT_FLAG2, (uint8_t)(nib[1] << 4 | nib[0]));
    /* low bit clear: SeaBIOS checks a floppy's boot signature (QEMU's default) */
    cmos_set(c, CMOS_BOOT_FLAG1, (uint8_t)(nib[2] << 4));
    return 0;
}

static void put_memory(struct cmos *c, const struct xsdm_config *cfg)
{
    uint64_t ram = cfg->ram_mb * MiB, lowmem = XEN_BELOW_4G_END, below, above;

    if (cfg->max_ram_below_4g && cfg->max_ram_below_4g < lowmem)
        lowmem = cfg->max_ram_below_4g;
    below = ram >= lowmem ? lowmem : ram;
    above = ram - below;
    put_u16(c, CMOS_BASE_MEM, below / KiB < 640 ? below / KiB : 640);
    put_u16(c, CMOS_EXT_MEM, below > MiB ? (below - MiB) / KiB : 0);
    put_u16(c, CMOS_EXT_MEM2, below > MiB ? (below - MiB) / KiB : 0);
    put_u16(c, CMOS_MEM_16M, below > 16 * MiB ? (below - 16 * MiB) / (64 * KiB) : 0);
    cmos_set(c, CMOS_MEM_4G, (uint8_t)(above / (64 * KiB)));
    cmos_set(c, CMOS_MEM_4G + 1, (uint8_t)(above / (64 * KiB) >> 8));
    cmos_set(c, CMOS_MEM_4G + 2, (uint8_t)(above / (64 * KiB) >> 16));
}

/* Parameter block of a type-47 disk: cylinders, heads, write precompensation
 * (none), control byte, landing zone (= cylinders), sectors per track. */
static void put_hd_params(struct cmos *c, unsigned off, const struct hd_geometry *g)
{
    put_u16(c, off, g->cyls);
    cmos_set(c, off + 2, (uint8_t)g->heads);
    put_u16(c, off + 3, 0xffff);
    cmos_set(c, off + 5, (uint8_t)(HD_CTRL_BASE | (g->heads > 8 ? HD_CTRL_MANY_HEADS : 0)));
    put_u16(c, off + 6, g->cyls);
    cmos_set(c, off + 8, (uint8_t)g->spt);
}

/* Disks, floppies, equipment: what qemu-xen recomputes at every reset. */
static void put_drives(struct machine *m)
{
    static const struct { unsigned type_off, params_off; uint8_t type_bits; } slot[2] = {
        { CMOS_HD0_TYPE, CMOS_HD0_PARAMS, 0xf0 },
        { CMOS_HD1_TYPE, CMOS_HD1_PARAMS, 0x0f },
    };
    struct hd_geometry g;
    uint8_t types = 0, trans = 0;
    int i;

    for (i = 0; i < CFG_MAX_DRIVES; i++) {
        if (ide_ctrl_disk_geometry(m->ide, i, &g) < 0)
            continue;
        trans |= (uint8_t)((g.trans & 3) << (2 * i));
        if (i < 2) {
            types |= slot[i].type_bits;
            cmos_set(m->cmos, slot[i].type_off, HD_TYPE_USER);
            put_hd_params(m->cmos, slot[i].params_off, &g);
        }
    }
    cmos_set(m->cmos, CMOS_HD_TYPES, types);
    cmos_set(m->cmos, CMOS_DISK_TRANS, trans);
    cmos_set(m->cmos, CMOS_FLOPPY_TYPES, 0);     /* no floppy controller */
    cmos_set(m->cmos, CMOS_EQUIPMENT, EQUIP_FPU | EQUIP_PS2_MOUSE);
}

int pc_cmos_init(struct machine *m)
{
    const struct xsdm_config *cfg = m->cfg;
    time_t now = time(NULL);
    struct tm tm;

    if (put_boot_order(m->cmos, cfg->boot_order) < 0)
        return -1;
    put_memory(m->cmos, cfg);
    cmos_set(m->cmos, CMOS_NR_CPUS, (uint8_t)(cfg->smp >= 1 && cfg->smp <= 256 ? cfg->smp - 1 : 0));
    if (gmtime_r(&now, &tm))
        cmos_set(m->cmos, CMOS_CENTURY, bcd((unsigned)(tm.tm_year + 1900) / 100));
    put_drives(m);
    return 0;
}

void pc_cmos_reset(struct machine *m)
{
    if (m->cmos)
        put_drives(m);
}
