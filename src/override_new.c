/* The C++ allocation operators, written in C under their mangled names so
 * that the library does not link libstdc++: a C program under LD_PRELOAD
 * would load it for nothing (1.4 MiB of resident memory, and its start-up).
 *
 * The C++ rules on failure: call the installed new-handler and retry; with
 * none left, the throwing forms throw std::bad_alloc and the nothrow forms
 * return NULL.  The handler and the throw come from the program's own
 * libstdc++, reached through weak references: a program that calls operator
 * new has it loaded (with another C++ runtime, running out of memory with
 * no handler aborts with a message instead).  One difference from a C++
 * implementation: a handler that throws from within a nothrow form is not
 * caught there (C cannot catch), so the exception reaches the caller
 * instead of NULL. */
#include "hakmem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define HAK_PUBLIC __attribute__((visibility("default")))

typedef void (*new_handler_t)(void);

/* std::get_new_handler(), and libstdc++'s throw of std::bad_alloc. */
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static void* allocate(size_t size, size_t alignment) {
  return alignment == 0 ? hak_malloc(size) : hak_aligned_alloc(alignment, size);
}

/* Runs the new-handler; false when there is none. */
static bool call_new_handler(void) {
  new_handler_t handler = _ZSt15get_new_handlerv != NULL ? _ZSt15get_new_handlerv() : NULL;
  if (handler == NULL) return false;
  handler();
  return true;
}

__attribute__((noreturn)) static void throw_bad_alloc(void) {
  if (_ZSt17__throw_bad_allocv != NULL) _ZSt17__throw_bad_allocv();
  static const char message[] = "hakmem: operator new: out of memory, and no libstdc++ to throw\n";
  (void)!write(STDERR_FILENO, message, sizeof message - 1);
  abort();
}

static void* allocate_or_throw(size_t size, size_t alignment) {
  for (;;) {
    void* p = allocate(size, alignment);
    if (p != NULL) return p;
    if (!call_new_handler()) throw_bad_alloc();
  }
}

static void* allocate_nothrow(size_t size, size_t alignment) {
  for (;;) {
    void* p = allocate(size, alignment);
    if (p != NULL || !call_new_handler()) return p;
  }
}

/* operator new and new[]: plain, nothrow, aligned, aligned nothrow. */
HAK_PUBLIC void* _Znwm(size_t n) { return allocate_or_throw(n, 0); }
HAK_PUBLIC void* _Znam(size_t n) { return allocate_or_throw(n, 0); }
HAK_PUBLIC void* _ZnwmRKSt9nothrow_t(size_t n, const void* tag) {
  return allocate_nothrow(n, 0);
}
HAK_PUBLIC void* _ZnamRKSt9nothrow_t(size_t n, const void* tag) {
  return allocate_nothrow(n, 0);
}
HAK_PUBLIC void* _ZnwmSt11align_val_t(size_t n, size_t a) { return allocate_or_throw(n, a); }
HAK_PUBLIC void* _ZnamSt11align_val_t(size_t n, size_t a) { return allocate_or_throw(n, a); }
HAK_PUBLIC void* _ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void* tag) {
  return allocate_nothrow(n, a);
}
HAK_PUBLIC void* _ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void* tag) {
  return allocate_nothrow(n, a);
}

/* operator delete and delete[]: plain, sized, nothrow, aligned, sized
 * aligned, aligned nothrow.  The size and alignment are not needed. */
HAK_PUBLIC void _ZdlPv(void* p) { hak_free(p); }
HAK_PUBLIC void _ZdaPv(void* p) { hak_free(p); }
HAK_PUBLIC void _ZdlPvm(void* p, size_t n) { hak_free(p); }
HAK_PUBLIC void _ZdaPvm(void* p, size_t n) { hak_free(p); }
HAK_PUBLIC void _ZdlPvRKSt9nothrow_t(void* p, const void* tag) { hak_free(p); }
HAK_PUBLIC void _ZdaPvRKSt9nothrow_t(void* p, const void* tag) { hak_free(p); }
HAK_PUBLIC void _ZdlPvSt11align_val_t(void* p, size_t a) { hak_free(p); }
HAK_PUBLIC void _ZdaPvSt11align_val_t(void* p, size_t a) { hak_free(p); }
HAK_PUBLIC void _ZdlPvmSt11align_val_t(void* p, size_t n, size_t a) { hak_free(p); }
HAK_PUBLIC void _ZdaPvmSt11align_val_t(void* p, size_t n, size_t a) { hak_free(p); }
HAK_PUBLIC void _ZdlPvSt11align_val_tRKSt9nothrow_t(void* p, size_t a, const void* tag) {
  hak_free(p);
}
HAK_PUBLIC void _ZdaPvSt11align_val_tRKSt9nothrow_t(void* p, size_t a, const void* tag) {
  hak_free(p);
}
