/* Keysym → scancode table (dm/display/keymap.h). One row per keysym: its name,
 * the key's set 1 and set 2 make codes, and whether the key is one of the
 * "extended" keys whose codes are prefixed with 0xe0. Break codes follow the
 * sets' rules: set 1 sets bit 7 of the last byte, set 2 puts 0xf0 before it.
 * Pause is the exception: a fixed sequence on press, nothing on release. */
#include "dm/display/keymap.h"

#include <string.h>

/* X11 keysyms (X11/keysymdef.h), the ones that are not plain Latin-1. */
enum {
    XK_BackSpace = 0xff08, XK_Tab = 0xff09, XK_Return = 0xff0d, XK_Pause = 0xff13,
    XK_Scroll_Lock = 0xff14, XK_Sys_Req = 0xff15, XK_Escape = 0xff1b,
    XK_Home = 0xff50, XK_Left = 0xff51, XK_Up = 0xff52, XK_Right = 0xff53, XK_Down = 0xff54,
    XK_Prior = 0xff55, XK_Next = 0xff56, XK_End = 0xff57, XK_Print = 0xff61, XK_Insert = 0xff63,
    XK_Menu = 0xff67, XK_Num_Lock = 0xff7f, XK_KP_Enter = 0xff8d,
    XK_KP_Home = 0xff95, XK_KP_Left = 0xff96, XK_KP_Up = 0xff97, XK_KP_Right = 0xff98,
    XK_KP_Down = 0xff99, XK_KP_Prior = 0xff9a, XK_KP_Next = 0xff9b, XK_KP_End = 0xff9c,
    XK_KP_Begin = 0xff9d, XK_KP_Insert = 0xff9e, XK_KP_Delete = 0xff9f,
    XK_KP_Multiply = 0xffaa, XK_KP_Add = 0xffab, XK_KP_Subtract = 0xffad,
    XK_KP_Decimal = 0xffae, XK_KP_Divide = 0xffaf,
    XK_KP_0 = 0xffb0, XK_KP_1, XK_KP_2, XK_KP_3, XK_KP_4, XK_KP_5, XK_KP_6, XK_KP_7, XK_KP_8, XK_KP_9,
    XK_F1 = 0xffbe, XK_F2, XK_F3, XK_F4, XK_F5, XK_F6, XK_F7, XK_F8, XK_F9, XK_F10, XK_F11, XK_F12,
    XK_Shift_L = 0xffe1, XK_Shift_R = 0xffe2, XK_Control_L = 0xffe3, XK_Control_R = 0xffe4,
    XK_Caps_Lock = 0xffe5, XK_Meta_L = 0xffe7, XK_Meta_R = 0xffe8, XK_Alt_L = 0xffe9,
    XK_Alt_R = 0xffea, XK_Super_L = 0xffeb, XK_Super_R = 0xffec, XK_Delete = 0xffff,
    XK_ISO_Level3_Shift = 0xfe03, XK_ISO_Left_Tab = 0xfe20,
};

#define SC_EXT        0xe0     /* prefix of the extended keys */
#define SC1_BREAK     0x80     /* set 1: break = make | 0x80 */
#define SC2_BREAK     0xf0     /* set 2: break = 0xf0, make */

struct key {
    uint32_t keysym;
    const char *name;
    uint8_t set1, set2;
    bool ext;
};

#define K(sym, nm, s1, s2)  { sym, nm, s1, s2, false }
#define E(sym, nm, s1, s2)  { sym, nm, s1, s2, true }

