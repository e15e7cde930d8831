/* The reaper against an adversary that runs as the target uid and forks as
 * fast as it can (parents also exit, so its pids keep moving). The bomb is
 * bounded by RLIMIT_NPROC so the machine survives. 100 rounds, all must end
 * with no process of the uid left. Runs as root. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/ckrun.h"
#include "toolstack/reaper.h"

/* Uids with no passwd entry and no process, distinct per test process so
 * two runs of this binary on one machine cannot reap each other's bombs. */
static uid_t uid_base;
#define REAPER_UID  (uid_base)
#define TARGET_UID  (uid_base + 1)
#define TARGET_UID2 (uid_base + 2)
#define BOMB_NPROC  24
#define ROUNDS      100

static char lock_path[64];

static void setup(void)
{
    snprintf(lock_path, sizeof(lock_path), "/tmp/xsdm-reaper-lock-%d", (int)getpid());
    /* orphans of the bomb come back to us to be reaped, not to init */
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void teardown(void)
{
    unlink(lock_path);
}

static void reap_zombies(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* Start a bomb as uid; returns once at least `want` of its processes are
 * alive (bounded wait). */
static pid_t start_bomb(uid_t uid, int want)
{
    struct rlimit rl = { BOMB_NPROC, BOMB_NPROC };
    struct timespec ts = { 0, 1000000 };
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* a bomb that outlives a failed test still stops by itself */
        time_t deadline = time(NULL) + 30;
        unsigned n = 0;

        if (setrlimit(RLIMIT_NPROC, &rl) < 0 || setresgid(uid, uid, uid) < 0 ||
            setresuid(uid, uid, uid) < 0)
            _exit(99);
        for (;;) {
            pid_t p;

            if (time(NULL) > deadline)
                _exit(0);
            p = fork();

            /* the parent moves on every third child: pids keep changing */
            if (p > 0 && ++n % 3 == 0)
                _exit(0);
        }
    }
    for (int i = 0; i < 5000; i++) {
        int n = reaper_count_uid(uid, 0);

        reap_zombies();
        if (n >= want)
            break;
        nanosleep(&ts, NULL);
    }
    return pid;
}

START_TEST(reaper_beats_fork_bomb)
{
    char err[256];
    int won = 0;

    for (int round = 0; round < ROUNDS; round++) {
        start_bomb(TARGET_UID, BOMB_NPROC / 2);
        ck_assert_int_ge(reaper_count_uid(TARGET_UID, 0), 1);
        err[0] = 0;
        if (reaper_kill_uid(lock_path, REAPER_UID, TARGET_UID, 10000, err, sizeof(err)) == 0 &&
            reaper_count_uid(TARGET_UID, 0) == 0)
            won++;
        else
            fprintf(stderr, "round %d lost: %s\n", round, err);
        reap_zombies();
    }
    fprintf(stderr, "reaper won %d of %d rounds against the fork bomb\n", won, ROUNDS);
    ck_assert_int_eq(won, ROUNDS);
}
END_TEST

START_TEST(reaper_spares_other_uids)
{
    char err[256];
    pid_t other;

    /* a bystander of another uid must survive the reaper */
    other = start_bomb(TARGET_UID2, 1);
    start_bomb(TARGET_UID, 2);
    ck_assert_int_eq(reaper_kill_uid(lock_path, REAPER_UID, TARGET_UID, 10000, err, sizeof(err)), 0);
    ck_assert_int_eq(reaper_count_uid(TARGET_UID, 0), 0);
    ck_assert_int_ge(reaper_count_uid(TARGET_UID2, 0), 1);
    ck_assert_int_eq(reaper_kill_uid(lock_path, REAPER_UID, TARGET_UID2, 10000, err, sizeof(err)), 0);
    ck_assert_int_eq(reaper_count_uid(TARGET_UID2, 0), 0);
    (void)other;
    reap_zombies();
}
END_TEST

START_TEST(reaper_with_nothing_to_kill)
{
    char err[256];

    ck_assert_int_eq(reaper_count_uid(TARGET_UID, 0), 0);
    ck_assert_int_eq(reaper_kill_uid(lock_path, REAPER_UID, TARGET_UID, 1000, err, sizeof(err)), 0);
}
END_TEST

START_TEST(reaper_refuses_root)
{
    char err[256] = "";

    ck_assert_int_eq(reaper_kill_uid(lock_path, REAPER_UID, 0, 1000, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "uid 0"));
    ck_assert_int_eq(reaper_kill_uid(lock_path, 0, TARGET_UID, 1000, err, sizeof(err)), -1);
}
END_TEST

START_TEST(reaper_lock_failure_reported)
{
    char err[256] = "";

    ck_assert_int_eq(reaper_kill_uid("/nonexistent-dir/lock", REAPER_UID, TARGET_UID, 1000, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "lock"));
}
END_TEST

START_TEST(count_sees_a_process)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setresuid(TARGET_UID2, TARGET_UID2, TARGET_UID2) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    for (int i = 0; i < 2000 && reaper_count_uid(TARGET_UID2, 0) < 1; i++)
        usleep(1000);
    ck_assert_int_eq(reaper_count_uid(TARGET_UID2, 0), 1);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    /* a zombie is not counted: here it is already reaped, and 0 is left */
    ck_assert_int_eq(reaper_count_uid(TARGET_UID2, 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reaper");

    /* Children lower RLIMIT_FSIZE while their stderr may be a large CI log
     * file: a log line must fail with EFBIG, not kill them (as in the DM). */
    signal(SIGXFSZ, SIG_IGN);

    uid_base = 2100000000u + (uid_t)(getpid() % 4000000) * 4;
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reaper_with_nothing_to_kill);
    tcase_add_test(tc, reaper_refuses_root);
    tcase_add_test(tc, reaper_lock_failure_reported);
    tcase_add_test(tc, count_sees_a_process);
    tcase_add_test(tc, reaper_spares_other_uids);
    tcase_add_test(tc, reaper_beats_fork_bomb);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
