/* The architecture rules of docs/design.md, checked on the source tree:
 *   R1 guest-facing code (devices, storage, board, qtest parser, ioreq
 *      handling, state loader) includes no privileged header and calls no
 *      privileged library (Xen control, seccomp, capabilities);
 *   R2 guest-facing code outside the accelerator reaches guest memory only
 *      through the accelerator's memory ops (dm/core/accel.h): no mapcache or
 *      foreign-memory call, no accelerator-internal header;
 *   R3 privileged code (restrict/, rlimits/, toolstack/, dm/host/) parses
 *      no guest data: it includes no header of a guest-facing file;
 *   R4 every source file is in the class table below;
 *   R5 no include cycle between folders under dm/.
 * Each rule is also run on a small planted tree, so that a checker that
 * stopped finding anything would fail too.
 *
 * The classification is one table of globs (fnmatch without FNM_PATHNAME: a
 * '*' also crosses '/'), first match wins. When files move into folders
 * (dm/devices/, dm/storage/...), update the globs here; R4 fails until
 * every file is classified again. */
#include <check.h>
#include <ctype.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"

enum cls { C_DEVICE, C_STORAGE, C_BOARD, C_PARSER, C_STATE, C_ACCEL, C_CORE, C_QMP, C_CHAR,
           C_REMOTE, C_NET, C_HOST, C_PRIV, C_TOOLSTACK, C_NONE };

static const struct cls_info {
    const char *name;
    bool guest_facing;      /* R1: handles guest (or guest-derived) data */
    bool accel_memory;      /* R2 exempt: it is the accelerator's memory access */
    bool privileged;        /* R3: must not include guest-facing headers */
} cls_info[] = {
    [C_DEVICE]    = { "device",    true,  false, false },
    [C_STORAGE]   = { "storage",   true,  false, false },
    [C_BOARD]     = { "board",     true,  false, false },
    [C_PARSER]    = { "accel parser (qtest protocol, ioreqs)", true, true, false },
    [C_STATE]     = { "state (hostile stream)", true, false, false },
    [C_ACCEL]     = { "accel (privileged handles)", false, true, false },
    [C_CORE]      = { "core",      false, false, false },
    [C_QMP]       = { "qmp",       false, false, false },
    [C_CHAR]      = { "char backends", false, false, false },
    [C_REMOTE]    = { "remote client protocol (VNC)", true, false, false },
    [C_NET]       = { "net backends (guest frames)", true, false, false },
    /* dm/host/: what both the DM (as root, before restriction) and xsdmctl
     * open on the host. Privileged for R3: xsdmctl links it, so it includes
     * no guest-facing header. Not in privileged_headers: the DM's tap and
     * VNC backends include it (they are its callers, not guest parsers). */
    [C_HOST]      = { "host resources (DM and toolstack)", false, false, true },
    [C_PRIV]      = { "restriction", false, false, true },
    [C_TOOLSTACK] = { "toolstack", false, false, true },
    [C_NONE]      = { "unclassified", false, false, false },
};

/* The one table: path glob -> class. */
static const struct {
    const char *glob;
    enum cls cls;
} classes[] = {
    /* first match wins */
    { "dm/devices/*", C_DEVICE }, { "dm/core/pci*", C_DEVICE },
    { "dm/storage/*", C_STORAGE },
    { "dm/board/machine*", C_BOARD }, { "dm/board/pc-cmos*", C_BOARD },
    { "dm/accel/qtest-proto*", C_PARSER }, { "dm/accel/xen-ioreq*", C_PARSER },
    { "dm/accel/*", C_ACCEL },
    { "dm/core/vmstate*", C_STATE }, { "dm/state/*", C_STATE },
    { "dm/core/fdset*", C_QMP }, { "dm/qmp/*", C_QMP },
    { "dm/core/chardev*", C_CHAR },
    { "dm/net/*", C_NET },
    { "dm/host/*", C_HOST },
    { "dm/display/vnc*", C_REMOTE },
    { "dm/core/*", C_CORE }, { "dm/display/*", C_CORE }, { "dm/board/dm.*", C_CORE }, { "dm/main.c", C_CORE },
    { "restrict/*", C_PRIV }, { "rlimits/*", C_PRIV },
    { "toolstack/*", C_TOOLSTACK },
};

