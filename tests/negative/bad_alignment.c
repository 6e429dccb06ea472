/* Alignments that are not powers of two, or (for posix_memalign) smaller
 * than a pointer: EINVAL, and nothing else changes.  posix_memalign returns
 * the error, leaving *out and errno alone; aligned_alloc returns NULL with
 * errno EINVAL.  Nothing is printed: a bad argument is not a bad free. */
#include <errno.h>

#include "common.h"

int main(int argc, char** argv)
{
  (void)argc;
  const size_t bad_posix[] = {0, 1, 3, sizeof(void*) / 2, 24, 4096 + 64};
  for (size_t i = 0; i < sizeof bad_posix / sizeof bad_posix[0]; i++) {
    size_t alignment = launder_size(bad_posix[i]);
    void* out = &out;
    errno = 12345;
    int rc = posix_memalign(&out, alignment, 10);
    CHECKF(rc == EINVAL && out == &out && errno == 12345, "alignment %zu: rc %d, errno %d", alignment, rc,
           errno);
  }

  const size_t bad_aligned[] = {0, 3, 24, 4096 + 64};
  for (size_t i = 0; i < sizeof bad_aligned / sizeof bad_aligned[0]; i++) {
    size_t alignment = launder_size(bad_aligned[i]);
    errno = 0;
    void* p = aligned_alloc(alignment, 10);
    CHECKF(p == NULL && errno == EINVAL, "alignment %zu: got %p, errno %d", alignment, p, errno);
  }

  check_heap_works(64);
  check_report(argv[0]);
  return 0;
}
