// C++ allocation: every form of operator new and delete (plain, array,
// nothrow, sized, aligned) must reach hakmem, failure must follow the
// standard (std::bad_alloc, nullptr for nothrow, the new-handler protocol),
// and the standard containers must work on top of it.  Built twice: linked
// with hakmem, and (HAKMEM_PRELOADED) linked with nothing, to be run under
// LD_PRELOAD, where hak_owns is looked up at run time.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "check.h"

#ifdef HAKMEM_PRELOADED
#include <dlfcn.h>

namespace {
bool hak_owns(const void* p)
{
  using owns_fn = bool (*)(const void*);
  static owns_fn owns = reinterpret_cast<owns_fn>(dlsym(RTLD_DEFAULT, "hak_owns"));
  if (owns == nullptr) {
    std::fprintf(stderr, "test_cxx: hak_owns not found: hakmem is not preloaded\n");
    std::exit(1);
  }
  return owns(p);
}
}  // namespace
#else
#include "hakmem.h"
#endif

namespace {

struct alignas(64) CacheLine {
  unsigned char bytes[64];
};

struct alignas(4096) Page {
  unsigned char bytes[4096];
};

struct Big {
  unsigned char bytes[100000];
};

// Results passed through here stay observable, so no call is optimised away.
void* volatile sink;

// The largest request that is not an overflow, and cannot be satisfied.
const std::size_t impossible = SIZE_MAX / 2;

bool aligned_to(const void* p, std::size_t alignment)
{
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

void test_plain_forms()
{
  int* i = new int(42);
  CHECK(hak_owns(i) && *i == 42);
  delete i;

  int* ints = new int[1000]();
  CHECK(hak_owns(ints) && ints[999] == 0);
  delete[] ints;

  // Non-trivial destructors: the array form stores a cookie in front.
  std::string* strings = new std::string[10];
  CHECK(hak_owns(strings));
  for (int k = 0; k < 10; k++) strings[k].assign(100 + k, 'x');
  delete[] strings;

  Big* big = new Big();
  CHECK(hak_owns(big) && aligned_to(big, 16));
  delete big;

  unsigned char* huge = new unsigned char[5 << 20];
  CHECK(hak_owns(huge));
  std::memset(huge, 1, 5 << 20);
  delete[] huge;
}

void test_nothrow_forms()
{
  int* i = new (std::nothrow) int(5);
  CHECK(i != nullptr && hak_owns(i));
  delete i;
  char* chars = new (std::nothrow) char[100];
  CHECK(chars != nullptr && hak_owns(chars));
  delete[] chars;
  CacheLine* line = new (std::nothrow) CacheLine;
  CHECK(line != nullptr && hak_owns(line) && aligned_to(line, 64));
  delete line;

  CHECK(::operator new(impossible, std::nothrow) == nullptr);
  CHECK(::operator new[](impossible, std::nothrow) == nullptr);
  CHECK(::operator new(impossible, std::align_val_t(64), std::nothrow) == nullptr);
  CHECK(::operator new[](impossible, std::align_val_t(64), std::nothrow) == nullptr);
}

void test_sized_forms()
{
  const std::size_t sizes[] = {0, 1, 100, 1024, 5000, 100000, 1 << 20, 3 << 20};
  for (std::size_t n : sizes) {
    void* p = ::operator new(n);
    CHECKF(hak_owns(p), "n=%zu", n);
    std::memset(p, 2, n);
    ::operator delete(p, n);

    p = ::operator new[](n);
    CHECKF(hak_owns(p), "n=%zu", n);
    ::operator delete[](p, n);
  }
}

void test_aligned_forms()
{
  CacheLine* line = new CacheLine;
  CHECK(hak_owns(line) && aligned_to(line, 64));
  delete line;
  CacheLine* lines = new CacheLine[7];
  CHECK(hak_owns(lines) && aligned_to(lines, 64));
  delete[] lines;
  Page* page = new Page;
  CHECK(hak_owns(page) && aligned_to(page, 4096));
  delete page;
  Page* pages = new Page[3];
  CHECK(hak_owns(pages) && aligned_to(pages, 4096));
  delete[] pages;

  const std::size_t sizes[] = {1, 100, 5000, 300000, 3 << 20};
  for (std::size_t a = 32; a <= (std::size_t(1) << 21); a *= 4) {
    const auto al = static_cast<std::align_val_t>(a);
    for (std::size_t n : sizes) {
      void* p = ::operator new(n, al);
      CHECKF(hak_owns(p) && aligned_to(p, a), "n=%zu align=%zu", n, a);
      std::memset(p, 3, n);
      ::operator delete(p, al);

      p = ::operator new(n, al);
      CHECKF(hak_owns(p) && aligned_to(p, a), "n=%zu align=%zu", n, a);
      ::operator delete(p, n, al);

      p = ::operator new[](n, al);
      CHECKF(hak_owns(p) && aligned_to(p, a), "n=%zu align=%zu", n, a);
      ::operator delete[](p, al);

      p = ::operator new[](n, al);
      CHECKF(hak_owns(p) && aligned_to(p, a), "n=%zu align=%zu", n, a);
      ::operator delete[](p, n, al);

      p = ::operator new(n, al, std::nothrow);
      CHECKF(p != nullptr && hak_owns(p) && aligned_to(p, a), "n=%zu align=%zu", n, a);
      ::operator delete(p, al, std::nothrow);

      p = ::operator new[](n, al, std::nothrow);
      CHECKF(p != nullptr && hak_owns(p) && aligned_to(p, a), "n=%zu align=%zu", n, a);
      ::operator delete[](p, al, std::nothrow);
    }
  }
}

template <typename Allocate>
bool throws_bad_alloc(Allocate allocate)
{
  try {
    sink = allocate();
  } catch (const std::bad_alloc&) {
    return true;
  }
  return false;
}

void test_bad_alloc()
{
  CHECK(throws_bad_alloc([] { return ::operator new(impossible); }));
  CHECK(throws_bad_alloc([] { return ::operator new[](impossible); }));
  CHECK(throws_bad_alloc([] { return ::operator new(impossible, std::align_val_t(4096)); }));
  volatile std::size_t count = impossible;
  CHECK(throws_bad_alloc([&] { return new char[count]; }));
}

// The new-handler protocol: on failure operator new calls the handler, which
// here frees a reserve and uninstalls itself; the retry still fails, and with
// no handler left operator new throws.
char* reserve;
int handler_calls;

void release_reserve()
{
  handler_calls++;
  delete[] reserve;
  reserve = nullptr;
  std::set_new_handler(nullptr);
}

void test_new_handler()
{
  reserve = new char[1 << 20];
  std::set_new_handler(release_reserve);
  CHECK(throws_bad_alloc([] { return ::operator new(impossible); }));
  CHECK(handler_calls == 1);
  CHECK(reserve == nullptr);
  CHECK(std::get_new_handler() == nullptr);

  // The nothrow form goes through the same protocol, then returns nullptr.
  reserve = new char[1 << 20];
  std::set_new_handler(release_reserve);
  CHECK(::operator new(impossible, std::nothrow) == nullptr);
  CHECK(handler_calls == 2);
  CHECK(reserve == nullptr);
}

void test_containers()
{
  std::vector<std::string> words;
  std::map<int, std::string> by_key;
  std::unordered_map<std::string, int> counts;
  std::uint64_t checksum = 0;
  for (int round = 0; round < 20; round++) {
    for (int k = 0; k < 2000; k++) {
      std::string w(static_cast<std::size_t>((k * 7 + round) % 300), static_cast<char>('a' + k % 26));
      w += std::to_string(k);
      words.push_back(w);
      by_key[k] = w;
      counts[w]++;
    }
    CHECK(hak_owns(words.data()));
    CHECK(hak_owns(&*by_key.begin()));
    for (int k = 0; k < 2000; k += 2) by_key.erase(k);
    for (const auto& [key, value] : by_key) checksum += static_cast<std::uint64_t>(key) * value.size();
    words.erase(words.begin(), words.begin() + static_cast<long>(words.size() / 2));
    words.shrink_to_fit();
  }
  CHECK(checksum != 0);
  CHECK(counts.size() > 2000);

  auto shared = std::make_shared<std::vector<int>>(100000, 7);
  CHECK(hak_owns(shared.get()) && hak_owns(shared->data()));
  std::unique_ptr<Page[]> owned(new Page[2]);
  CHECK(hak_owns(owned.get()) && aligned_to(owned.get(), 4096));
}

// Objects built in one thread and destroyed in another.
void test_cross_thread()
{
  std::vector<std::unique_ptr<std::string>> made;
  std::thread producer([&made] {
    for (int k = 0; k < 10000; k++) made.push_back(std::make_unique<std::string>(static_cast<std::size_t>(k % 500), 'z'));
  });
  producer.join();
  std::thread consumer([&made] {
    for (auto& s : made) {
      CHECK(hak_owns(s.get()));
      s.reset();
    }
    made.clear();
    made.shrink_to_fit();
  });
  consumer.join();
  CHECK(made.empty());
}

}  // namespace

int main()
{
  test_plain_forms();
  test_nothrow_forms();
  test_sized_forms();
  test_aligned_forms();
  test_bad_alloc();
  test_new_handler();
  test_containers();
  test_cross_thread();
  check_report("test_cxx");
  return 0;
}
