/* `make demo`'s screenshot: xsdm on the qtest accelerator with the standard
 * VGA and a VNC console; over qtest this program does what SeaBIOS's VGA
 * BIOS and a guest would (80x25 text mode, the BIOS's own 8x16 font into
 * plane 2, a palette, characters at 0xb8000), then gvnccapture (gtk-vnc,
 * a viewer nobody here wrote) saves the screen as a PNG. The PNG is read
 * back (pngtopnm) and every 8x16 cell matched against the font: the screen
 * is printed as text, and the run fails if any cell differs from what was
 * written. Usage: demo-screen OUT.png */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tests/lib/libqtest.h"
#include "toolstack/qmp-client.h"

#define VGA_BIOS   "/usr/share/seabios/vgabios-stdvga.bin"
#define COLS       80
#define ROWS       25
#define CELL_W     8
#define CELL_H     16
#define TEXT_BASE  0xb8000
#define FONT_BASE  0xa0000          /* plane 2, 32 bytes per glyph */

static struct qtest *s;

static void sr(uint8_t i, uint8_t v) { qtest_outb(s, 0x3c4, i); qtest_outb(s, 0x3c5, v); }
static void gr(uint8_t i, uint8_t v) { qtest_outb(s, 0x3ce, i); qtest_outb(s, 0x3cf, v); }
static void cr(uint8_t i, uint8_t v) { qtest_outb(s, 0x3d4, i); qtest_outb(s, 0x3d5, v); }

/* The 8x16 font inside the VGA BIOS Debian's seabios ships: found by its
 * glyph 1 (the smiley), 16 bytes after glyph 0. */
static int load_bios_font(uint8_t font[256 * CELL_H])
{
    static const uint8_t smiley[CELL_H] = { 0, 0, 0x7e, 0x81, 0xa5, 0x81, 0x81, 0xbd, 0x99, 0x81, 0x81, 0x7e };
    static uint8_t rom[256 * 1024];
    FILE *f = fopen(VGA_BIOS, "rb");
    size_t n;

    if (!f) {
        perror(VGA_BIOS);
        return -1;
    }
    n = fread(rom, 1, sizeof(rom), f);
    fclose(f);
    for (size_t i = CELL_H; i + 255 * CELL_H <= n; i++)
        if (!memcmp(rom + i, smiley, CELL_H)) {
            memcpy(font, rom + i - CELL_H, 256 * CELL_H);
            return 0;
        }
    fprintf(stderr, "demo-screen: no 8x16 font in %s\n", VGA_BIOS);
    return -1;
}

