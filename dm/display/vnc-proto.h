/* The RFB protocol (RFC 6143) as dm/display/vnc*.c speaks it: message types,
 * security types, encodings, sizes, and xsdm's limits on everything a
 * client controls. All multi-byte fields are big-endian. */
#ifndef XSDM_VNC_PROTO_H
#define XSDM_VNC_PROTO_H

#define RFB_VERSION_LEN       12          /* "RFB 003.008\n" */
#define RFB_VERSION_3_8       "RFB 003.008\n"

/* Security types (RFC 6143 §7.1.2) */
#define RFB_SEC_INVALID       0
#define RFB_SEC_NONE          1
#define RFB_SEC_VNC_AUTH      2
#define RFB_SEC_RESULT_OK     0
#define RFB_SEC_RESULT_FAILED 1
#define RFB_CHALLENGE_LEN     16          /* VNC authentication challenge and response */

/* Client-to-server messages (§7.5) and their fixed sizes */
#define RFB_SET_PIXEL_FORMAT          0
#define RFB_SET_ENCODINGS             2
#define RFB_FRAMEBUFFER_UPDATE_REQ    3
#define RFB_KEY_EVENT                 4
#define RFB_POINTER_EVENT             5
#define RFB_CLIENT_CUT_TEXT           6
#define RFB_SET_PIXEL_FORMAT_LEN      20
#define RFB_SET_ENCODINGS_HDR_LEN     4
#define RFB_FRAMEBUFFER_UPDATE_REQ_LEN 10
#define RFB_KEY_EVENT_LEN             8
#define RFB_POINTER_EVENT_LEN         6
#define RFB_CLIENT_CUT_TEXT_HDR_LEN   8

/* Server-to-client messages (§7.6) */
#define RFB_FRAMEBUFFER_UPDATE        0
#define RFB_PIXEL_FORMAT_LEN          16
#define RFB_SERVER_INIT_LEN           24  /* w, h, pixel format, name length */
#define RFB_RECT_HDR_LEN              12  /* x, y, w, h, encoding */

/* Encodings (§7.7, §7.8) */
#define RFB_ENC_RAW                   0
#define RFB_ENC_ZRLE                  16
#define RFB_ENC_DESKTOP_SIZE          (-223)

/* ZRLE (§7.7.6): 64x64 tiles of CPIXELs; xsdm sends every tile raw (subencoding 0). */
#define RFB_ZRLE_TILE                 64
#define RFB_ZRLE_SUB_RAW              0

/* xsdm's limits on client-controlled lengths (docs/threat-model.md). */
#define VNC_MAX_ENCODINGS      256        /* SetEncodings count: real clients send ~20; more closes */
#define VNC_MAX_CUT_TEXT       (1u << 20) /* ClientCutText: skipped unread; longer closes (as QEMU) */
#define VNC_IN_MAX             (RFB_SET_ENCODINGS_HDR_LEN + 4 * VNC_MAX_ENCODINGS)
#define VNC_NAME_MAX           64         /* desktop name in ServerInit */
#define VNC_PASSWORD_LEN       8          /* VNC authentication uses the first 8 bytes */

#endif
