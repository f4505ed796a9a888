// Elementwise work split over the run's threads, with results independent of the split.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <type_traits>

namespace grokkit {

/// Threads parallel_for() uses, the run's `threads` (the BLAS threads are set alongside).
void set_worker_threads(int n);
int worker_threads();

/// Calls fn(begin, end) on contiguous chunks covering [0, n), one per thread, on the calling
/// thread and the pool's workers, and returns when all are done. Each chunk is at least
/// `min_chunk` long, so small ranges run on the calling thread alone. Only for work whose result
/// at each index does not depend on the split (elementwise maps, per-row values): results are
/// then the same for every thread count. Not reentrant: fn must not call parallel_for.
template <class F> void parallel_for(std::size_t n, std::size_t min_chunk, F&& fn);

namespace detail {
/// parallel_for() without templates: `call(fn, begin, end)` runs the caller's function. No
/// allocation (std::function would allocate for captures beyond its small buffer).
void parallel_for(std::size_t n, std::size_t min_chunk, void* fn,
                  void (*call)(void*, std::size_t, std::size_t));
} // namespace detail

template <class F> void parallel_for(std::size_t n, std::size_t min_chunk, F&& fn) {
    using fn_type = std::remove_reference_t<F>;
    detail::parallel_for(n, min_chunk, const_cast<void*>(static_cast<const void*>(&fn)),
                         [](void* f, std::size_t begin, std::size_t end) {
                             (*static_cast<fn_type*>(f))(begin, end);
                         });
}

} // namespace grokkit
