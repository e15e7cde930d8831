/* The device-state stream (docs/state-format.md): header (magic, format
 * version, total length, machine, device list), one length-prefixed section
 * per device, an end marker and a CRC32C trailer. Loading parses and
 * validates the WHOLE stream into staging copies and commits only when every
 * byte checked out: a bad stream never changes the running DM. */
#ifndef XSDM_MIGRATION_H
#define XSDM_MIGRATION_H

#include <stddef.h>
#include <stdint.h>

struct dm;
struct xsdm_config;

#define MIGRATION_MAGIC          "XSDMSTAT"     /* 8 bytes, no NUL */
#define MIGRATION_FORMAT_VERSION 1u
#define MIGRATION_END_MARKER     "XEND"         /* 4 bytes before the CRC */
#define MIGRATION_MAX_STREAM     (128 * 1024)   /* half of libxl's RLIMIT_FSIZE */
#define MIGRATION_HDR_FIXED      16             /* magic, version, total length */
#define MIGRATION_TRAILER        8              /* end marker, CRC32C */

/* CRC32C (Castagnoli), reflected, init/final xor 0xffffffff; pass 0 to start
 * and the previous result to continue. */
uint32_t migration_crc32c(uint32_t crc, const void *p, size_t len);

/* "xenfv" (with the Xen platform device) or "pc"; "none" without a config. */
const char *migration_machine_name(const struct xsdm_config *cfg);

/* Serialise the machine of cfg (cfg may be NULL: machine "none", no drives)
 * and every registered device into a malloc'd buffer. 0, or -1 with err. */
int migration_save_buf(const struct xsdm_config *cfg, uint8_t **buf_r, size_t *len_r,
                       char *err, size_t errlen);
/* Parse the whole stream into staging copies, validate everything (format,
 * machine, device set, every section, media), then commit and run each
 * device's post_load. 0, or -1 with a message naming the problem and no
 * live state touched. */
int migration_load_buf(const struct xsdm_config *cfg, const uint8_t *buf, size_t len,
                       char *err, size_t errlen);

/* fd helpers. write_all retries short writes and EINTR;
 * a failure (EFBIG, ENOSPC, EPIPE...) is reported, never fatal. read_all
 * reads to EOF, refusing more than MIGRATION_MAX_STREAM bytes. */
int migration_write_all(int fd, const uint8_t *buf, size_t len, char *err, size_t errlen);
int migration_read_all(int fd, uint8_t **buf_r, size_t *len_r, char *err, size_t errlen);

/* dm/state/migration-fd.c. The DM's own machine (dm_get()): save to / load from an fd the caller
 * owns (not closed). 0, or -1 with err. */
int migration_save_fd(int fd, char *err, size_t errlen);
int migration_load_fd(int fd, char *err, size_t errlen);

/* -incoming fd:M (dm/main.c, after machine_init, before QMP is served):
 * read and validate the whole stream, commit, and leave the machine
 * RUN_PAUSED (main calls dm_cont() without -S, as QEMU's autostart). The fd
 * is consumed (closed) whatever the outcome. 0, or -1 with err: the caller
 * exits non-zero without touching the domain. */
int migration_incoming(struct dm *d, int fd, char *err, size_t errlen);

#endif