/* What the VGA BIOS does for mode 3, the parts the device renders from. */
static void text_mode(const uint8_t font[256 * CELL_H])
{
    static const uint8_t pal[16][3] = {
        { 0, 0, 0 }, { 0, 0, 42 }, { 0, 42, 0 }, { 0, 42, 42 }, { 42, 0, 0 }, { 42, 0, 42 },
        { 42, 21, 0 }, { 42, 42, 42 }, { 21, 21, 21 }, { 21, 21, 63 }, { 21, 63, 21 }, { 21, 63, 63 },
        { 63, 21, 21 }, { 63, 21, 63 }, { 63, 63, 21 }, { 63, 63, 63 },
    };

    qtest_outb(s, 0x3c2, 0x67);                 /* colour: CRTC at 0x3d4 */
    cr(0x11, 0x00);
    cr(0x01, COLS - 1);
    cr(0x07, 0x02);
    cr(0x09, CELL_H - 1);
    cr(0x12, 0x8f);                             /* 400 lines */
    cr(0x13, COLS / 2);
    cr(0x0a, 0x20);                             /* cursor off */
    cr(0x0c, 0);
    cr(0x0d, 0);
    (void)qtest_inb(s, 0x3da);
    for (int i = 0; i < 16; i++) {
        qtest_outb(s, 0x3c0, (uint8_t)i);
        qtest_outb(s, 0x3c0, (uint8_t)i);
    }
    qtest_outb(s, 0x3c0, 0x10);
    qtest_outb(s, 0x3c0, 0x00);
    qtest_outb(s, 0x3c0, 0x12);
    qtest_outb(s, 0x3c0, 0x0f);
    qtest_outb(s, 0x3c0, 0x20);
    qtest_outb(s, 0x3c8, 0);
    for (int i = 0; i < 16; i++)
        for (int c = 0; c < 3; c++)
            qtest_outb(s, 0x3c9, pal[i][c]);
    sr(0x02, 0x04);                             /* the font: plane 2, sequential */
    sr(0x04, 0x06);
    gr(0x04, 0x02);
    gr(0x05, 0x00);
    gr(0x06, 0x04);
    gr(0x08, 0xff);
    for (int c = 0; c < 256; c++)
        qtest_memwrite(s, FONT_BASE + (uint64_t)c * 32, font + c * CELL_H, CELL_H);
    sr(0x01, 0x01);                             /* back to text: 8-dot cells, odd/even */
    sr(0x02, 0x03);
    sr(0x03, 0x00);
    sr(0x04, 0x02);
    gr(0x04, 0x00);
    gr(0x05, 0x10);
    gr(0x06, 0x0e);
}

static const struct {
    int row;
    uint8_t attr;
    const char *text;
} lines[] = {
    { 1, 0x1f, "  xsdm - a secure device model for Xen HVM guests" },
    { 3, 0x07, "This is the qtest machine's standard VGA in 80x25 text mode." },
    { 5, 0x07, "Over qtest, this demo did what SeaBIOS's VGA BIOS and a guest would: it set" },
    { 6, 0x07, "the mode, loaded the BIOS's 8x16 font into plane 2 and wrote these" },
    { 7, 0x07, "characters to guest memory at 0xb8000. dm/devices/vga.c rendered them, the" },
    { 8, 0x07, "VNC server sent them, and gvnccapture (gtk-vnc) saved the PNG you see." },
    { 10, 0x0e, "Keyboard: i8042 (set 1/2)    Mouse: PS/2 on the aux port, IRQ 12" },
};

static char screen[ROWS][COLS + 1];

static void write_text(void)
{
    uint8_t row[COLS * 2];

    for (int r = 0; r < ROWS; r++)
        memset(screen[r], ' ', COLS);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        memcpy(screen[lines[i].row], lines[i].text, strlen(lines[i].text));
    for (int r = 0; r < ROWS; r++) {
        uint8_t attr = 0x07;

        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            if (lines[i].row == r)
                attr = lines[i].attr;
        for (int c = 0; c < COLS; c++) {
            row[2 * c] = (uint8_t)screen[r][c];
            row[2 * c + 1] = attr;
        }
        qtest_memwrite(s, TEXT_BASE + (uint64_t)r * COLS * 2, row, sizeof(row));
    }
}

static int vnc_port(void)
{
    struct qmpc *c = qtest_qmp(s);
    json_t *ret = NULL;
    char err[256];
    int port = -1;

    if (c && qmpc_execute(c, "query-vnc", NULL, -1, &ret, err, sizeof(err)) == 0)
        port = atoi(json_string_value(json_object_get(ret, "service")) ?: "-1");
    json_decref(ret);
    if (c)
        qmpc_close(c);
    return port;
}

/* P6 from pngtopnm: width, height, 8-bit RGB. */
static uint8_t *read_ppm(const char *png, int *w, int *h)
{
    char cmd[600];
    FILE *p;
    int max;
    uint8_t *px = NULL;

    snprintf(cmd, sizeof(cmd), "pngtopnm '%s'", png);
    p = popen(cmd, "r");
    if (!p)
        return NULL;
    if (fscanf(p, "P6 %d %d %d", w, h, &max) == 3 && max == 255 && fgetc(p) != EOF && *w > 0 && *h > 0 &&
        *w <= 4096 && *h <= 4096) {
        px = malloc((size_t)*w * (size_t)*h * 3);
        if (px && fread(px, 3, (size_t)*w * (size_t)*h, p) != (size_t)*w * (size_t)*h) {
            free(px);
            px = NULL;
        }
    }
    pclose(p);
    return px;
}

