/* The docs cannot drift from the code:
 *   - docs/restriction.md's syscall table is sc_table[] (name, policy,
 *     argument rule), and the counts it and README.md state are the table's;
 *   - docs/qmp.md has one "### name" section per QMP command of the tables
 *     (test-only commands in their own section, found in dm/qmp/qmp-testhooks.c);
 *   - docs/design.md's module map names every source file of dm/, restrict/,
 *     rlimits/ and toolstack/, and every name in it exists;
 *   - the docs cite the project's own docs/libxl-compat.md, nothing outside
 *     the repository. */
#include <check.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/qmp/qmp.h"
#include "restrict/sandbox.h"
#include "tests/lib/ckrun.h"

static char *slurp(const char *rel)
{
    char path[512];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", SRC_DIR, rel);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

/* Copy s without backticks, trimmed. */
static void clean(char *out, size_t outlen, const char *s, size_t len)
{
    size_t n = 0, i;

    while (len && (*s == ' '))
        s++, len--;
    while (len && (s[len - 1] == ' '))
        len--;
    for (i = 0; i < len && n + 1 < outlen; i++)
        if (s[i] != '`')
            out[n++] = s[i];
    out[n] = '\0';
}

/* The cells of a markdown table row "| a | b | c |"; returns the count. */
static int cells(const char *line, char out[][512], int max)
{
    const char *p = line, *bar;
    int n = 0;

    if (*p != '|')
        return 0;
    p++;
    while (n < max && (bar = strchr(p, '|')) && bar < strchrnul(p, '\n')) {
        clean(out[n++], sizeof(out[0]), p, (size_t)(bar - p));
        p = bar + 1;
    }
    return n;
}

/* The lines of the first table after a line starting with header. */
static const char *table_after(const char *doc, const char *header)
{
    const char *t = strstr(doc, header);

    ck_assert_msg(t != NULL, "table header '%s' not found", header);
    t = strchr(t, '\n');            /* header row */
    ck_assert_ptr_nonnull(t);
    t = strchr(t + 1, '\n');        /* |---| row */
    ck_assert_ptr_nonnull(t);
    return t + 1;
}

static const char *next_line(const char *p)
{
    p = strchr(p, '\n');
    return p ? p + 1 : NULL;
}

/* ---- docs/restriction.md vs sc_table[] ---------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD true
#else
#define ASAN_BUILD false
#endif

START_TEST(restriction_table_is_the_seccomp_table)
{
    char *doc = slurp("docs/restriction.md");
    const char *p = table_after(doc, "| syscall | arguments | why |");
    bool seen[64] = { false };
    struct seccomp_row_info r;
    size_t i, n_rows;
    char c[3][512];

    for (n_rows = 0; seccomp_row(n_rows, &r); n_rows++)
        ;
    ck_assert_uint_le(n_rows, 64);
    for (; p && cells(p, c, 3) == 3; p = next_line(p)) {
        bool xen = false, asan_only = false, found = false;
        char *paren = strstr(c[0], " (");

        if (paren) {
            xen = !strcmp(paren, " (Xen only)");
            asan_only = !strcmp(paren, " (ASan builds only)");
            ck_assert_msg(xen || asan_only, "restriction.md: unknown note on row '%s'", c[0]);
            *paren = '\0';
        }
        if (asan_only && !ASAN_BUILD)
            continue;
        for (i = 0; i < n_rows && !found; i++) {
            seccomp_row(i, &r);
            if (strcmp(r.name, c[0]) || seen[i])
                continue;
            found = true;
            seen[i] = true;
            ck_assert_msg(r.xen_only == xen, "restriction.md: %s is%s Xen-only in the code", c[0],
                          r.xen_only ? "" : " not");
            ck_assert_msg(!strcmp(r.args, c[1]), "restriction.md: %s arguments '%s', the table says '%s'",
                          c[0], c[1], r.args);
        }
        ck_assert_msg(found, "restriction.md lists %s, which sc_table[] does not allow", c[0]);
    }
    for (i = 0; i < n_rows; i++) {
        seccomp_row(i, &r);
        ck_assert_msg(seen[i], "sc_table[] allows %s, which restriction.md does not list", r.name);
    }
    free(doc);
}
END_TEST

START_TEST(stated_counts_are_the_tables)
{
    char *doc = slurp("docs/restriction.md"), *readme = slurp("README.md");
    size_t q = seccomp_allowlist_count_for(SECCOMP_POLICY_QTEST) - ASAN_BUILD;
    size_t x = seccomp_allowlist_count_for(SECCOMP_POLICY_XEN) - ASAN_BUILD;
    char want[160];

    snprintf(want, sizeof(want), "The qtest policy allows %zu syscalls, the Xen policy %zu", q, x);
    ck_assert_msg(strstr(doc, want), "restriction.md lacks '%s'", want);
    snprintf(want, sizeof(want), "seccomp allowlist of %zu syscalls (%zu on Xen)", q, x);
    ck_assert_msg(strstr(readme, want), "README.md lacks '%s'", want);
    free(doc);
    free(readme);
}
END_TEST

/* ---- docs/qmp.md vs the command tables ---------------------------------- */

START_TEST(qmp_doc_lists_every_command)
{
    char *doc = slurp("docs/qmp.md"), *hooks = slurp("dm/qmp/qmp-testhooks.c");
    const char *p, *testonly = strstr(doc, "\n## Test-only");
    const struct qmp_command *cmd;
    char want[160];
    size_t i;

    ck_assert_ptr_nonnull(testonly);
    for (i = 0; (cmd = qmp_command_at(i)); i++) {
        snprintf(want, sizeof(want), "\n### %s\n", cmd->name);
        p = strstr(doc, want);
        ck_assert_msg(p && p < testonly, "qmp.md has no section '### %s'", cmd->name);
    }
    ck_assert_uint_gt(i, 10);
    for (p = strstr(doc, "\n### "); p; p = strstr(p + 1, "\n### ")) {
        char name[128];
        const char *e = strchr(p + 5, '\n');
        bool found = false;

        ck_assert_ptr_nonnull(e);
        clean(name, sizeof(name), p + 5, (size_t)(e - p - 5));
        if (p > testonly) {
            snprintf(want, sizeof(want), "{ \"%s\",", name);
            ck_assert_msg(strstr(hooks, want), "qmp.md: test-only '%s' is not in dm/qmp/qmp-testhooks.c", name);
            continue;
        }
        for (i = 0; (cmd = qmp_command_at(i)) && !found; i++)
            found = !strcmp(cmd->name, name);
        ck_assert_msg(found, "qmp.md documents '%s', which no command table has", name);
    }
    free(doc);
    free(hooks);
}
END_TEST

/* ---- docs/design.md's module map vs the files --------------------------- */

#define MAX_FILES 512
static char tree[MAX_FILES][256];
static int n_tree;
static size_t src_len;

static int add_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    ck_assert_int_lt(n_tree, MAX_FILES);
    snprintf(tree[n_tree++], sizeof(tree[0]), "%s", path + src_len + 1);
    return 0;
}

