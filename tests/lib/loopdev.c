/* Loop devices seen from the test side (tests/lib/loopdev.h). */
#include "tests/lib/loopdev.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool loop_backs(const char *image)
{
    char path[300], back[600];
    struct dirent *de;
    DIR *d = opendir("/sys/block");
    bool found = false;

    if (!d)
        return false;
    while (!found && (de = readdir(d))) {
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", de->d_name);
        /* unbound loop devices have no backing_file; one may go meanwhile */
        if (strncmp(de->d_name, "loop", 4) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            continue;
        n = read(fd, back, sizeof(back) - 1);
        close(fd);
        back[n > 0 ? n : 0] = 0;
        found = strstr(back, image) != NULL;
    }
    closedir(d);
    return found;
}

bool loop_gone(const char *image)
{
    for (int i = 0; i < 500 && loop_backs(image); i++)
        usleep(10000);
    return !loop_backs(image);
}
