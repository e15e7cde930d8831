/* libFuzzer over the whole xenfv machine: built once in-process on a fake
 * accelerator (1 MiB of RAM, no sockets), reset before every input, then
 * the input is a sequence of guest operations against every device:
 *   byte 0 of each op: bits 0-2 kind, bits 3-4 width (1/2/4/8 bytes)
 *   0 PIO write  (port u16, value u32)     1 PIO read  (port u16)
 *   2 MMIO write (addr u32, value u64)     3 MMIO read (addr u32)
 *   4 config write (slot, fn, reg u8s, value u32)   5 config read
 *   6 RAM write (addr u20, 8 bytes): PRD tables and DMA buffers
 *   7 write to a port from a table of the machine's interesting ports;
 *     with width 8: a console pointer event instead (x u16, y u16, buttons
 *     u8), as the VNC server delivers it, so the PS/2 mouse sends packets
 * Devices: PCI config, i440FX, PIIX3 (PIRQ, RCR), PIIX3 IDE with a 1 MiB
 * raw disk and an empty CD-ROM, BMDMA, PIIX4 PM/SMBus/GPE, Xen platform,
 * UART on a null backend, i8042 with its PS/2 mouse, port 0x92.
 * FUZZ_DEVICES_WRITE_SEED=DIR writes the seed inputs and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/board/machine.h"
#include "dm/core/config.h"
#include "dm/core/loop.h"
#include "dm/display/display.h"
#include "dm/storage/ide-regs.h"
#include "tests/lib/fakemachine.h"
#include "tests/lib/fuzzinput.h"

#define RAM_SIZE (1u << 20)
#define IDE0(reg) (0x1f0 + (reg))          /* primary task file */
#define IDE1(reg) (0x170 + (reg))          /* secondary */
#define BMDMA     0xc100                   /* where the seeds map BAR4 */

static uint8_t ram[RAM_SIZE];
static struct xsdm_config cfg;
static struct fake_machine fm;
static struct loop *loop;

