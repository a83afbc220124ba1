/* `cputime PROGRAM [ARGS...]`: runs PROGRAM, waits for it and prints the CPU time (user +
   system) it and its reaped descendants used, in nanoseconds, as the last line of stderr (its
   stdout is PROGRAM's); exits with PROGRAM's status. For a program that cannot time itself: on
   a shared machine, time spent waiting for a CPU is noise, and what a sandbox adds to the work
   is CPU. */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: cputime PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("cputime: fork");
        return 125;
    }
    if (pid == 0) {
        execv(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("cputime: wait4");
            return 125;
        }
    }
    fprintf(stderr, "%.0f\n",
            (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
                (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
