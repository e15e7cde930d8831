/* The IDE protocol by name: ATA task-file registers and their bits (ATA/
 * ATAPI-6), ATA opcodes, the ATAPI (MMC) packet opcodes, sense data, and
 * the bus-master IDE registers (SFF-8038i). Shared by the device code
 * (dm/storage/ide.c, ata.c, atapi.c, bmdma.c) and the tests and fuzzers that speak
 * the protocol to it. Numbers only: no types, no functions. */
#ifndef XSDM_IDE_REGS_H
#define XSDM_IDE_REGS_H

/* ---- command block: offsets from the channel's base port ---- */
#define ATA_REG_DATA     0
#define ATA_REG_ERROR    1          /* read */
#define ATA_REG_FEATURE  1          /* write */
#define ATA_REG_NSECTOR  2          /* sector count; ATAPI: interrupt reason */
#define ATA_REG_LBA_LOW  3          /* sector number */
#define ATA_REG_LBA_MID  4          /* cylinder low; ATAPI: byte count low */
#define ATA_REG_LBA_HIGH 5          /* cylinder high; ATAPI: byte count high */
#define ATA_REG_DEVICE   6          /* device/head */
#define ATA_REG_STATUS   7          /* read: acknowledges the interrupt */
#define ATA_REG_COMMAND  7          /* write */
#define ATA_REG_COUNT    8
/* control block: one port, alternate status (read) / device control (write) */
#define ATA_REG_ALTSTATUS 0
#define ATA_REG_DEVCTL    0

/* Status register */
#define ST_ERR   0x01
#define ST_DRQ   0x08
#define ST_DSC   0x10
#define ST_DF    0x20
#define ST_DRDY  0x40
#define ST_BSY   0x80
/* Error register */
#define ER_AMNF  0x01
#define ER_ABRT  0x04
#define ER_IDNF  0x10
#define ER_UNC   0x40
#define ER_SENSE_SHIFT 4            /* ATAPI: the sense key in the high nibble */
/* Error register after a reset or EXECUTE DEVICE DIAGNOSTIC: not an error
 * but the diagnostic code (device 0 passed, device 1 passed or absent). */
#define DIAG_PASSED 0x01
/* Device register */
#define DEV_HEAD  0x0f              /* CHS head, or LBA28 bits 24-27 */
#define DEV_DEV   0x10              /* device 1 selected */
#define DEV_LBA   0x40
#define DEV_OBS   0xa0              /* obsolete bits, set on every write */
/* Device control register */
#define DC_NIEN  0x02
#define DC_SRST  0x04
#define DC_HOB   0x80
/* ATAPI interrupt reason (sector count register) */
#define IR_COD   0x01
#define IR_IO    0x02
#define IR_MASK  0x07
/* Signature in LBA mid/high after reset: a packet device (an ATA disk: 0/0) */
#define SIG_ATAPI_MID  0x14
#define SIG_ATAPI_HIGH 0xeb