/* R1: headers only privileged code includes. */
static const char *const privileged_headers[] = {
    "xenctrl.h", "xendevicemodel.h", "xenforeignmemory.h", "xenevtchn.h", "xenstore.h",
    "xentoolcore.h", "xengnttab.h", "xencall.h", "xenguest.h", "libxl.h", "libxlutil.h",
    "xen/sys/privcmd.h", "xen/sys/evtchn.h", "xen/sys/gntdev.h",
    "seccomp.h", "linux/seccomp.h", "linux/filter.h", "cap-ng.h", "sys/capability.h", "sys/prctl.h",
    "restrict/*", "rlimits/*", "toolstack/*", "dm/accel/xen-mapcache.h",
};
/* R1: calls only privileged code makes (identifier prefixes end in '_'). */
static const char *const privileged_calls[] = {
    "xc_", "xendevicemodel_", "xenevtchn_", "xs_", "xentoolcore_", "xengnttab_", "xencall_",
    "seccomp_", "capng_", "prctl", "setresuid", "setresgid", "setgroups", "chroot", "setrlimit",
};
/* R2: guest memory other than through accel_mem_read/accel_mem_write. */
static const char *const memory_calls[] = {
    "xen_mapcache_", "xenforeignmemory_", "xc_map_foreign",
};

struct report {
    char text[8192];
    int n;
};

static void violation(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(struct report *r, const char *fmt, ...)
{
    size_t len = strlen(r->text);
    va_list ap;

    r->n++;
    if (len + 2 >= sizeof(r->text))
        return;
    va_start(ap, fmt);
    vsnprintf(r->text + len, sizeof(r->text) - len - 1, fmt, ap);
    va_end(ap);
    strcat(r->text, "\n");
}

static enum cls classify(const char *rel)
{
    size_t i;

    for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (!fnmatch(classes[i].glob, rel, 0))
            return classes[i].cls;
    return C_NONE;
}

/* ---- the tree ----------------------------------------------------------- */

#define MAX_FILES 512
static struct {
    char rel[256];
    char *text;             /* comments and string/char literals blanked */
} files[MAX_FILES];
static int n_files;
static size_t root_len;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

/* Blank comments and the contents of string and char literals, keeping
 * newlines and the quotes of #include "..." lines (which are not literals). */
static void strip(char *s)
{
    char *p = s, *line = s;

    while (*p) {
        if (*p == '\n') {
            line = p + 1;
            p++;
        } else if (p[0] == '/' && p[1] == '*') {
            for (; *p && !(p[0] == '*' && p[1] == '/'); p++)
                if (*p != '\n')
                    *p = ' ';
            if (*p)
                p[0] = p[1] = ' ', p += 2;
        } else if (p[0] == '/' && p[1] == '/') {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
        } else if (*p == '"' || *p == '\'') {
            const char *l = line;
            char q = *p++;

            while (*l == ' ' || *l == '\t')
                l++;
            if (q == '"' && !strncmp(l, "#include", 8)) {
                p = strchr(p, '"') ? strchr(p, '"') + 1 : p + strlen(p);
                continue;
            }
            for (; *p && *p != q && *p != '\n'; p++) {
                if (*p == '\\' && p[1])
                    *p++ = ' ';
                *p = ' ';
            }
            if (*p == q)
                p++;
        } else {
            p++;
        }
    }
}

static int add_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t len = strlen(path);

    (void)st;
    (void)ftw;
    if (type != FTW_F || len < 2 || path[len - 2] != '.' || (path[len - 1] != 'c' && path[len - 1] != 'h'))
        return 0;
    ck_assert_int_lt(n_files, MAX_FILES);
    snprintf(files[n_files].rel, sizeof(files[n_files].rel), "%s", path + root_len + 1);
    files[n_files].text = slurp(path);
    strip(files[n_files].text);
    n_files++;
    return 0;
}