static const struct key keys[] = {
    K(XK_Escape, "Escape", 0x01, 0x76),
    K('1', "1", 0x02, 0x16), K('!', "exclam", 0x02, 0x16),
    K('2', "2", 0x03, 0x1e), K('@', "at", 0x03, 0x1e),
    K('3', "3", 0x04, 0x26), K('#', "numbersign", 0x04, 0x26),
    K('4', "4", 0x05, 0x25), K('$', "dollar", 0x05, 0x25),
    K('5', "5", 0x06, 0x2e), K('%', "percent", 0x06, 0x2e),
    K('6', "6", 0x07, 0x36), K('^', "asciicircum", 0x07, 0x36),
    K('7', "7", 0x08, 0x3d), K('&', "ampersand", 0x08, 0x3d),
    K('8', "8", 0x09, 0x3e), K('*', "asterisk", 0x09, 0x3e),
    K('9', "9", 0x0a, 0x46), K('(', "parenleft", 0x0a, 0x46),
    K('0', "0", 0x0b, 0x45), K(')', "parenright", 0x0b, 0x45),
    K('-', "minus", 0x0c, 0x4e), K('_', "underscore", 0x0c, 0x4e),
    K('=', "equal", 0x0d, 0x55), K('+', "plus", 0x0d, 0x55),
    K(XK_BackSpace, "BackSpace", 0x0e, 0x66),
    K(XK_Tab, "Tab", 0x0f, 0x0d), K(XK_ISO_Left_Tab, "ISO_Left_Tab", 0x0f, 0x0d),
    K('q', "q", 0x10, 0x15), K('w', "w", 0x11, 0x1d), K('e', "e", 0x12, 0x24),
    K('r', "r", 0x13, 0x2d), K('t', "t", 0x14, 0x2c), K('y', "y", 0x15, 0x35),
    K('u', "u", 0x16, 0x3c), K('i', "i", 0x17, 0x43), K('o', "o", 0x18, 0x44),
    K('p', "p", 0x19, 0x4d),
    K('[', "bracketleft", 0x1a, 0x54), K('{', "braceleft", 0x1a, 0x54),
    K(']', "bracketright", 0x1b, 0x5b), K('}', "braceright", 0x1b, 0x5b),
    K(XK_Return, "Return", 0x1c, 0x5a),
    K(XK_Control_L, "Control_L", 0x1d, 0x14),
    K('a', "a", 0x1e, 0x1c), K('s', "s", 0x1f, 0x1b), K('d', "d", 0x20, 0x23),
    K('f', "f", 0x21, 0x2b), K('g', "g", 0x22, 0x34), K('h', "h", 0x23, 0x33),
    K('j', "j", 0x24, 0x3b), K('k', "k", 0x25, 0x42), K('l', "l", 0x26, 0x4b),
    K(';', "semicolon", 0x27, 0x4c), K(':', "colon", 0x27, 0x4c),
    K('\'', "apostrophe", 0x28, 0x52), K('"', "quotedbl", 0x28, 0x52),
    K('`', "grave", 0x29, 0x0e), K('~', "asciitilde", 0x29, 0x0e),
    K(XK_Shift_L, "Shift_L", 0x2a, 0x12),
    K('\\', "backslash", 0x2b, 0x5d), K('|', "bar", 0x2b, 0x5d),
    K('z', "z", 0x2c, 0x1a), K('x', "x", 0x2d, 0x22), K('c', "c", 0x2e, 0x21),
    K('v', "v", 0x2f, 0x2a), K('b', "b", 0x30, 0x32), K('n', "n", 0x31, 0x31),
    K('m', "m", 0x32, 0x3a),
    K(',', "comma", 0x33, 0x41), K('<', "less", 0x33, 0x41),
    K('.', "period", 0x34, 0x49), K('>', "greater", 0x34, 0x49),
    K('/', "slash", 0x35, 0x4a), K('?', "question", 0x35, 0x4a),
    K(XK_Shift_R, "Shift_R", 0x36, 0x59),
    K(XK_KP_Multiply, "KP_Multiply", 0x37, 0x7c),
    K(XK_Alt_L, "Alt_L", 0x38, 0x11), K(XK_Meta_L, "Meta_L", 0x38, 0x11),
    K(' ', "space", 0x39, 0x29),
    K(XK_Caps_Lock, "Caps_Lock", 0x3a, 0x58),
    K(XK_F1, "F1", 0x3b, 0x05), K(XK_F2, "F2", 0x3c, 0x06), K(XK_F3, "F3", 0x3d, 0x04),
    K(XK_F4, "F4", 0x3e, 0x0c), K(XK_F5, "F5", 0x3f, 0x03), K(XK_F6, "F6", 0x40, 0x0b),
    K(XK_F7, "F7", 0x41, 0x83), K(XK_F8, "F8", 0x42, 0x0a), K(XK_F9, "F9", 0x43, 0x01),
    K(XK_F10, "F10", 0x44, 0x09), K(XK_F11, "F11", 0x57, 0x78), K(XK_F12, "F12", 0x58, 0x07),
    K(XK_Num_Lock, "Num_Lock", 0x45, 0x77),
    K(XK_Scroll_Lock, "Scroll_Lock", 0x46, 0x7e),
    K(XK_KP_7, "KP_7", 0x47, 0x6c), K(XK_KP_Home, "KP_Home", 0x47, 0x6c),
    K(XK_KP_8, "KP_8", 0x48, 0x75), K(XK_KP_Up, "KP_Up", 0x48, 0x75),
    K(XK_KP_9, "KP_9", 0x49, 0x7d), K(XK_KP_Prior, "KP_Prior", 0x49, 0x7d),
    K(XK_KP_Subtract, "KP_Subtract", 0x4a, 0x7b),
    K(XK_KP_4, "KP_4", 0x4b, 0x6b), K(XK_KP_Left, "KP_Left", 0x4b, 0x6b),
    K(XK_KP_5, "KP_5", 0x4c, 0x73), K(XK_KP_Begin, "KP_Begin", 0x4c, 0x73),
    K(XK_KP_6, "KP_6", 0x4d, 0x74), K(XK_KP_Right, "KP_Right", 0x4d, 0x74),
    K(XK_KP_Add, "KP_Add", 0x4e, 0x79),
    K(XK_KP_1, "KP_1", 0x4f, 0x69), K(XK_KP_End, "KP_End", 0x4f, 0x69),
    K(XK_KP_2, "KP_2", 0x50, 0x72), K(XK_KP_Down, "KP_Down", 0x50, 0x72),
    K(XK_KP_3, "KP_3", 0x51, 0x7a), K(XK_KP_Next, "KP_Next", 0x51, 0x7a),
    K(XK_KP_0, "KP_0", 0x52, 0x70), K(XK_KP_Insert, "KP_Insert", 0x52, 0x70),
    K(XK_KP_Decimal, "KP_Decimal", 0x53, 0x71), K(XK_KP_Delete, "KP_Delete", 0x53, 0x71),
    E(XK_KP_Enter, "KP_Enter", 0x1c, 0x5a),
    E(XK_Control_R, "Control_R", 0x1d, 0x14),
    E(XK_KP_Divide, "KP_Divide", 0x35, 0x4a),
    /* SysRq alone: Print's "make" without the fake-shift prefix guests ignore anyway */
    E(XK_Print, "Print", 0x37, 0x7c), E(XK_Sys_Req, "Sys_Req", 0x37, 0x7c),
    E(XK_Alt_R, "Alt_R", 0x38, 0x11), E(XK_Meta_R, "Meta_R", 0x38, 0x11),
    E(XK_ISO_Level3_Shift, "ISO_Level3_Shift", 0x38, 0x11),
    E(XK_Home, "Home", 0x47, 0x6c), E(XK_Up, "Up", 0x48, 0x75), E(XK_Prior, "Prior", 0x49, 0x7d),
    E(XK_Left, "Left", 0x4b, 0x6b), E(XK_Right, "Right", 0x4d, 0x74), E(XK_End, "End", 0x4f, 0x69),
    E(XK_Down, "Down", 0x50, 0x72), E(XK_Next, "Next", 0x51, 0x7a),
    E(XK_Insert, "Insert", 0x52, 0x70), E(XK_Delete, "Delete", 0x53, 0x71),
    E(XK_Super_L, "Super_L", 0x5b, 0x1f), E(XK_Super_R, "Super_R", 0x5c, 0x27),
    E(XK_Menu, "Menu", 0x5d, 0x2f),
};

