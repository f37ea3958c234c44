#include <rnngraph/framework/threads.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <cblas.h>
#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

namespace {
std::atomic<int> threads{1};
}

void set_compute_threads(int n) {
  if (n < 1) throw Error(fmt::format("thread count must be at least 1, got {}", n));
  // Our pool splits every large product, OpenBLAS's included; OpenBLAS's own threads would
  // then compete with it for the same cores.
  openblas_set_num_threads(1);
  threads.store(n, std::memory_order_relaxed);
}

int compute_threads() { return threads.load(std::memory_order_relaxed); }

namespace {

// Workers wait for a new generation of work: spinning first (the next step's product follows
// within microseconds), then asleep on a condition variable. A generation and its task count are
// one atomic word, so a worker never pairs one call's count with another's. Worker w runs task
// w + 1 when the count has one; the caller runs task 0 and waits until those workers report
// done, so the task never changes while a worker that runs it reads it.
class Pool {
 public:
  void run(int n, void (*call)(const void*, int), const void* task) {
    std::lock_guard serial(calls_);  // one parallel_for at a time
    grow(n - 1);
    call_ = call;
    task_ = task;
    done_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      const uint64_t generation = (state_.load(std::memory_order_relaxed) >> 16) + 1;
      state_.store(generation << 16 | uint64_t(n), std::memory_order_release);
      if (sleeping_ > 0) wake_.notify_all();
    }
    call(task, 0);
    while (done_.load(std::memory_order_acquire) < n - 1) pause();
  }

 private:
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  void grow(int workers) {
    for (; workers_ < workers; ++workers_) {
      // The worker starts from the state before this call's work is published (reading it on
      // its own, it could miss that work). Detached: the pool lives as long as the process.
      const uint64_t start = state_.load(std::memory_order_relaxed);
      std::thread([this, index = workers_, start] { work(index, start); }).detach();
    }
  }

  void work(int index, uint64_t seen) {
    for (;;) {
      // Spin for up to a millisecond: steps come back to back, and a futex wake-up costs tens
      // of microseconds.
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
      for (int spin = 0; state_.load(std::memory_order_acquire) == seen; ++spin) {
        pause();
        if (spin % 1024 == 0 && std::chrono::steady_clock::now() > until) break;
      }
      if (state_.load(std::memory_order_acquire) == seen) {
        std::unique_lock lock(mutex_);
        ++sleeping_;
        wake_.wait(lock, [&] { return state_.load(std::memory_order_acquire) != seen; });
        --sleeping_;
      }
      seen = state_.load(std::memory_order_acquire);
      if (index + 1 < int(seen & 0xffff)) {
        call_(task_, index + 1);
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  std::mutex calls_;
  int workers_ = 0;
  void (*call_)(const void*, int) = nullptr;
  const void* task_ = nullptr;
  std::atomic<int> done_{0};
  std::atomic<uint64_t> state_{0};  // generation << 16 | task count
  std::mutex mutex_;
  std::condition_variable wake_;
  int sleeping_ = 0;
};

}  // namespace

namespace detail {
void run_in_pool(int n, void (*call)(const void*, int), const void* task) {
  static Pool* const pool = new Pool;  // never destroyed: workers may still be waiting at exit
  pool->run(n, call, task);
}
}  // namespace detail

}  // namespace rnngraph
