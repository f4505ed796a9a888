// Anchors analysis_context's vtable in core; the pool that runs an analysis' items.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/analysis.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace grokkit {

analysis_context::~analysis_context() = default;

namespace {

// What the workers and the committing thread share.
struct item_queue {
    std::mutex lock;
    std::condition_variable ended;
    std::deque<std::pair<std::size_t, std::vector<double>>> finished;
    std::exception_ptr failure;
    std::size_t next = 0, running = 0;

    void fail(std::exception_ptr e) {
        const std::lock_guard<std::mutex> hold(lock);
        if (!failure)
            failure = std::move(e);
    }
};

// One worker: takes the next item until none is left or something failed.
void work_items(item_queue& q, std::size_t worker, const std::vector<std::size_t>& items,
                const std::function<std::vector<double>(std::size_t, std::size_t)>& work) {
    for (;;) {
        std::size_t item = 0;
        {
            const std::lock_guard<std::mutex> hold(q.lock);
            if (q.next == items.size() || q.failure)
                break;
            item = items[q.next++];
        }
        try {
            std::vector<double> values = work(worker, item);
            const std::lock_guard<std::mutex> hold(q.lock);
            q.finished.emplace_back(item, std::move(values));
        } catch (...) {
            q.fail(std::current_exception());
        }
        q.ended.notify_one();
    }
    const std::lock_guard<std::mutex> hold(q.lock);
    --q.running;
    q.ended.notify_one();
}

} // namespace

void run_items(std::size_t workers, const std::vector<std::size_t>& items,
               const std::function<std::vector<double>(std::size_t, std::size_t)>& work,
               const std::function<void(std::size_t, const std::vector<double>&)>& commit) {
    item_queue q;
    q.running = std::clamp<std::size_t>(workers, 1, std::max<std::size_t>(items.size(), 1));
    std::vector<std::thread> threads;
    for (std::size_t w = 0, n = q.running; w < n; ++w)
        threads.emplace_back(work_items, std::ref(q), w, std::cref(items), std::cref(work));
    for (;;) {
        std::unique_lock<std::mutex> hold(q.lock);
        q.ended.wait(hold, [&] { return !q.finished.empty() || q.running == 0; });
        if (q.finished.empty())
            break;
        auto [item, values] = std::move(q.finished.front());
        q.finished.pop_front();
        hold.unlock();
        try {
            commit(item, values);
        } catch (...) {
            q.fail(std::current_exception()); // the workers stop taking items
        }
    }
    for (auto& t : threads)
        t.join();
    if (q.failure)
        std::rethrow_exception(q.failure);
}

} // namespace grokkit
