/* runas UID PROG ARGS...: drops to UID (and the same GID, no supplementary groups), keeps the
 * environment, and execs PROG. The postgres image starts its server with it (busybox's su and
 * setpriv cannot pass options through to the program). */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: runas UID PROG ARGS...\n");
        return 2;
    }
    uid_t id = (uid_t)strtoul(argv[1], NULL, 10);
    if (setgroups(0, NULL) != 0 || setgid(id) != 0 || setuid(id) != 0) {
        perror("runas: dropping privileges");
        return 1;
    }
    execvp(argv[2], argv + 2);
    perror("runas: exec");
    return 127;
}
