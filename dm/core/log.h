/* Logging for the DM: stderr is libxl's O_APPEND log file, capped at 256 KiB
 * by RLIMIT_FSIZE, so every write may fail with EFBIG and must not kill us.
 * Guest-triggerable messages go through log_guest(), which is rate-limited. */
#ifndef XSDM_LOG_H
#define XSDM_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level max);
void log_set_prefix(const char *prefix);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Errors/warnings caused by guest actions: at most LOG_GUEST_BURST lines per
 * second, then one "suppressed N" line, so a guest cannot fill the log. */
#define LOG_GUEST_BURST 20
void log_guest(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
