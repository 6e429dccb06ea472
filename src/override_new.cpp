// The C++ allocation operators.  They keep the C++ rules, which C cannot
// express: on failure, run the installed new-handler and retry, then throw
// std::bad_alloc; only the nothrow forms return nullptr.
#include <cstddef>
#include <new>

#include "hakmem.h"

#define HAK_PUBLIC __attribute__((visibility("default")))

namespace {

void* allocate_or_throw(std::size_t size, std::size_t alignment) {
  for (;;) {
    void* p = alignment == 0 ? hak_malloc(size) : hak_aligned_alloc(alignment, size);
    if (p != nullptr) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_nothrow(std::size_t size, std::size_t alignment) noexcept {
  try {
    return allocate_or_throw(size, alignment);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

HAK_PUBLIC void* operator new(std::size_t n) { return allocate_or_throw(n, 0); }
HAK_PUBLIC void* operator new[](std::size_t n) { return allocate_or_throw(n, 0); }
HAK_PUBLIC void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, 0);
}
HAK_PUBLIC void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, 0);
}
HAK_PUBLIC void* operator new(std::size_t n, std::align_val_t a) {
  return allocate_or_throw(n, static_cast<std::size_t>(a));
}
HAK_PUBLIC void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate_or_throw(n, static_cast<std::size_t>(a));
}
HAK_PUBLIC void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}
HAK_PUBLIC void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}

HAK_PUBLIC void operator delete(void* p) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete[](void* p) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete(void* p, std::size_t) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete[](void* p, std::size_t) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete(void* p, const std::nothrow_t&) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete[](void* p, const std::nothrow_t&) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete(void* p, std::align_val_t) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete[](void* p, std::align_val_t) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete(void* p, std::size_t, std::align_val_t) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { hak_free(p); }
HAK_PUBLIC void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  hak_free(p);
}
HAK_PUBLIC void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  hak_free(p);
}
