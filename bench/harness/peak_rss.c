/* peak_rss: runs a command and reports the peak resident set of that command
 * alone.
 *
 * usage: peak_rss COMMAND [ARG...]
 *
 * Linux carries the memory high-water mark of a process across exec, so a
 * program started straight from Python inherits Python's own peak RSS (tens
 * of MiB) as a floor under its ru_maxrss.  This launcher is small: it forks
 * (a real fork, whose copy of this tiny address space is the only thing
 * carried into the exec), waits with wait4, and appends
 *   peak_rss maxrss_kb=N
 * to stderr.  It then exits the way the command did: same status, or the
 * same signal. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: peak_rss COMMAND [ARG...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("peak_rss: fork");
    return 127;
  }
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    perror("peak_rss: exec");
    _exit(127);
  }
  int status;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) < 0) {
    perror("peak_rss: wait4");
    return 127;
  }
  fprintf(stderr, "peak_rss maxrss_kb=%ld\n", usage.ru_maxrss);
  if (WIFSIGNALED(status)) {
    struct rlimit no_core = {0, 0}; /* the command's crash, not ours, is what matters */
    setrlimit(RLIMIT_CORE, &no_core);
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}
