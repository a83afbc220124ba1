/* getppid in a loop, as a raw system call: the cost the seccomp filter adds to a call that it
   does not notify. Prints nanoseconds per call. With the argument "floor", it first installs a
   one-instruction RET_ALLOW filter: what any seccomp filter costs on this kernel, the floor of
   the sandboxed number. The time is this process's CPU time (user + system), not wall time: on
   a shared machine, time spent waiting for a CPU is noise, and the calls' cost is all CPU. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "floor") == 0) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
            perror("seccomp");
            return 1;
        }
    }
    const long calls = 2000000;
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (long i = 0; i < calls; i++)
        syscall(SYS_getppid);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("%.1f\n", ns / calls);
    return 0;
}
