/* Measuring helper for scripts/bench.sh (built by it, not by the Makefile).
 *
 *   bench-greeting RUNS [--qtest] -- DM ARGS...
 *
 * Each run: create the QMP listening socket the way libxl does (bound and
 * listening before exec, inherited as -chardev socket,fd=N), start the DM,
 * connect, and time exec -> the greeting line having arrived in full. The
 * clock starts in the child, just before execv(2): fork(2) is the
 * launcher's cost (about 0.1 ms here, the same for every program measured),
 * not the DM's, and the metric starts at exec. Then read VmRSS of
 * the DM, end it with SIGTERM, reap it.
 * --qtest adds "-qtest unix:PATH" and accepts the DM's qtest connection (it
 * connects as a client before it serves QMP). Prints one line per run:
 * "<microseconds> <VmRSS kB>". Bounded waits only: 10 s per run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXARGS 64

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int listener(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "%s: path too long\n", path);
        exit(2);
    }
    memcpy(sa.sun_path, path, strlen(path));
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        perror(path);
        exit(2);
    }
    return fd;
}

static long vmrss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* One shared page: the child writes the exec time there, the parent reads
 * it once the greeting has come (the child's write happened before). */
static volatile double *exec_t0;

static int one_run(char **dm_argv, int dm_argc, int qtest, const char *dir)
{
    char qmp_path[256], qt_path[256], chardev[128], qtarg[300];
    char *argv[MAXARGS + 8];
    int lfd, qfd = -1, c, qc = -1, n = 0, i, status;
    double t0, t1 = -1;
    char buf[4096];
    size_t got = 0;
    pid_t pid;
    long rss;

    snprintf(qmp_path, sizeof(qmp_path), "%s/qmp", dir);
    snprintf(qt_path, sizeof(qt_path), "%s/qtest", dir);
    lfd = listener(qmp_path);
    if (qtest)
        qfd = listener(qt_path);
    snprintf(chardev, sizeof(chardev), "socket,id=bench,fd=%d,server=on,wait=off", lfd);
    snprintf(qtarg, sizeof(qtarg), "unix:%s", qt_path);
    for (i = 0; i < dm_argc && n < MAXARGS; i++)
        argv[n++] = dm_argv[i];
    argv[n++] = "-chardev";
    argv[n++] = chardev;
    argv[n++] = "-mon";
    argv[n++] = "chardev=bench,mode=control";
    if (qtest) {
        argv[n++] = "-qtest";
        argv[n++] = qtarg;
    }
    argv[n] = NULL;

    *exec_t0 = -1;
    t0 = now_us();              /* bounds the wait below; not the result */
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);

        dup2(devnull, 1);
        dup2(devnull, 2);
        *exec_t0 = now_us();
        execv(argv[0], argv);
        _exit(127);
    }
    close(lfd);
    /* libxl's listening socket accepts the connection at once (backlog);
     * the greeting comes when the DM serves. */
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    {
        struct sockaddr_un sa;

        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, qmp_path, strlen(qmp_path));   /* checked by listener() */
        if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            perror("connect");
            exit(2);
        }
    }
    while (now_us() - t0 < 10e6) {
        struct pollfd p[2] = { { .fd = c, .events = POLLIN }, { .fd = qfd, .events = POLLIN } };
        int np = qfd >= 0 && qc < 0 ? 2 : 1;

        if (poll(p, (nfds_t)np, 100) <= 0)
            continue;
        if (np == 2 && (p[1].revents & POLLIN))
            qc = accept(qfd, NULL, NULL);
        if (p[0].revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(c, buf + got, sizeof(buf) - 1 - got);

            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = 0;
            if (strstr(buf, "\r\n")) {
                t1 = now_us();
                break;
            }
        }
    }
    rss = vmrss_kb(pid);
    kill(pid, SIGTERM);
    for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
        usleep(20000);
    if (i == 100) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    close(c);
    if (qc >= 0)
        close(qc);
    if (qfd >= 0)
        close(qfd);
    unlink(qmp_path);
    unlink(qt_path);
    if (t1 < 0 || !strstr(buf, "\"QMP\"") || *exec_t0 < 0) {
        fprintf(stderr, "bench: no QMP greeting from %s\n", argv[0]);
        return -1;
    }
    printf("%.0f %ld\n", t1 - *exec_t0, rss);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/xsdm-bench-XXXXXX";
    int runs, qtest = 0, i = 2, r;

    if (argc < 4)
        goto usage;
    runs = atoi(argv[1]);
    if (!strcmp(argv[i], "--qtest")) {
        qtest = 1;
        i++;
    }
    if (i >= argc || strcmp(argv[i], "--"))
        goto usage;
    i++;
    if (i >= argc || !mkdtemp(dir))
        goto usage;
    signal(SIGPIPE, SIG_IGN);
    exec_t0 = mmap(NULL, sizeof(*exec_t0), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (exec_t0 == MAP_FAILED) {
        perror("mmap");
        rmdir(dir);
        return 1;
    }
    for (r = 0; r < runs; r++)
        if (one_run(argv + i, argc - i, qtest, dir) < 0) {
            rmdir(dir);
            return 1;
        }
    rmdir(dir);
    return 0;
usage:
    fprintf(stderr, "usage: %s RUNS [--qtest] -- DM ARGS...\n", argv[0]);
    return 2;
}
