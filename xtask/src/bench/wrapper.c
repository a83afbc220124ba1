/*
 * The smallest useful process wrapper: fork, exec argv[1..], wait, exit with the child's
 * status. `cargo xtask bench startup` uses it as the floor a sandbox launcher is compared
 * with: whatever a launcher costs beyond this is its own work.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wrapper PROGRAM [ARGS...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("wrapper: fork");
		return 125;
	}
	if (pid == 0) {
		execv(argv[1], argv + 1);
		perror("wrapper: execv");
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("wrapper: waitpid");
			return 125;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
