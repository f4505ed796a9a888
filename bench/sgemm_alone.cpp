// Times single-precision matrix products alone: for each call read from stdin
// ("trans_a trans_b m n k lda ldb ldc" per line, as GROKKIT_GEMM_PROFILE writes them), the same
// grokkit::gemm call with the same strides on preallocated buffers, repeated; prints
// "warm_seconds cold_seconds" per call: warm back to back (operands in cache), cold after
// evicting the caches by writing 64 MiB (as inside a training step, where other work ran in
// between). bench/gemm_profile.py compares these
// with the same products timed inside a training run.
// usage: grokkit-sgemm-alone THREADS < shapes.txt
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/gemm.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: grokkit-sgemm-alone THREADS < shapes.txt\n");
        return 2;
    }
    grokkit::set_blas_threads(std::atoi(argv[1]));
    std::vector<float> evict(std::size_t{16} << 20); // 64 MiB, more than any cache here
    int ta = 0, tb = 0;
    std::size_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
    while (std::cin >> ta >> tb >> m >> n >> k >> lda >> ldb >> ldc) {
        // Stored: A has (ta ? k : m) rows of lda, B (tb ? n : k) rows of ldb, C m rows of ldc.
        std::vector<float> a(std::max<std::size_t>(1, (ta ? k : m) * lda), 0.5f);
        std::vector<float> b(std::max<std::size_t>(1, (tb ? n : k) * ldb), 0.25f);
        std::vector<float> c(std::max<std::size_t>(1, m * ldc), 0.0f);
        const auto op = [](int t) { return t ? grokkit::transpose::yes : grokkit::transpose::no; };
        const auto call = [&] {
            grokkit::gemm(op(ta), op(tb), m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
                          c.data(), ldc);
        };
        // Calls per timed block: about 20 ms of work at 100 GFLOP/s, between 1 and 100,000.
        const double flops = 2.0 * static_cast<double>(m) * n * k;
        const int reps = static_cast<int>(std::clamp(2e9 / std::max(flops, 1.0), 1.0, 1e5));
        call(); // warm the caches and OpenBLAS's threads
        double best = 1e300;
        for (int block = 0; block < 7; ++block) {
            const auto start = std::chrono::steady_clock::now();
            for (int r = 0; r < reps; ++r)
                call();
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
            best = std::min(best, took.count() / reps);
        }
        double cold = 1e300;
        for (int block = 0; block < 7; ++block) {
            for (float& x : evict)
                x += 1.0f;
            const auto start = std::chrono::steady_clock::now();
            call();
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
            cold = std::min(cold, took.count());
        }
        std::printf("%.9g %.9g\n", best, cold);
        std::fflush(stdout);
    }
    return 0;
}
