/* The floor for scripts/bench.sh: a program that does nothing but what the
 * measurement needs (accept the inherited QMP listener, write a greeting,
 * wait), linked the way xsdm is (static PIE, glibc). Its exec -> greeting
 * time and RSS are what glibc start-up and the kernel cost on this machine,
 * so qemu/floor is the best ratio any glibc DM could show here. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const char greeting[] = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
    int lfd = -1, c, i;
    ssize_t r;

    for (i = 1; i < argc; i++) {
        const char *p = strstr(argv[i], "fd=");

        if (p)
            lfd = atoi(p + 3);
    }
    c = accept(lfd, NULL, NULL);
    if (c < 0)
        return 1;
    r = write(c, greeting, sizeof(greeting) - 1);
    (void)r;
    pause();
    return 0;
}
