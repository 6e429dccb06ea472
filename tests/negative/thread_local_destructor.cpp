// A C++ thread_local object whose destructor allocates at thread exit, with
// std::string, std::vector and new[] in every tier, frees what its thread
// built while alive, and hands what it builds to main, which checks and
// frees it after the thread is gone.  glibc runs thread_local destructors
// (registered through __cxa_thread_atexit) before pthread key destructors,
// so here hakmem's heap for the thread is still in place; the blocks must
// simply outlive their thread.  Threads run in waves, and each frees what a
// thread of the previous wave handed over.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kWaves = 8;
constexpr int kWaveThreads = 4;

[[noreturn]] void fail(const char* what, int thread)
{
  std::fprintf(stderr, "thread_local_destructor: thread %d: %s\n", thread, what);
  std::_Exit(1);
}

// What a thread's destructor leaves behind.
struct Legacy {
  int thread = -1;
  std::vector<std::string> words;
  std::unique_ptr<unsigned char[]> large;  // 1 MiB
  std::unique_ptr<unsigned char[]> huge;   // 3 MiB
};

std::string word(int thread, int i)
{
  // Lengths from short (inline in std::string) to medium blocks.
  return std::string(static_cast<size_t>(i * 37 % 3000), static_cast<char>('a' + (thread + i) % 26));
}

std::unique_ptr<unsigned char[]> filled(size_t size, int thread)
{
  std::unique_ptr<unsigned char[]> p(new unsigned char[size]);
  std::memset(p.get(), thread & 0xFF, size);
  return p;
}

void check(const Legacy& legacy)
{
  int t = legacy.thread;
  if (legacy.words.size() != 500) fail("wrong number of words", t);
  for (size_t i = 0; i < legacy.words.size(); i++)
    if (legacy.words[i] != word(t, static_cast<int>(i))) fail("a word changed", t);
  for (size_t i = 0; i < (1u << 20); i++)
    if (legacy.large[i] != (t & 0xFF)) fail("the large block changed", t);
  for (size_t i = 0; i < (3u << 20); i++)
    if (legacy.huge[i] != (t & 0xFF)) fail("the huge block changed", t);
}

std::mutex legacies_lock;
std::vector<std::unique_ptr<Legacy>> legacies;

struct Farewell {
  int thread = -1;
  std::vector<std::string> built_alive;

  ~Farewell()
  {
    for (size_t i = 0; i < built_alive.size(); i++)
      if (built_alive[i] != word(thread, static_cast<int>(i))) fail("a live word changed", thread);
    built_alive.clear();
    built_alive.shrink_to_fit();

    auto legacy = std::make_unique<Legacy>();
    legacy->thread = thread;
    for (int i = 0; i < 500; i++) legacy->words.push_back(word(thread, i));
    legacy->large = filled(1u << 20, thread);
    legacy->huge = filled(3u << 20, thread);
    std::lock_guard<std::mutex> hold(legacies_lock);
    legacies.push_back(std::move(legacy));
  }
};

thread_local Farewell farewell;

void thread_main(int thread, std::unique_ptr<Legacy> inherited)
{
  farewell.thread = thread;
  for (int i = 0; i < 500; i++) farewell.built_alive.push_back(word(thread, i));
  if (inherited) check(*inherited);
}

}  // namespace

int main()
{
  int next = 0;
  for (int wave = 0; wave < kWaves; wave++) {
    std::vector<std::unique_ptr<Legacy>> inherited;
    {
      std::lock_guard<std::mutex> hold(legacies_lock);
      inherited.swap(legacies);
    }
    inherited.resize(kWaveThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kWaveThreads; i++) threads.emplace_back(thread_main, next++, std::move(inherited[i]));
    for (auto& t : threads) t.join();
  }
  if (legacies.size() != kWaveThreads) fail("missing legacies", -1);
  for (const auto& legacy : legacies) check(*legacy);
  legacies.clear();
  std::printf("thread_local_destructor: %d threads\n", next);
  return 0;
}
