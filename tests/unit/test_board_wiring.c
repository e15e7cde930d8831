/* Devices do not call the machine: only the board and the code that runs
 * it (accelerators, main, QMP, the stream) may include dm/board/machine.h or
 * dm/board/dm.h, directly or through another header. Every other file under dm/
 * (the devices, storage, the core) reaches the board only through the
 * lines and callbacks it was built with (dm/core/irq.h). The scan covers every
 * .c and .h below dm/, so a new device file is checked without a list. */
#include <check.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/ckrun.h"

#define MAX_FILES 256

/* Files that may know the board (by name: folders may change). */
static const char *const board_side[] = {
    "machine.c", "machine.h", "pc-cmos.c", "dm.c", "dm.h", "main.c",
    "accel-qtest.c", "accel-xen.c", "xen-ioreq.c", "qtest-proto.c",
    "migration-fd.c", "qmp-core.c", "qmp-block.c", "qmp-migration.c", "qmp-vnc.c",
};
static const char *const board_headers[] = { "dm/board/machine.h", "dm/board/dm.h" };

static char files[MAX_FILES][512];
static int n_files;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t len = strlen(path);

    if (type == FTW_F && len > 2 && (!strcmp(path + len - 2, ".c") || !strcmp(path + len - 2, ".h")) &&
        n_files < MAX_FILES)
        snprintf(files[n_files++], sizeof(files[0]), "%s", path);
    return 0;
}

static bool allowed(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    for (size_t i = 0; i < sizeof(board_side) / sizeof(board_side[0]); i++)
        if (!strcmp(base, board_side[i]))
            return true;
    return false;
}

/* The "dm/..." header of an include line, or NULL. */
static const char *included(const char *line, char *out, size_t outlen)
{
    const char *p = strstr(line, "#include \"dm/");

    if (!p || p != line)
        return NULL;
    p += strlen("#include \"");
    snprintf(out, outlen, "%.*s", (int)strcspn(p, "\""), p);
    return out;
}

/* Does path reach a board header, through at most depth includes? On a
 * hit, chain says how. */
static bool reaches_board(const char *path, int depth, char *chain, size_t chainlen)
{
    char line[512], hdr[256], next[768];
    FILE *f = fopen(path, "r");
    bool hit = false;

    if (!f)
        return false;
    while (!hit && fgets(line, sizeof(line), f)) {
        if (!included(line, hdr, sizeof(hdr)))
            continue;
        for (size_t i = 0; i < sizeof(board_headers) / sizeof(board_headers[0]); i++)
            if (!strcmp(hdr, board_headers[i])) {
                snprintf(chain, chainlen, "%s", hdr);
                hit = true;
            }
        if (!hit && depth > 0) {
            char sub[512] = "";

            snprintf(next, sizeof(next), "%s/%s", SRC_DIR, hdr);
            if (reaches_board(next, depth - 1, sub, sizeof(sub))) {
                snprintf(chain, chainlen, "%s -> %s", hdr, sub);
                hit = true;
            }
        }
    }
    fclose(f);
    return hit;
}

START_TEST(devices_do_not_include_the_machine)
{
    char why[4096] = "";
    int checked = 0;

    n_files = 0;
    ck_assert_int_eq(nftw(SRC_DIR "/dm", collect, 16, FTW_PHYS), 0);
    ck_assert_int_lt(n_files, MAX_FILES);
    for (int i = 0; i < n_files; i++) {
        char chain[1024] = "";

        if (allowed(files[i]))
            continue;
        checked++;
        if (reaches_board(files[i], 8, chain, sizeof(chain)))
            snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s includes %s; ",
                     files[i] + strlen(SRC_DIR) + 1, chain);
    }
    ck_assert_msg(!why[0], "%s", why);
    ck_assert_int_ge(checked, 12);      /* the devices were found at all */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("board_wiring");
    TCase *tc = tcase_create("includes");

    tcase_add_test(tc, devices_do_not_include_the_machine);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