static const uint16_t ports[] = {
    IDE0(ATA_REG_DATA), IDE0(ATA_REG_ERROR), IDE0(ATA_REG_NSECTOR), IDE0(ATA_REG_LBA_LOW),
    IDE0(ATA_REG_LBA_MID), IDE0(ATA_REG_LBA_HIGH), IDE0(ATA_REG_DEVICE), IDE0(ATA_REG_STATUS), 0x3f6,
    IDE1(ATA_REG_DATA), IDE1(ATA_REG_ERROR), IDE1(ATA_REG_NSECTOR), IDE1(ATA_REG_LBA_LOW),
    IDE1(ATA_REG_LBA_MID), IDE1(ATA_REG_LBA_HIGH), IDE1(ATA_REG_DEVICE), IDE1(ATA_REG_STATUS), 0x376,
    BMDMA + BM_REG_CMD, BMDMA + BM_REG_STATUS, BMDMA + BM_REG_PRD,     /* when mapped there */
    BMDMA + BM_CHAN_SIZE + BM_REG_CMD, BMDMA + BM_CHAN_SIZE + BM_REG_STATUS, BMDMA + BM_CHAN_SIZE + BM_REG_PRD,
    0xcf8, 0xcf9, 0xcfc, 0xcfd, 0xcfe, 0xcff,
    0xb000, 0xb002, 0xb004, 0xb008, 0xb100, 0xb102, 0xafe0, 0xafe2, 0xae00, 0xaf00,
    0x10, 0x12, 0xc000, 0xc008,
    0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
    0x60, 0x64, 0x92,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seed = getenv("FUZZ_DEVICES_WRITE_SEED");

    if (seed) {
        write_seeds(seed);
        exit(0);
    }
    loop = loop_new();
    fake_machine_init(&fm, ram, RAM_SIZE);
    if (!loop || fake_machine_xenfv(&fm, &cfg, loop, true) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    unsigned ops = 0;

    fake_machine_reset(&fm);
    while (p < end && ops++ < 4096) {
        uint8_t op = *p++;
        unsigned size_log = (op >> 3) & 3, width = 1u << size_log;
        unsigned pio_width = width > 4 ? 4 : width;

        switch (op & 7) {
        case 0: {
            uint16_t port = (uint16_t)fuzz_get(&p, end, 2);
            io_write(&fm.m.bus, IO_PIO, port, fuzz_get(&p, end, 4), pio_width);
            break;
        }
        case 1:
            io_read(&fm.m.bus, IO_PIO, (uint16_t)fuzz_get(&p, end, 2), pio_width);
            break;
        case 2: {
            uint64_t a = fuzz_get(&p, end, 4);
            io_write(&fm.m.bus, IO_MMIO, a, fuzz_get(&p, end, 8), width);
            break;
        }
        case 3:
            io_read(&fm.m.bus, IO_MMIO, fuzz_get(&p, end, 4), width);
            break;
        case 4: {
            unsigned slot = (unsigned)fuzz_get(&p, end, 1) & 31, fn = (unsigned)fuzz_get(&p, end, 1) & 7;
            unsigned reg = (unsigned)fuzz_get(&p, end, 1);
            machine_pci_config_write(&fm.m, slot, fn, reg, (uint32_t)fuzz_get(&p, end, 4), pio_width);
            break;
        }
        case 5: {
            unsigned slot = (unsigned)fuzz_get(&p, end, 1) & 31, fn = (unsigned)fuzz_get(&p, end, 1) & 7;
            machine_pci_config_read(&fm.m, slot, fn, (unsigned)fuzz_get(&p, end, 1), pio_width);
            break;
        }
        case 6:
            fuzz_ram_write(ram, RAM_SIZE, &p, end);
            break;
        default: {
            if (width == 8) {
                struct input_sink in = machine_input(&fm.m);
                unsigned x = (unsigned)fuzz_get(&p, end, 2), y = (unsigned)fuzz_get(&p, end, 2);

                in.pointer(in.opaque, x, y, (unsigned)fuzz_get(&p, end, 1));
                break;
            }
            uint16_t port = ports[fuzz_get(&p, end, 1) % (sizeof(ports) / sizeof(ports[0]))];
            io_write(&fm.m.bus, IO_PIO, port, fuzz_get(&p, end, 4), pio_width);
            break;
        }
        }
    }
    /* Let pending backend work (if any) run without blocking. */
    loop_once(loop, 0);
    return 0;
}

/* ---- seeds ----------------------------------------------------------------- */

static void pio_w(struct fuzz_seed *s, unsigned width_log, uint16_t port, uint32_t v)
{
    fuzz_seed_put(s, 0 | width_log << 3, 1);
    fuzz_seed_put(s, port, 2);
    fuzz_seed_put(s, v, 4);
}

static void cfg_w(struct fuzz_seed *s, unsigned width_log, unsigned slot, unsigned fn, unsigned reg, uint32_t v)
{
    fuzz_seed_put(s, 4 | width_log << 3, 1);
    fuzz_seed_put(s, slot, 1);
    fuzz_seed_put(s, fn, 1);
    fuzz_seed_put(s, reg, 1);
    fuzz_seed_put(s, v, 4);
}

static void write_seeds(const char *dir)
{
    struct fuzz_seed s = { .n = 0 };

    /* hvmloader-like setup: BARs, command, PIRQ, PM base. */
    cfg_w(&s, 2, 2, 0, 0x10, 0xc001);
    cfg_w(&s, 2, 2, 0, 0x14, 0xf0000000);
    cfg_w(&s, 2, 1, 1, 0x20, 0xc101);
    cfg_w(&s, 1, 1, 1, 0x04, 0x0005);
    cfg_w(&s, 2, 1, 0, 0x60, 0x050b0a05);
    cfg_w(&s, 2, 1, 3, 0x40, 0xb001);
    cfg_w(&s, 0, 1, 3, 0x80, 0x01);
    fuzz_seed_save(dir, "setup", &s);

    /* + ATA IDENTIFY and a PIO read of the data port. */
    pio_w(&s, 0, IDE0(ATA_REG_DEVICE), DEV_OBS);
    pio_w(&s, 0, IDE0(ATA_REG_COMMAND), ATA_CMD_IDENTIFY);
    for (int i = 0; i < 8; i++) {
        fuzz_seed_put(&s, 1 | 1 << 3, 1);
        fuzz_seed_put(&s, IDE0(ATA_REG_DATA), 2);
    }
    fuzz_seed_save(dir, "identify", &s);

    /* + a DMA read: PRD at 0x1000 -> 512 bytes at 0x2000, READ DMA LBA 0. */
    fuzz_seed_put(&s, 6, 1);
    fuzz_seed_put(&s, 0x1000, 3);
    fuzz_seed_put(&s, 0x2000ULL | ((uint64_t)PRD_EOT << 56) | (0x200ULL << 32), 8);
    pio_w(&s, 2, BMDMA + BM_REG_PRD, 0x1000);
    pio_w(&s, 0, IDE0(ATA_REG_NSECTOR), 1);
    pio_w(&s, 0, IDE0(ATA_REG_LBA_LOW), 0);
    pio_w(&s, 0, IDE0(ATA_REG_DEVICE), DEV_OBS | DEV_LBA);
    pio_w(&s, 0, IDE0(ATA_REG_COMMAND), ATA_CMD_READ_DMA);
    pio_w(&s, 0, BMDMA + BM_REG_CMD, BM_CMD_READ | BM_CMD_START);
    fuzz_seed_save(dir, "dma-read", &s);

    /* ATAPI on the secondary master: PACKET + TEST UNIT READY. */
    s.n = 0;
    pio_w(&s, 0, IDE1(ATA_REG_DEVICE), DEV_OBS);
    pio_w(&s, 0, IDE1(ATA_REG_COMMAND), ATA_CMD_PACKET);
    for (int i = 0; i < ATAPI_CMD_LEN / 2; i++)
        pio_w(&s, 1, IDE1(ATA_REG_DATA), ATAPI_TEST_UNIT_READY);
    fuzz_seed_save(dir, "atapi", &s);

    /* UART loopback, i8042 self-test, PM poweroff, platform unplug, reset. */
    s.n = 0;
    pio_w(&s, 0, 0x3fc, 0x10);
    pio_w(&s, 0, 0x3f9, 0x0f);
    pio_w(&s, 0, 0x3f8, 'x');
    fuzz_seed_put(&s, 1, 1);
    fuzz_seed_put(&s, 0x3f8, 2);
    pio_w(&s, 0, 0x64, 0xaa);
    fuzz_seed_put(&s, 1, 1);
    fuzz_seed_put(&s, 0x60, 2);
    pio_w(&s, 1, 0x10, 0x0001);
    cfg_w(&s, 2, 1, 3, 0x40, 0xb001);
    cfg_w(&s, 0, 1, 3, 0x80, 0x01);
    pio_w(&s, 1, 0xb004, 0x2001);
    pio_w(&s, 0, 0xcf9, 0x06);
    fuzz_seed_save(dir, "misc", &s);

    /* The mouse as Linux sets it up (reset, IntelliMouse knock, enable),
     * pointer events, reads of its packets, then aux traffic beyond. */
    s.n = 0;
    static const uint8_t mouse_cmds[] = { 0xff, 0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf2, 0xe8, 3, 0xf4 };
    for (size_t i = 0; i < sizeof(mouse_cmds); i++) {
        pio_w(&s, 0, 0x64, 0xd4);
        pio_w(&s, 0, 0x60, mouse_cmds[i]);
    }
    for (int i = 0; i < 3; i++) {
        fuzz_seed_put(&s, 7 | 3 << 3, 1);
        fuzz_seed_put(&s, 100 + 40 * i, 2);
        fuzz_seed_put(&s, 100 - 7 * i, 2);
        fuzz_seed_put(&s, i == 1 ? 0x01 : 0x10, 1);
    }
    for (int i = 0; i < 12; i++) {
        fuzz_seed_put(&s, 1, 1);
        fuzz_seed_put(&s, 0x60, 2);
    }
    pio_w(&s, 0, 0x64, 0xd4);
    pio_w(&s, 0, 0x60, 0xe9);
    pio_w(&s, 0, 0x64, 0xd4);
    pio_w(&s, 0, 0x60, 0xf0);
    pio_w(&s, 0, 0x64, 0xd4);
    pio_w(&s, 0, 0x60, 0xeb);
    pio_w(&s, 0, 0x64, 0xa7);
    fuzz_seed_save(dir, "mouse", &s);
}
