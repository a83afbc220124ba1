/* stat() in a loop: `stat N PATH...` makes N stat calls, cycling over the paths, and prints the
   nanoseconds they took. Landlock does not govern stat, so under sandlock this measures what the
   seccomp filter adds to a cheap call that it allows. The time is this process's CPU time (user +
   system), not wall time: on a shared machine, time spent waiting for a CPU is noise. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: stat N PATH...\n");
        return 2;
    }
    long calls = atol(argv[1]);
    int paths = argc - 2;
    struct stat st;
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (long i = 0; i < calls; i++) {
        if (stat(argv[2 + i % paths], &st) != 0) {
            perror(argv[2 + i % paths]);
            return 1;
        }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    printf("%.0f\n", (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec));
    return 0;
}
