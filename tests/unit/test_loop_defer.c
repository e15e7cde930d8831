/* The loop's deferred work (dm/core/loop.h): callbacks run after a round
 * in the order deferred, once however often deferred; one deferred from a
 * callback waits for the next round; a cancelled one never runs, even when
 * a callback ahead of it in the same round cancels it; a round with work
 * owed does not block. */
#include <check.h>
#include <string.h>

#include "dm/core/loop.h"
#include "tests/lib/ckrun.h"

static struct loop *l;
static char trace[32];
static struct loop_defer a, b, c;

static void add(char ch)
{
    size_t n = strlen(trace);

    ck_assert_uint_lt(n + 1, sizeof(trace));
    trace[n] = ch;
}

static void cb_plain(void *opaque) { add(*(const char *)opaque); }

/* Runs, then defers itself again (a slice that is not the last). */
static void cb_again(void *opaque)
{
    add('A');
    loop_defer(l, &a);
}

/* Cancels c, queued behind it in the same round. */
static void cb_cancel_c(void *opaque)
{
    add('B');
    loop_defer_cancel(l, &c);
}

static void setup(void)
{
    l = loop_new();
    ck_assert_ptr_nonnull(l);
    memset(trace, 0, sizeof(trace));
}

static void teardown(void)
{
    loop_free(l);
    l = NULL;
}

START_TEST(order_and_once)
{
    loop_defer_init(&a, cb_plain, "a");
    loop_defer_init(&b, cb_plain, "b");
    loop_defer_init(&c, cb_plain, "c");
    loop_defer(l, &b);
    loop_defer(l, &a);
    loop_defer(l, &b);                  /* already pending: nothing more */
    loop_defer(l, &c);
    ck_assert_str_eq(trace, "");        /* nothing before a round */
    /* Work owed: the round must not block (a hang: libcheck's timeout). */
    ck_assert_int_ge(loop_once(l, -1), 0);
    ck_assert_str_eq(trace, "bac");
    ck_assert_int_ge(loop_once(l, 0), 0);
    ck_assert_str_eq(trace, "bac");
}
END_TEST

START_TEST(redefer_waits_for_the_next_round)
{
    loop_defer_init(&a, cb_again, NULL);
    loop_defer(l, &a);
    ck_assert_int_ge(loop_once(l, 0), 0);
    ck_assert_str_eq(trace, "A");
    ck_assert_int_ge(loop_once(l, -1), 0);
    ck_assert_str_eq(trace, "AA");
    loop_defer_cancel(l, &a);
    ck_assert_int_ge(loop_once(l, 0), 0);
    ck_assert_str_eq(trace, "AA");
}
END_TEST

START_TEST(cancel_before_and_during_a_round)
{
    loop_defer_init(&a, cb_plain, "a");
    loop_defer_init(&b, cb_cancel_c, NULL);
    loop_defer_init(&c, cb_plain, "c");
    loop_defer(l, &a);
    loop_defer_cancel(l, &a);
    loop_defer_cancel(l, &a);           /* not pending: nothing */
    loop_defer(l, &b);
    loop_defer(l, &c);
    ck_assert_int_ge(loop_once(l, 0), 0);
    ck_assert_str_eq(trace, "B");
    ck_assert(!c.pending);
    loop_defer(l, &c);                  /* usable again */
    ck_assert_int_ge(loop_once(l, 0), 0);
    ck_assert_str_eq(trace, "Bc");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loop_defer");
    TCase *tc = tcase_create("defer");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, order_and_once);
    tcase_add_test(tc, redefer_waits_for_the_next_round);
    tcase_add_test(tc, cancel_before_and_during_a_round);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
