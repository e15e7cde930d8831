/* Our own libqtest: start build/xsdm on the qtest accelerator the way
 * libxl starts a DM (QMP listening socket pre-opened and inherited as
 * fd=N), accept its qtest connection, and drive the guest side with QEMU's
 * qtest text protocol. */
#ifndef XSDM_LIBQTEST_H
#define XSDM_LIBQTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct qmpc;

struct qtest_opts {
    const char *dm;            /* binary; NULL = BUILD_DIR "/xsdm" (or $XSDM_DM) */
    const char *const *args;   /* extra argv entries (NULL-terminated), appended after the base argv */
    int ram_mb;                /* -m; 0 = 64 */
    bool no_base;              /* don't add the base argv (-S, QMP chardev/mon, -m, -machine xenfv, -nodefaults ...) */
    bool paused;               /* add -S (default false: running as soon as served) */
    int extra_fd;              /* an fd to inherit as is (e.g. -incoming fd:M), -1 = none */
    const char *log_path;      /* DM stderr goes here (O_APPEND); NULL = a temp file */
};

struct qtest;

/* NULL with a message on stderr if the DM did not start or connect.
 * Returns as soon as the DM connected (during accelerator init), before
 * it built the machine and opened its backends: the first guest-side
 * exchange or QMP greeting is what proves the DM is up and serving. */
struct qtest *qtest_start(const struct qtest_opts *o);
/* SIGTERM (then SIGKILL after a bound), reap; returns the wait status. */
int qtest_quit(struct qtest *s);
/* Wait for the DM to exit by itself; returns the wait status, -1 on timeout. */
int qtest_wait_exit(struct qtest *s, int timeout_ms);
pid_t qtest_pid(const struct qtest *s);
const char *qtest_log_path(const struct qtest *s);
/* A fresh negotiated QMP connection (caller closes). */
struct qmpc *qtest_qmp(struct qtest *s);

/* Guest side. A failed exchange aborts the test (it is a harness bug or a DM crash). */
void qtest_outb(struct qtest *s, uint16_t port, uint8_t v);
void qtest_outw(struct qtest *s, uint16_t port, uint16_t v);
void qtest_outl(struct qtest *s, uint16_t port, uint32_t v);
uint8_t qtest_inb(struct qtest *s, uint16_t port);
uint16_t qtest_inw(struct qtest *s, uint16_t port);
uint32_t qtest_inl(struct qtest *s, uint16_t port);
void qtest_writeb(struct qtest *s, uint64_t addr, uint8_t v);
void qtest_writel(struct qtest *s, uint64_t addr, uint32_t v);
void qtest_writeq(struct qtest *s, uint64_t addr, uint64_t v);
uint8_t qtest_readb(struct qtest *s, uint64_t addr);
uint32_t qtest_readl(struct qtest *s, uint64_t addr);
uint64_t qtest_readq(struct qtest *s, uint64_t addr);
void qtest_memread(struct qtest *s, uint64_t addr, void *buf, size_t len);
void qtest_memwrite(struct qtest *s, uint64_t addr, const void *buf, size_t len);
void qtest_memset(struct qtest *s, uint64_t addr, uint8_t v, size_t len);
void qtest_clock_step(struct qtest *s, int64_t ns);
void qtest_irq_intercept_in(struct qtest *s, const char *qom_path);
/* Current level of ISA IRQ n as reported by IRQ raise/lower lines so far. */
bool qtest_get_irq(struct qtest *s, int n);
/* Send one raw line, return the raw reply line (static buffer): for protocol tests. */
const char *qtest_raw(struct qtest *s, const char *line);

/* PCI config through 0xcf8/0xcfc. */
uint32_t qtest_pci_cfg_readl(struct qtest *s, unsigned slot, unsigned fn, unsigned reg);
uint16_t qtest_pci_cfg_readw(struct qtest *s, unsigned slot, unsigned fn, unsigned reg);
uint8_t qtest_pci_cfg_readb(struct qtest *s, unsigned slot, unsigned fn, unsigned reg);
void qtest_pci_cfg_writel(struct qtest *s, unsigned slot, unsigned fn, unsigned reg, uint32_t v);
void qtest_pci_cfg_writew(struct qtest *s, unsigned slot, unsigned fn, unsigned reg, uint16_t v);
void qtest_pci_cfg_writeb(struct qtest *s, unsigned slot, unsigned fn, unsigned reg, uint8_t v);

#endif
