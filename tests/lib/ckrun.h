/* How every unit test binary runs its suite: CK_NORMAL output, libcheck's
 * fork mode left alone (a child per test unless CK_FORK=no is in the
 * environment), exit status 0 only when no test failed.
 * Header only, and the one tests/lib file with libcheck: the fuzzers compile
 * every .c file of tests/lib without it, and never include this. */
#ifndef XSDM_TEST_CKRUN_H
#define XSDM_TEST_CKRUN_H

#include <check.h>
#include <stdlib.h>

/* Runs s (the runner takes it over and frees it); EXIT_SUCCESS or EXIT_FAILURE. */
static inline int ck_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
