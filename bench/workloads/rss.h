/* The resident set of this process now, from /proc/self/statm, read with
 * plain system calls into a stack buffer: sampling must not allocate, or it
 * would disturb the very heap it measures. */
#ifndef BENCH_RSS_H
#define BENCH_RSS_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* In KiB; -1 if statm cannot be read. */
static inline long rss_kb(void) {
  char text[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  char* end;
  strtoul(text, &end, 10); /* total size; the resident pages come second */
  long pages = (long)strtoul(end, NULL, 10);
  return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