/* ---- ATA opcodes ---- */
#define ATA_CMD_NOP                 0x00
#define ATA_CMD_DEVICE_RESET        0x08
#define ATA_CMD_RECALIBRATE         0x10    /* 10h-1Fh */
#define ATA_CMD_READ_SECTORS        0x20
#define ATA_CMD_READ_SECTORS_NR     0x21    /* without retries (obsolete) */
#define ATA_CMD_READ_SECTORS_EXT    0x24
#define ATA_CMD_READ_DMA_EXT        0x25
#define ATA_CMD_READ_MULTIPLE_EXT   0x29
#define ATA_CMD_WRITE_SECTORS       0x30
#define ATA_CMD_WRITE_SECTORS_NR    0x31
#define ATA_CMD_WRITE_SECTORS_EXT   0x34
#define ATA_CMD_WRITE_DMA_EXT       0x35
#define ATA_CMD_WRITE_MULTIPLE_EXT  0x39
#define ATA_CMD_VERIFY              0x40
#define ATA_CMD_VERIFY_NR           0x41
#define ATA_CMD_VERIFY_EXT          0x42
#define ATA_CMD_SEEK                0x70
#define ATA_CMD_DIAGNOSTIC          0x90    /* EXECUTE DEVICE DIAGNOSTIC */
#define ATA_CMD_INIT_DEV_PARAMS     0x91    /* INITIALIZE DEVICE PARAMETERS */
#define ATA_CMD_STANDBY_IMM_OLD     0x94    /* ATA-1 power commands 94h-99h */
#define ATA_CMD_IDLE_IMM_OLD        0x95
#define ATA_CMD_STANDBY_OLD         0x96
#define ATA_CMD_IDLE_OLD            0x97
#define ATA_CMD_SLEEP_OLD           0x99
#define ATA_CMD_PACKET              0xa0
#define ATA_CMD_IDENTIFY_PACKET     0xa1
#define ATA_CMD_READ_MULTIPLE       0xc4
#define ATA_CMD_WRITE_MULTIPLE      0xc5
#define ATA_CMD_SET_MULTIPLE        0xc6
#define ATA_CMD_READ_DMA            0xc8
#define ATA_CMD_READ_DMA_NR         0xc9
#define ATA_CMD_WRITE_DMA           0xca
#define ATA_CMD_WRITE_DMA_NR        0xcb
#define ATA_CMD_STANDBY_IMM         0xe0
#define ATA_CMD_IDLE_IMM            0xe1
#define ATA_CMD_STANDBY             0xe2
#define ATA_CMD_IDLE                0xe3
#define ATA_CMD_CHECK_POWER         0xe5
#define ATA_CMD_SLEEP               0xe6
#define ATA_CMD_FLUSH_CACHE         0xe7
#define ATA_CMD_FLUSH_CACHE_EXT     0xea
#define ATA_CMD_IDENTIFY            0xec
#define ATA_CMD_SET_FEATURES        0xef

/* SET FEATURES subcommands (feature register) */
#define SETF_WCACHE_ON      0x02
#define SETF_XFER_MODE      0x03    /* mode in the sector count register */
#define SETF_APM_ON         0x05
#define SETF_MSN_OFF        0x31    /* media status notification */
#define SETF_LOOKAHEAD_OFF  0x55
#define SETF_DEFAULTS_OFF   0x66
#define SETF_WCACHE_OFF     0x82
#define SETF_APM_OFF        0x85
#define SETF_MSN_ON         0x95
#define SETF_LOOKAHEAD_ON   0xaa
#define SETF_DEFAULTS_ON    0xcc
#define SETF_AAM_ON         0x42    /* automatic acoustic management */
#define SETF_AAM_OFF        0xc2
/* SETF_XFER_MODE: mode class in bits 3-7, mode number in bits 0-2 */
#define XFER_PIO_DEFAULT    0x00
#define XFER_PIO            0x08
#define XFER_MWDMA          0x20
#define XFER_UDMA           0x40
#define XFER_MODE_MASK      0x07
#define CHECK_POWER_ACTIVE  0xff    /* CHECK POWER MODE: active or idle */