static bool is_source(const char *rel)
{
    static const char *const roots[] = { "dm/", "restrict/", "rlimits/", "toolstack/" };
    size_t i, l = strlen(rel);

    if (l < 2 || rel[l - 2] != '.' || (rel[l - 1] != 'c' && rel[l - 1] != 'h'))
        return false;
    for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
        if (!strncmp(rel, roots[i], strlen(roots[i])))
            return true;
    return false;
}

START_TEST(design_map_names_every_file)
{
    static const char *const dirs[] = { "dm", "restrict", "rlimits", "toolstack", "tests" };
    static char globs[256][128];
    char *doc = slurp("docs/design.md");
    const char *p = table_after(doc, "| folder | files | owns |");
    char c[3][512], path[512];
    int n_globs = 0, g, f;
    size_t i;

    src_len = strlen(SRC_DIR);
    n_tree = 0;
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", SRC_DIR, dirs[i]);
        ck_assert_int_eq(nftw(path, add_file, 16, FTW_PHYS), 0);
    }
    for (; p && cells(p, c, 3) == 3; p = next_line(p)) {
        char *tok, *save = NULL, *open;

        /* a note after a name, "x.c (what, why)", is not a name */
        while ((open = strstr(c[1], " (")) && strchr(open, ')'))
            memmove(open, strchr(open, ')') + 1, strlen(strchr(open, ')') + 1) + 1);
        for (tok = strtok_r(c[1], ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            ck_assert_int_lt(n_globs, 256);
            snprintf(globs[n_globs++], sizeof(globs[0]), "%s", tok);
        }
    }
    ck_assert_int_gt(n_globs, 10);
    /* every name in the map exists */
    for (g = 0; g < n_globs; g++) {
        bool hit = false;

        for (f = 0; f < n_tree && !hit; f++)
            hit = !fnmatch(globs[g], tree[f], FNM_PATHNAME);
        ck_assert_msg(hit, "design.md's module map names %s, which matches no file", globs[g]);
    }
    /* every source file is in the map */
    for (f = 0; f < n_tree; f++) {
        bool hit = false;

        if (!is_source(tree[f]))
            continue;
        for (g = 0; g < n_globs && !hit; g++)
            hit = !fnmatch(globs[g], tree[f], FNM_PATHNAME);
        ck_assert_msg(hit, "%s is not in design.md's module map", tree[f]);
    }
    free(doc);
}
END_TEST

/* ---- the contract is the project's own ---------------------------------- */

START_TEST(docs_cite_nothing_outside_the_repository)
{
    static const char *const docs[] = { "README.md", "docs/design.md", "docs/devices.md",
                                        "docs/devices-char.md", "docs/devices-storage.md", "docs/qmp.md",
                                        "docs/restriction.md", "docs/state-format.md",
                                        "docs/threat-model.md", "docs/xen.md", "docs/libxl-compat.md" };
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char *d = slurp(docs[i]);

        ck_assert_msg(!strstr(d, "../shared") && !strstr(d, "/work/shared"),
                      "%s cites material outside the repository: cite docs/libxl-compat.md", docs[i]);
        free(d);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("docs");
    TCase *tc = tcase_create("drift");

    tcase_add_test(tc, restriction_table_is_the_seccomp_table);
    tcase_add_test(tc, stated_counts_are_the_tables);
    tcase_add_test(tc, qmp_doc_lists_every_command);
    tcase_add_test(tc, design_map_names_every_file);
    tcase_add_test(tc, docs_cite_nothing_outside_the_repository);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