/* Which glyph a cell of the capture shows: its lit pixels, matched
 * against the font (printable ASCII first: blanks are not unique). */
static int read_cell(const uint8_t *px, int w, int col, int row, const uint8_t font[256 * CELL_H])
{
    uint8_t bits[CELL_H];

    for (int y = 0; y < CELL_H; y++) {
        bits[y] = 0;
        for (int x = 0; x < CELL_W; x++) {
            const uint8_t *p = px + (((size_t)(row * CELL_H + y) * (size_t)w) + (size_t)(col * CELL_W + x)) * 3;

            if (299 * p[0] + 587 * p[1] + 114 * p[2] > 100 * 1000)
                bits[y] |= (uint8_t)(0x80 >> x);
        }
    }
    for (int k = 0; k < 256; k++) {
        int c = (k + 0x20) & 0xff;

        if (!memcmp(bits, font + c * CELL_H, CELL_H))
            return c;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const char *args[] = { "-device", "VGA", "-vnc", "127.0.0.1:20,to=99", NULL };
    struct qtest_opts o = { .dm = BUILD_DIR "/xsdm", .extra_fd = -1, .args = args };
    static uint8_t font[256 * CELL_H];
    char cmd[600];
    uint8_t *px;
    int port, w, h, bad = 0, rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.png\n", argv[0]);
        return 2;
    }
    if (load_bios_font(font) < 0)
        return 1;
    s = qtest_start(&o);
    if (!s)
        return 1;
    port = vnc_port();
    if (port < 5900) {
        fprintf(stderr, "demo-screen: query-vnc gave no port\n");
        goto out;
    }
    text_mode(font);
    write_text();
    printf("   fact: xsdm pid %d on qtest, VNC on 127.0.0.1:%d; capturing with gvnccapture\n", (int)qtest_pid(s),
           port);
    fflush(stdout);
    snprintf(cmd, sizeof(cmd), "gvnccapture 127.0.0.1:%d '%s' >/dev/null 2>&1", port - 5900, argv[1]);
    if (system(cmd) != 0) {
        fprintf(stderr, "demo-screen: gvnccapture failed (%s)\n", cmd);
        goto out;
    }
    px = read_ppm(argv[1], &w, &h);
    if (!px || w != COLS * CELL_W || h != ROWS * CELL_H) {
        fprintf(stderr, "demo-screen: %s is not a %dx%d picture\n", argv[1], COLS * CELL_W, ROWS * CELL_H);
        free(px);
        goto out;
    }
    printf("   fact: %s: %dx%d PNG; its cells read back against the font:\n", argv[1], w, h);
    printf("   +%.*s+\n", COLS, "--------------------------------------------------------------------------------");
    for (int r = 0; r < 13; r++) {
        char line[COLS + 1];

        for (int c = 0; c < COLS; c++) {
            int g = read_cell(px, w, c, r, font);

            line[c] = g >= 0x20 && g < 0x7f ? (char)g : '?';
            bad += line[c] != screen[r][c];
        }
        line[COLS] = 0;
        printf("   |%s|\n", line);
    }
    printf("   +%.*s+\n", COLS, "--------------------------------------------------------------------------------");
    free(px);
    if (bad) {
        fprintf(stderr, "demo-screen: %d cells differ from what was written\n", bad);
        goto out;
    }
    printf("   fact: every cell matches what was written to 0xb8000\n");
    rc = 0;
out:
    qtest_quit(s);
    return rc;
}
