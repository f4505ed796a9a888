// A small pool of blocked workers for parallel_for(); see parallel.hpp.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/parallel.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace grokkit {

namespace {

// Workers sleep on a condition variable between jobs rather than spin, so they never take a
// core from OpenBLAS's threads. A job is published under the mutex with a new generation.
class pool {
  public:
    static pool& get() {
        static pool p;
        return p;
    }

    void resize(int threads) {
        stop_workers();
        m_threads = std::max(1, threads);
        // New workers start at the current generation: earlier jobs are done and gone.
        for (int i = 1; i < m_threads; ++i)
            m_workers.emplace_back([this, i, g = m_generation] { work(i, g); });
    }
    int threads() const { return m_threads; }

    using call_type = void (*)(void*, std::size_t, std::size_t);

    void run(std::size_t n, std::size_t min_chunk, void* fn, call_type call) {
        const std::size_t by_size =
            std::max<std::size_t>(1, n / std::max<std::size_t>(1, min_chunk));
        const auto parts = static_cast<int>(std::min<std::size_t>(m_threads, by_size));
        if (parts <= 1) {
            call(fn, 0, n);
            return;
        }
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_fn = fn;
            m_call = call;
            m_n = n;
            m_parts = parts;
            m_pending = parts - 1;
            m_error = nullptr;
            ++m_generation;
        }
        m_start.notify_all();
        std::exception_ptr mine;
        try {
            call(fn, 0, chunk_end(0));
        } catch (...) {
            mine = std::current_exception();
        }
        std::unique_lock<std::mutex> lock(m_mutex);
        m_done.wait(lock, [this] { return m_pending == 0; });
        m_fn = nullptr;
        if (mine)
            std::rethrow_exception(mine);
        if (m_error)
            std::rethrow_exception(m_error);
    }

    ~pool() { stop_workers(); }

  private:
    std::size_t chunk_end(int part) const {
        return m_n * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(m_parts);
    }

    void work(int index, std::uint64_t seen) {
        for (;;) {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_start.wait(lock, [&] { return m_stop || m_generation != seen; });
            if (m_stop)
                return;
            seen = m_generation;
            if (index >= m_parts)
                continue; // not needed for this job
            void* fn = m_fn;
            const call_type call = m_call;
            const std::size_t begin =
                m_n * static_cast<std::size_t>(index) / static_cast<std::size_t>(m_parts);
            const std::size_t end = chunk_end(index);
            lock.unlock();
            std::exception_ptr error;
            try {
                call(fn, begin, end);
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            if (error && !m_error)
                m_error = error;
            if (--m_pending == 0)
                m_done.notify_one();
        }
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_start.notify_all();
        for (std::thread& t : m_workers)
            t.join();
        m_workers.clear();
        m_stop = false;
    }

    int m_threads = 1;
    std::vector<std::thread> m_workers;
    std::mutex m_mutex;
    std::condition_variable m_start, m_done;
    bool m_stop = false;
    std::uint64_t m_generation = 0;
    void* m_fn = nullptr;
    call_type m_call = nullptr;
    std::size_t m_n = 0;
    int m_parts = 1;
    int m_pending = 0;
    std::exception_ptr m_error;
};

} // namespace

void set_worker_threads(int n) {
    if (n != pool::get().threads())
        pool::get().resize(n);
}

int worker_threads() {
    return pool::get().threads();
}

namespace detail {
void parallel_for(std::size_t n, std::size_t min_chunk, void* fn,
                  void (*call)(void*, std::size_t, std::size_t)) {
    pool::get().run(n, min_chunk, fn, call);
}
} // namespace detail

} // namespace grokkit