/* ---- ATAPI packet opcodes (MMC) ---- */
#define ATAPI_CMD_LEN                   12
#define ATAPI_TEST_UNIT_READY           0x00
#define ATAPI_REQUEST_SENSE             0x03
#define ATAPI_INQUIRY                   0x12
#define ATAPI_START_STOP_UNIT           0x1b
#define ATAPI_PREVENT_ALLOW             0x1e    /* PREVENT ALLOW MEDIUM REMOVAL */
#define ATAPI_READ_CAPACITY             0x25
#define ATAPI_READ_10                   0x28
#define ATAPI_SEEK_10                   0x2b
#define ATAPI_READ_TOC                  0x43    /* READ TOC/PMA/ATIP */
#define ATAPI_GET_CONFIGURATION         0x46
#define ATAPI_GET_EVENT_STATUS          0x4a    /* GET EVENT STATUS NOTIFICATION */
#define ATAPI_READ_DISC_INFO            0x51
#define ATAPI_MODE_SENSE_10             0x5a
#define ATAPI_READ_12                   0xa8
#define ATAPI_SET_CD_SPEED              0xbb
#define ATAPI_MECHANISM_STATUS          0xbd
#define ATAPI_READ_CD                   0xbe
#define ATAPI_FEATURE_DMA               0x01    /* PACKET's feature register */
#define ATAPI_INQUIRY_EVPD              0x01    /* INQUIRY byte 1: vital product data */
#define ATAPI_MSF                       0x02    /* READ TOC byte 1: addresses as MSF */
#define ATAPI_PREVENT                   0x01    /* PREVENT ALLOW byte 4 */
#define ATAPI_START_STOP_START          0x01    /* START STOP UNIT byte 4 */
#define ATAPI_START_STOP_LOEJ           0x02
#define ATAPI_GESN_POLLED               0x01    /* GET EVENT STATUS byte 1 */
#define ATAPI_GESN_MEDIA_CLASS          0x10    /* byte 4: notification class */
#define ATAPI_READ_CD_USER_DATA         0x10    /* READ CD byte 9 */
/* MODE SENSE pages, MMC profiles and features, the TOC's lead-out track */
#define MODE_PAGE_ERROR_RECOVERY        0x01
#define MODE_PAGE_CAPABILITIES          0x2a
#define MODE_PAGE_ALL                   0x3f
#define MODE_PC_SAVED                   3       /* page control: saved values */
#define MMC_PROFILE_CDROM               0x0008
#define MMC_PROFILE_DVDROM              0x0010
#define MMC_FEATURE_PROFILE_LIST        0x0000
#define MMC_FEATURE_CORE                0x0001
#define MMC_FEATURE_REMOVABLE_MEDIUM    0x0003
#define TOC_LEADOUT                     0xaa

/* SCSI sense keys and additional sense codes used by the CD-ROM */
#define SK_NO_SENSE        0x0
#define SK_NOT_READY       0x2
#define SK_MEDIUM_ERROR    0x3
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION  0x6
#define SK_ABORTED         0xb
#define ASC_UNRECOVERED_READ        0x11
#define ASC_INVALID_OPCODE          0x20
#define ASC_LBA_OUT_OF_RANGE        0x21
#define ASC_INVALID_FIELD           0x24
#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED    0x39
#define ASC_MEDIUM_NOT_PRESENT      0x3a
#define ASC_REMOVAL_PREVENTED       0x53
#define ASCQ_TRAY_CLOSED            0x01    /* with ASC_MEDIUM_NOT_PRESENT */
#define ASCQ_TRAY_OPEN              0x02
#define ASCQ_REMOVAL_LOCKED         0x02    /* with ASC_REMOVAL_PREVENTED */

/* GET EVENT STATUS NOTIFICATION media event codes */
#define MEV_NONE          0
#define MEV_EJECT_REQUEST 1
#define MEV_NEW_MEDIA     2
#define MEV_REMOVAL       3

/* ---- bus-master IDE (BAR4: 8 bytes per channel) ---- */
#define BM_REG_CMD     0
#define BM_REG_STATUS  2
#define BM_REG_PRD     4            /* PRD table address, dword */
#define BM_CHAN_SIZE   8
#define BM_CMD_START   0x01
#define BM_CMD_READ    0x08         /* bus master writes memory (device → host) */
#define BM_ST_ACTIVE   0x01
#define BM_ST_ERROR    0x02
#define BM_ST_INTR     0x04
#define BM_ST_CAP0     0x20
#define BM_ST_CAP1     0x40
/* A PRD entry: address (4 bytes), byte count (2, 0 = 64 KiB), flags (2) */
#define PRD_ENTRY_SIZE 8
#define PRD_EOT        0x80         /* in the entry's last byte */

/* The IDE function's PCI config space: the command register and its bus
 * master enable bit, BAR4 (the bus-master registers, 16 bytes of I/O). */
#define PCI_CFG_COMMAND 0x04
#define PCI_CMD_MASTER  0x04
#define PCI_CFG_BAR4    0x20

#endif