/* Pause has no break code: the whole sequence is sent on press. */
static const uint8_t pause_set1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
static const uint8_t pause_set2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };

static const struct key *find(uint32_t keysym)
{
    size_t i;

    /* Upper-case letters are the same keys (the client sent Shift). */
    if (keysym >= 'A' && keysym <= 'Z')
        keysym += 'a' - 'A';
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (keys[i].keysym == keysym)
            return &keys[i];
    return NULL;
}

const char *keymap_name(uint32_t keysym)
{
    const struct key *k = find(keysym);

    if (keysym == XK_Pause)
        return "Pause";
    return k ? k->name : NULL;
}

size_t keymap_scancodes(uint32_t keysym, bool down, unsigned set, uint8_t out[KEYMAP_MAX_BYTES])
{
    const struct key *k;
    size_t n = 0;

    if (set != 1 && set != 2)
        return 0;
    if (keysym == XK_Pause) {
        const uint8_t *seq = set == 1 ? pause_set1 : pause_set2;
        size_t len = set == 1 ? sizeof(pause_set1) : sizeof(pause_set2);

        if (!down)
            return 0;
        memcpy(out, seq, len);
        return len;
    }
    k = find(keysym);
    if (!k)
        return 0;
    if (k->ext)
        out[n++] = SC_EXT;
    if (set == 1) {
        out[n++] = down ? k->set1 : (uint8_t)(k->set1 | SC1_BREAK);
    } else {
        if (!down)
            out[n++] = SC2_BREAK;
        out[n++] = k->set2;
    }
    return n;
}
