// The cblas wrapper. It includes OpenBLAS's <cblas.h> and nothing of xtensor-blas, whose own
// cblas.h clashes with it in one translation unit.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/gemm.hpp>

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace grokkit {

namespace {
CBLAS_TRANSPOSE op(transpose t) {
    return t == transpose::yes ? CblasTrans : CblasNoTrans;
}

// GROKKIT_GEMM_PROFILE=FILE: every float product's time, by shape, written to FILE at exit
// (bench/gemm_profile.py compares them with standalone sgemm calls of the same shapes). Off, it
// costs one test of a bool per call.
class gemm_profile {
  public:
    // (trans_a, trans_b, m, n, k, lda, ldb, ldc)
    using key = std::tuple<bool, bool, std::size_t, std::size_t, std::size_t, std::size_t,
                           std::size_t, std::size_t>;
    struct totals {
        std::size_t calls = 0;
        double seconds = 0.0;
        double fastest = 1e300; // the fastest single call
    };

    static gemm_profile& get() {
        static gemm_profile p;
        return p;
    }
    bool enabled() const { return !m_path.empty(); }
    void add(const key& k, double seconds) {
        std::lock_guard<std::mutex> lock(m_mutex);
        totals& t = m_totals[k];
        ++t.calls;
        t.seconds += seconds;
        t.fastest = std::min(t.fastest, seconds);
    }
    ~gemm_profile() {
        if (!enabled())
            return;
        if (std::FILE* f = std::fopen(m_path.c_str(), "w")) {
            std::fprintf(f, "trans_a\ttrans_b\tm\tn\tk\tlda\tldb\tldc\tcalls\tseconds\tfastest\n");
            for (const auto& [k, t] : m_totals)
                std::fprintf(f, "%d\t%d\t%zu\t%zu\t%zu\t%zu\t%zu\t%zu\t%zu\t%.9f\t%.9f\n",
                             std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k),
                             std::get<4>(k), std::get<5>(k), std::get<6>(k), std::get<7>(k),
                             t.calls, t.seconds, t.fastest);
            std::fclose(f);
        }
    }

  private:
    gemm_profile() {
        if (const char* path = std::getenv("GROKKIT_GEMM_PROFILE"))
            m_path = path;
    }
    std::string m_path;
    std::mutex m_mutex;
    std::map<key, totals> m_totals;
};

} // namespace

void gemm(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
          std::size_t ldc) {
    if (m == 0 || n == 0)
        return;
    static const bool profiling = gemm_profile::get().enabled();
    const auto start =
        profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    cblas_sgemm(CblasRowMajor, op(ta), op(tb), static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
                static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
    if (profiling) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        gemm_profile::get().add(
            {ta == transpose::yes, tb == transpose::yes, m, n, k, lda, ldb, ldc}, took.count());
    }
}

void gemm(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta,
          double* c, std::size_t ldc) {
    if (m == 0 || n == 0)
        return;
    cblas_dgemm(CblasRowMajor, op(ta), op(tb), static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
                static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void set_blas_threads(int n) {
    openblas_set_num_threads(n);
}

const char* blas_kernel() {
    return openblas_get_corename();
}

} // namespace grokkit
