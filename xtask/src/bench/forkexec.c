/* `forkexec N PROGRAM`: N times fork, exec PROGRAM (no arguments), wait; prints the nanoseconds
   the N rounds took, in CPU time (user + system) of this process and its children: on a shared
   machine, time spent waiting for a CPU is noise. A shell script or a build does this all day,
   and every exec is where Landlock and the seccomp filter do their work. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* CPU time used so far by this process and its reaped children, in nanoseconds. */
static double cpu_ns(void) {
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return (self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec +
            children.ru_stime.tv_sec) * 1e9 +
           (self.ru_utime.tv_usec + self.ru_stime.tv_usec + children.ru_utime.tv_usec +
            children.ru_stime.tv_usec) * 1e3;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: forkexec N PROGRAM\n");
        return 2;
    }
    long rounds = atol(argv[1]);
    char *child_argv[] = {argv[2], NULL};
    double start = cpu_ns();
    for (long i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            execv(argv[2], child_argv);
            _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                perror("waitpid");
                return 1;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "forkexec: %s failed (status %#x)\n", argv[2], status);
            return 1;
        }
    }
    printf("%.0f\n", cpu_ns() - start);
    return 0;
}
