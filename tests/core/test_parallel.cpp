// Tests of parallel_for: coverage, chunking, errors, and split-independent results.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/parallel.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

// Restores one worker thread, the default, when a test ends.
struct threads_guard {
    explicit threads_guard(int n) { grokkit::set_worker_threads(n); }
    ~threads_guard() { grokkit::set_worker_threads(1); }
};

} // namespace

TEST_CASE("parallel_for: every index once, in contiguous chunks, one per thread", "[parallel]") {
    const int threads = GENERATE(1, 2, 3);
    const threads_guard guard(threads);
    CHECK(grokkit::worker_threads() == threads);
    const std::size_t n = 100003;
    std::vector<std::atomic<int>> seen(n);
    std::mutex mutex;
    std::set<std::pair<std::size_t, std::size_t>> chunks;
    grokkit::parallel_for(n, 1000, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i)
            seen[i].fetch_add(1);
        std::lock_guard<std::mutex> lock(mutex);
        chunks.insert({begin, end});
    });
    for (std::size_t i = 0; i < n; ++i)
        REQUIRE(seen[i].load() == 1);
    CHECK(chunks.size() == static_cast<std::size_t>(threads));
    std::size_t next = 0;
    for (const auto& [begin, end] : chunks) {
        CHECK(begin == next);
        next = end;
    }
    CHECK(next == n);
    // Below min_chunk per thread, the calling thread does it all.
    chunks.clear();
    grokkit::parallel_for(50, 1000, [&](std::size_t begin, std::size_t end) {
        std::lock_guard<std::mutex> lock(mutex);
        chunks.insert({begin, end});
    });
    CHECK(chunks == std::set<std::pair<std::size_t, std::size_t>>{{0, 50}});
}

TEST_CASE("parallel_for: an exception in any chunk reaches the caller", "[parallel]") {
    const threads_guard guard(2);
    const std::size_t where = GENERATE(10, 90000); // the caller's chunk, a worker's
    CHECK_THROWS_AS(grokkit::parallel_for(100000, 100,
                                          [&](std::size_t begin, std::size_t end) {
                                              if (begin <= where && where < end)
                                                  throw std::runtime_error("chunk failed");
                                          }),
                    std::runtime_error);
    // The pool still works afterwards.
    std::atomic<std::size_t> total{0};
    grokkit::parallel_for(
        100000, 100, [&](std::size_t begin, std::size_t end) { total.fetch_add(end - begin); });
    CHECK(total.load() == 100000);
}

TEST_CASE("parallel_for: softmax cross-entropy and activations are identical for 1 and 2 threads",
          "[parallel]") {
    grokkit::rng r(11, "test");
    const std::size_t n = 3000, c = 97;
    grokkit::nn::matrix<float> logits(std::array<std::size_t, 2>{n, c});
    for (float& v : logits)
        v = static_cast<float>(5.0 * r.normal());
    std::vector<std::int32_t> labels(n);
    for (auto& y : labels)
        y = static_cast<std::int32_t>(r.below(c));
    auto run = [&](int threads) {
        const threads_guard guard(threads);
        grokkit::nn::matrix<float> d, act, dact;
        const grokkit::nn::loss_sum s =
            grokkit::nn::softmax_cross_entropy(logits, labels.data(), &d, 0.5);
        grokkit::nn::activation_forward(grokkit::nn::activation::gelu, logits, act);
        grokkit::nn::activation_backward(grokkit::nn::activation::gelu, logits, d, dact);
        return std::make_tuple(s.loss, s.n_correct, d, act, dact);
    };
    const auto one = run(1);
    const auto two = run(2);
    CHECK(std::get<0>(one) == std::get<0>(two)); // bit for bit: row losses summed in order
    CHECK(std::get<1>(one) == std::get<1>(two));
    CHECK(std::get<2>(one) == std::get<2>(two));
    CHECK(std::get<3>(one) == std::get<3>(two));
    CHECK(std::get<4>(one) == std::get<4>(two));
    // A bad label is reported for its row, whatever the split.
    labels[2500] = static_cast<std::int32_t>(c);
    const threads_guard guard(2);
    CHECK_THROWS_WITH(grokkit::nn::softmax_cross_entropy<float>(logits, labels.data(), nullptr),
                      Catch::Matchers::Contains("label 97 of example 2500"));
}
