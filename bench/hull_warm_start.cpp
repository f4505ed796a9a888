// Warm start against cold, measured: column generation with one LP kept across queries (the
// rhs changed, dual simplex from the previous basis, the working set kept) against a cold LP
// per query (hull::contains, the analysis' choice), on a file of bench/hull_vs_scipy.py's
// format; with a second argument the queries are first chained nearest-neighbour first.
// Usage: grokkit-hull-warm-start FILE [sort]   (bench/README.md)
// SPDX-License-Identifier: Apache-2.0
#include "hull.hpp"
#include "hull_points_file.hpp"

#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <vector>
using namespace hull_test;
static double dot(const double* a, const double* b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; ++j)
        s += a[j] * b[j];
    return s;
}
static void add_points(ClpSimplex& lp, const hull& h, const std::vector<size_t>& idx) {
    size_t d = h.dim();
    std::vector<CoinBigIndex> st(idx.size() + 1, 0);
    std::vector<int> rows;
    std::vector<double> v;
    std::size_t col = 0;
    for (size_t i : idx) {
        for (size_t j = 0; j < d; ++j) {
            rows.push_back(int(j));
            v.push_back(h.point(i)[j]);
        }
        rows.push_back(int(d));
        v.push_back(1);
        st[++col] = static_cast<CoinBigIndex>(rows.size());
    }
    std::vector<double> lo(idx.size(), 0), up(idx.size(), COIN_DBL_MAX), c(idx.size(), 0);
    lp.addColumns(int(idx.size()), lo.data(), up.data(), c.data(), st.data(), rows.data(),
                  v.data());
}
int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: grokkit-hull-warm-start FILE [sort]\n");
        return 2;
    }
    const hull_points_file file = hull_points_file::read(argv[1]);
    const size_t n = file.n, m = file.m, d = file.d;
    const std::vector<double>&x = file.points, &q = file.queries;
    bool sort_queries = argc > 2;
    hull h(x, n, d);
    std::vector<size_t> order(m);
    for (size_t k = 0; k < m; ++k)
        order[k] = k;
    if (sort_queries) { // greedy nearest-neighbour chain of the queries
        std::vector<char> used(m, 0);
        used[0] = 1;
        size_t cur = 0;
        for (size_t t = 1; t < m; ++t) {
            double best = 1e300;
            size_t bi = 0;
            for (size_t k = 0; k < m; ++k)
                if (!used[k]) {
                    double s = 0;
                    for (size_t j = 0; j < d; ++j) {
                        double z = q[k * d + j] - q[cur * d + j];
                        s += z * z;
                    }
                    if (s < best) {
                        best = s;
                        bi = k;
                    }
                }
            used[bi] = 1;
            order[t] = bi;
            cur = bi;
        }
    }
    auto t0 = std::chrono::steady_clock::now();
    int cold_in = 0;
    for (size_t k : order)
        cold_in += h.contains(q.data() + k * d).status == hull_answer::verdict::inside;
    double cold = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // warm
    t0 = std::chrono::steady_clock::now();
    ClpSimplex lp;
    lp.setLogLevel(0);
    lp.setPrimalTolerance(1e-9);
    lp.setDualTolerance(1e-9);
    {
        std::vector<int> st(2 * d + 1), rows(2 * d), len(2 * d, 1);
        std::vector<double> v(2 * d);
        for (size_t c = 0; c < 2 * d; ++c) {
            st[c] = c;
            rows[c] = c % d;
            v[c] = c < d ? 1 : -1;
        }
        st[2 * d] = 2 * d;
        CoinPackedMatrix mm(true, int(d + 1), int(2 * d), int(2 * d), v.data(), rows.data(),
                            st.data(), len.data());
        std::vector<double> lo(2 * d, 0), up(2 * d, COIN_DBL_MAX), c(2 * d, 1), rhs(d + 1, 1.0);
        lp.loadProblem(mm, lo.data(), up.data(), c.data(), rhs.data(), rhs.data());
    }
    std::vector<size_t> set;
    std::vector<char> in_set(n, 0);
    int warm_in = 0;
    bool first = true;
    long iters = 0;
    for (size_t k : order) {
        const double* qq = q.data() + k * d;
        for (size_t j = 0; j < d; ++j) {
            lp.setRowLower(int(j), qq[j]);
            lp.setRowUpper(int(j), qq[j]);
        }
        if (first) {
            std::vector<size_t> init;
            for (size_t i = 0; i < std::min<size_t>(n, 64); ++i)
                init.push_back(i);
            add_points(lp, h, init);
            for (auto i : init) {
                in_set[i] = 1;
                set.push_back(i);
            }
        }
        bool use_dual = !first;
        first = false;
        std::vector<double> w(d);
        while (true) {
            if (use_dual)
                lp.dual(0, 1);
            else
                lp.primal(0, 1);
            use_dual = false;
            iters += lp.numberIterations();
            const double* y = lp.dualRowSolution();
            std::copy(y, y + d, w.begin());
            double b = -y[d];
            std::vector<std::pair<double, size_t>> viol;
            if (lp.objectiveValue() > 1e-7 * 4)
                for (size_t i = 0; i < n; ++i)
                    if (!in_set[i]) {
                        double v = dot(w.data(), h.point(i), d) - b;
                        if (v > 1e-10)
                            viol.push_back({v, i});
                    }
            if (viol.empty()) {
                warm_in += lp.objectiveValue() <= 1e-7 * 4;
                break;
            }
            size_t take = std::min<size_t>(std::max<size_t>(32, (d + 1) / 2), viol.size());
            std::partial_sort(viol.begin(), viol.begin() + take, viol.end(),
                              [](const auto& l, const auto& r) { return l.first > r.first; });
            std::vector<size_t> add;
            for (size_t t = 0; t < take; ++t) {
                add.push_back(viol[t].second);
                in_set[viol[t].second] = 1;
                set.push_back(viol[t].second);
            }
            add_points(lp, h, add);
        }
    }
    double warm = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s d=%zu N=%zu: cold %.3f ms/q (%d inside), warm %.3f ms/q (%d inside), working "
                "set %zu, %ld iterations\n",
                sort_queries ? "neighbour-ordered" : "unordered", d, n, 1000 * cold / m, cold_in,
                1000 * warm / m, warm_in, set.size(), iters);
}
