/* `floor MODES [-r PATH]... [-w PATH]... -- PROGRAM [ARGS...]`: the kernel mechanisms alone,
   without sandlock, to tell their cost from sandlock's own. MODES is a comma-separated list:
     seccomp   a one-instruction RET_ALLOW seccomp filter (what any filter costs);
     landlock  a Landlock ruleset that handles every filesystem right this kernel knows and
               grants read and execute below each -r PATH, everything below each -w PATH;
     landlock-writes
               the same without the read rights, TRUNCATE and IOCTL_DEV: reads, truncate and
               device ioctls are not confined. Landlock checks an open only for the rights its
               ruleset handles, so this shows what confining reads costs an open.
   Then it execs PROGRAM in place: no fork, no supervisor. */
#define _GNU_SOURCE /* O_PATH */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Older uapi headers lack the rights of later ABIs. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define READ_RIGHTS                                                                            \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* The rights a rule on a non-directory may carry. */
#define FILE_RIGHTS                                                                            \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

static int add_rule(int ruleset, const char *path, uint64_t access) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        access &= FILE_RIGHTS;
    struct landlock_path_beneath_attr rule = {.allowed_access = access, .parent_fd = fd};
    long r = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    close(fd);
    if (r != 0) {
        perror("landlock_add_rule");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: floor seccomp|landlock|landlock-writes|seccomp,landlock [-r PATH]... "
                        "[-w PATH]... -- PROGRAM [ARGS...]\n");
        return 2;
    }
    int want_seccomp = strstr(argv[1], "seccomp") != NULL;
    int want_landlock = strstr(argv[1], "landlock") != NULL;
    int writes_only = strstr(argv[1], "landlock-writes") != NULL;
    int i = 2;
    int ruleset = -1;
    if (want_landlock) {
        long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (abi < 1) {
            perror("landlock");
            return 1;
        }
        /* ABI 1 knows 13 rights; 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV. */
        uint64_t handled = (1ULL << 13) - 1;
        if (abi >= 2)
            handled |= LANDLOCK_ACCESS_FS_REFER;
        if (abi >= 3)
            handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
        if (abi >= 5)
            handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
        if (writes_only)
            handled &= ~(READ_RIGHTS | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV);
        struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
        ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
        if (ruleset < 0) {
            perror("landlock_create_ruleset");
            return 1;
        }
        for (; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
            uint64_t access = strcmp(argv[i], "-w") == 0 ? handled : READ_RIGHTS;
            /* A rule must grant something the ruleset handles. */
            if ((access & handled) != 0 && add_rule(ruleset, argv[i + 1], access & handled) != 0)
                return 1;
        }
    }
    while (i < argc && strcmp(argv[i], "--") != 0)
        i++;
    if (i + 1 >= argc) {
        fprintf(stderr, "floor: no program after --\n");
        return 2;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("prctl");
        return 1;
    }
    if (want_landlock && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
        perror("landlock_restrict_self");
        return 1;
    }
    if (want_seccomp) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
            perror("seccomp");
            return 1;
        }
    }
    execv(argv[i + 1], argv + i + 1);
    perror(argv[i + 1]);
    return 127;
}