static void load_tree(const char *root)
{
    static const char *const dirs[] = { "dm", "restrict", "rlimits", "toolstack" };
    char path[512];
    size_t i;

    while (n_files > 0)
        free(files[--n_files].text);
    root_len = strlen(root);
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
        if (access(path, F_OK) == 0)
            ck_assert_int_eq(nftw(path, add_file, 16, FTW_PHYS), 0);
    }
}

/* Calls fn(file, included name, angle?) for each #include line. */
static void each_include(int f, void (*fn)(int f, const char *inc, bool angle, void *arg), void *arg)
{
    const char *p = files[f].text;

    while (p && *p) {
        const char *q = p;
        char name[256];

        while (*q == ' ' || *q == '\t')
            q++;
        if (!strncmp(q, "#include", 8)) {
            char open, close;
            const char *e;

            q += 8;
            while (*q == ' ' || *q == '\t')
                q++;
            open = *q;
            close = open == '<' ? '>' : '"';
            if ((open == '<' || open == '"') && (e = strchr(q + 1, close)) && (size_t)(e - q - 1) < sizeof(name)) {
                memcpy(name, q + 1, (size_t)(e - q - 1));
                name[e - q - 1] = '\0';
                fn(f, name, open == '<', arg);
            }
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
}

/* First call of a listed function (prefix when it ends in '_'), or NULL. */
static const char *find_call(const char *text, const char *const *names, size_t n, const char **which)
{
    const char *p;
    size_t i;

    for (p = text; *p; p++) {
        if (!(isalpha((unsigned char)*p) || *p == '_') || (p > text && (isalnum((unsigned char)p[-1]) ||
                                                                          p[-1] == '_')))
            continue;
        for (i = 0; i < n; i++) {
            size_t l = strlen(names[i]);
            const char *e = p + l;

            if (strncmp(p, names[i], l))
                continue;
            if (names[i][l - 1] == '_')
                while (isalnum((unsigned char)*e) || *e == '_')
                    e++;
            else if (isalnum((unsigned char)*e) || *e == '_')
                continue;
            while (*e == ' ' || *e == '\t')
                e++;
            if (*e == '(') {
                *which = names[i];
                return p;
            }
        }
    }
    return NULL;
}

static int line_of(const char *text, const char *at)
{
    int line = 1;

    for (; text < at; text++)
        line += *text == '\n';
    return line;
}

/* ---- the rules ---------------------------------------------------------- */

static bool in_list(const char *name, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!fnmatch(list[i], name, 0))
            return true;
    return false;
}

static void r1_include(int f, const char *inc, bool angle, void *arg)
{
    (void)angle;
    if (in_list(inc, privileged_headers, sizeof(privileged_headers) / sizeof(privileged_headers[0])))
        violation(arg, "R1 %s (%s) includes privileged header %s", files[f].rel,
                  cls_info[classify(files[f].rel)].name, inc);
}

static void r2_include(int f, const char *inc, bool angle, void *arg)
{
    enum cls c = classify(inc);

    if (!angle && cls_info[c].accel_memory)
        violation(arg, "R2 %s includes accelerator-internal %s: guest memory goes through dm/core/accel.h",
                  files[f].rel, inc);
}

static void r3_include(int f, const char *inc, bool angle, void *arg)
{
    enum cls c = classify(inc);

    if (!angle && cls_info[c].guest_facing)
        violation(arg, "R3 privileged %s includes %s (%s): privileged code parses no guest data",
                  files[f].rel, inc, cls_info[c].name);
}

static void check_r1(struct report *r)
{
    int f;

    for (f = 0; f < n_files; f++) {
        const char *which = NULL, *at;

        if (!cls_info[classify(files[f].rel)].guest_facing)
            continue;
        each_include(f, r1_include, r);
        at = find_call(files[f].text, privileged_calls, sizeof(privileged_calls) / sizeof(privileged_calls[0]),
                       &which);
        if (at)
            violation(r, "R1 %s:%d calls %s...: privileged code lives in restrict/ or the accelerator",
                      files[f].rel, line_of(files[f].text, at), which);
    }
}

static void check_r2(struct report *r)
{
    int f;

    for (f = 0; f < n_files; f++) {
        enum cls c = classify(files[f].rel);
        const char *which = NULL, *at;

        if (!cls_info[c].guest_facing || cls_info[c].accel_memory)
            continue;
        each_include(f, r2_include, r);
        at = find_call(files[f].text, memory_calls, sizeof(memory_calls) / sizeof(memory_calls[0]), &which);
        if (at)
            violation(r, "R2 %s:%d calls %s...: guest memory only through accel_mem_read/write",
                      files[f].rel, line_of(files[f].text, at), which);
    }
}

static void check_r3(struct report *r)
{
    int f;

    for (f = 0; f < n_files; f++)
        if (cls_info[classify(files[f].rel)].privileged)
            each_include(f, r3_include, r);
}

static void check_r4(struct report *r)
{
    int f;

    for (f = 0; f < n_files; f++)
        if (classify(files[f].rel) == C_NONE)
            violation(r, "R4 %s is in no class of tests/unit/test_rules.c: add its glob", files[f].rel);
}

/* R5: the folder graph of dm/. */
#define MAX_DIRS 32
struct graph {
    char dir[MAX_DIRS][128];
    int n;
    bool edge[MAX_DIRS][MAX_DIRS];
    char why[MAX_DIRS][MAX_DIRS][200];
};

static int dir_index(struct graph *g, const char *path)
{
    char d[128];
    const char *slash = strrchr(path, '/');
    int i;

    snprintf(d, sizeof(d), "%.*s", slash ? (int)(slash - path) : 0, path);
    for (i = 0; i < g->n; i++)
        if (!strcmp(g->dir[i], d))
            return i;
    ck_assert_int_lt(g->n, MAX_DIRS);
    snprintf(g->dir[g->n], sizeof(g->dir[0]), "%s", d);
    return g->n++;
}

static void r5_include(int f, const char *inc, bool angle, void *arg)
{
    struct graph *g = arg;
    int a, b;

    if (angle || strncmp(inc, "dm/", 3))
        return;
    a = dir_index(g, files[f].rel);
    b = dir_index(g, inc);
    if (a != b && !g->edge[a][b]) {
        g->edge[a][b] = true;
        snprintf(g->why[a][b], sizeof(g->why[a][b]), "%s includes %s", files[f].rel, inc);
    }
}

static bool dfs(struct graph *g, int v, int *state, int *stack, int depth, struct report *r)
{
    int w, i;

    state[v] = 1;
    stack[depth] = v;
    for (w = 0; w < g->n; w++) {
        if (!g->edge[v][w])
            continue;
        if (state[w] == 1) {
            char path[1024] = "";

            for (i = 0; i <= depth && stack[i] != w; i++)
                ;
            for (; i <= depth; i++) {
                strncat(path, g->why[stack[i]][i < depth ? stack[i + 1] : w], sizeof(path) - strlen(path) - 3);
                strncat(path, "; ", sizeof(path) - strlen(path) - 1);
            }
            violation(r, "R5 include cycle between folders: %s", path);
            return true;
        }
        if (state[w] == 0 && dfs(g, w, state, stack, depth + 1, r))
            return true;
    }
    state[v] = 2;
    return false;
}

static void check_r5(struct report *r)
{
    static struct graph g;
    int state[MAX_DIRS] = { 0 }, stack[MAX_DIRS], f, v;

    memset(&g, 0, sizeof(g));
    for (f = 0; f < n_files; f++)
        if (!strncmp(files[f].rel, "dm/", 3)) {
            dir_index(&g, files[f].rel);
            each_include(f, r5_include, &g);
        }
    for (v = 0; v < g.n; v++)
        if (state[v] == 0 && dfs(&g, v, state, stack, 0, r))
            return;
}

typedef void (*rule_fn)(struct report *);

static int run_rule(const char *root, rule_fn fn, struct report *r)
{
    memset(r, 0, sizeof(*r));
    load_tree(root);
    fn(r);
    return r->n;
}

/* ---- the source tree ---------------------------------------------------- */

static void expect_clean(rule_fn fn, const char *what)
{
    struct report r;

    ck_assert_msg(run_rule(SRC_DIR, fn, &r) == 0, "%s: %d violation(s):\n%s", what, r.n, r.text);
    ck_assert_int_gt(n_files, 50);      /* the walk found the tree */
}

START_TEST(r1_guest_facing_code_is_unprivileged) { expect_clean(check_r1, "R1"); }
END_TEST
START_TEST(r2_guest_memory_through_accel_ops) { expect_clean(check_r2, "R2"); }
END_TEST
START_TEST(r3_privileged_code_parses_no_guest_data) { expect_clean(check_r3, "R3"); }
END_TEST
START_TEST(r4_every_file_classified) { expect_clean(check_r4, "R4"); }
END_TEST
START_TEST(r5_no_include_cycle_between_dm_folders) { expect_clean(check_r5, "R5"); }
END_TEST

/* ---- planted violations: each rule finds its own ------------------------ */

static char plant_root[64];

static void plant(const char *rel, const char *text)
{
    char path[512], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", plant_root, rel);
    for (slash = strchr(path + strlen(plant_root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void plant_setup(void)
{
    snprintf(plant_root, sizeof(plant_root), "/tmp/test-rules-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(plant_root));
    /* clean files of each kind: none of them may be reported */
    plant("dm/devices/uart16550.c", "#include \"dm/core/accel.h\"\n/* #include <xenctrl.h> in a comment */\n"
                            "static const char *s = \"xc_interface_open(\";\n"
                            "int f(void) { return accel_mem_read(0, 0, 0, 0); }\n");
    plant("dm/accel/accel-xen.c", "#include <xenctrl.h>\n#include \"dm/accel/xen-mapcache.h\"\n"
                            "void g(void) { xen_mapcache_map(1); }\n");
    plant("dm/accel/xen-mapcache.h", "int xen_mapcache_map(int);\n");
    plant("restrict/steps.c", "#include <seccomp.h>\n#include \"dm/core/accel.h\"\n");
}

static void plant_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", plant_root);
    ck_assert_int_eq(system(cmd), 0);
}

static void expect_planted(rule_fn fn, const char *needle)
{
    struct report r;

    ck_assert_msg(run_rule(plant_root, fn, &r) == 1, "%d violation(s), wanted 1:\n%s", r.n, r.text);
    ck_assert_msg(strstr(r.text, needle), "report lacks '%s':\n%s", needle, r.text);
}

START_TEST(planted_clean_tree_passes)
{
    struct report r;
    rule_fn rules[] = { check_r1, check_r2, check_r3, check_r4, check_r5 };
    size_t i;

    for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        ck_assert_msg(run_rule(plant_root, rules[i], &r) == 0, "rule %zu:\n%s", i + 1, r.text);
}
END_TEST

START_TEST(planted_r1_header)
{
    plant("dm/storage/ide.c", "#include <xendevicemodel.h>\n");
    expect_planted(check_r1, "R1 dm/storage/ide.c (storage) includes privileged header xendevicemodel.h");
}
END_TEST

START_TEST(planted_r1_call)
{
    plant("dm/accel/xen-ioreq.c", "void h(void)\n{\n    xc_domain_pause(0, 1);\n}\n");
    expect_planted(check_r1, "R1 dm/accel/xen-ioreq.c:3 calls xc_");
}
END_TEST

START_TEST(planted_r1_project_header)
{
    plant("dm/state/migration.c", "#include \"restrict/sandbox.h\"\n");
    expect_planted(check_r1, "includes privileged header restrict/sandbox.h");
}
END_TEST

START_TEST(planted_r2_call)
{
    plant("dm/storage/bmdma.c", "void d(void) { void *p = xenforeignmemory_map (0, 1); }\n");
    expect_planted(check_r2, "R2 dm/storage/bmdma.c:1 calls xenforeignmemory_");
}
END_TEST

START_TEST(planted_r2_header)
{
    plant("dm/core/pci.c", "#include \"dm/accel/qtest-proto.h\"\n");
    expect_planted(check_r2, "R2 dm/core/pci.c includes accelerator-internal dm/accel/qtest-proto.h");
}
END_TEST

START_TEST(planted_r3)
{
    plant("toolstack/state.c", "#include \"dm/storage/ide.h\"\n");
    expect_planted(check_r3, "R3 privileged toolstack/state.c includes dm/storage/ide.h (storage)");
}
END_TEST

START_TEST(planted_r3_host)
{
    plant("dm/host/tap-open.c", "#include \"dm/net/net.h\"\n");
    expect_planted(check_r3, "R3 privileged dm/host/tap-open.c includes dm/net/net.h (net backends");
}
END_TEST

START_TEST(planted_r4)
{
    plant("dm/e1000.c", "int x;\n");
    expect_planted(check_r4, "R4 dm/e1000.c is in no class");
}
END_TEST

START_TEST(planted_r5)
{
    plant("dm/devices/uart.c", "#include \"dm/core/loop.h\"\n");
    plant("dm/core/loop.h", "#include \"dm/state/vmstate.h\"\n");
    plant("dm/state/vmstate.h", "#include \"dm/devices/uart.h\"\n");
    plant("dm/devices/uart.h", "int u;\n");
    plant("dm/core/loop.c", "#include \"dm/core/loop.h\"\n#include \"dm/state/vmstate.h\"\n");
    expect_planted(check_r5, "R5 include cycle between folders");
}
END_TEST

START_TEST(planted_r5_no_cycle)
{
    struct report r;

    plant("dm/devices/uart.c", "#include \"dm/core/loop.h\"\n#include \"dm/state/vmstate.h\"\n");
    plant("dm/state/vmstate.c", "#include \"dm/core/loop.h\"\n");
    plant("dm/core/loop.h", "int l;\n");
    ck_assert_msg(run_rule(plant_root, check_r5, &r) == 0, "%s", r.text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *tree = tcase_create("tree"), *planted = tcase_create("planted");

    tcase_add_test(tree, r1_guest_facing_code_is_unprivileged);
    tcase_add_test(tree, r2_guest_memory_through_accel_ops);
    tcase_add_test(tree, r3_privileged_code_parses_no_guest_data);
    tcase_add_test(tree, r4_every_file_classified);
    tcase_add_test(tree, r5_no_include_cycle_between_dm_folders);
    suite_add_tcase(s, tree);
    tcase_add_checked_fixture(planted, plant_setup, plant_teardown);
    tcase_add_test(planted, planted_clean_tree_passes);
    tcase_add_test(planted, planted_r1_header);
    tcase_add_test(planted, planted_r1_call);
    tcase_add_test(planted, planted_r1_project_header);
    tcase_add_test(planted, planted_r2_call);
    tcase_add_test(planted, planted_r2_header);
    tcase_add_test(planted, planted_r3);
    tcase_add_test(planted, planted_r3_host);
    tcase_add_test(planted, planted_r4);
    tcase_add_test(planted, planted_r5);
    tcase_add_test(planted, planted_r5_no_cycle);
    suite_add_tcase(s, planted);
    return ck_run_suite(s);
}
