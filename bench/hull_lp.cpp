// Times hull_test's LP on points written by bench/hull_vs_scipy.py: reads a binary file
// (int64 n, m, d; then n reference rows and m query rows of d float64), answers every query and
// prints one JSON line per query (verdict, distance, seconds, rounds, columns) to stdout.
// Usage: grokkit-hull-lp FILE [--method generation|full] [--initial K] [--per-round K]
// SPDX-License-Identifier: Apache-2.0
#include "hull.hpp"
#include "hull_points_file.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: grokkit-hull-lp FILE [--method generation|full] "
                             "[--initial K] [--per-round K]\n");
        return 2;
    }
    hull_test::hull_options options;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--method")
            options.method =
                value == "full" ? hull_test::lp_method::full : hull_test::lp_method::generation;
        else if (key == "--initial")
            options.initial_columns = std::stoul(value);
        else if (key == "--per-round")
            options.columns_per_round = std::stoul(value);
        else {
            std::fprintf(stderr, "grokkit-hull-lp: unknown option %s\n", key.c_str());
            return 2;
        }
    }
    hull_points_file file;
    try {
        file = hull_points_file::read(argv[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "grokkit-hull-lp: %s\n", e.what());
        return 2;
    }
    const std::size_t m = file.m, d = file.d;
    const std::vector<double>& q = file.queries;
    const hull_test::hull h(std::move(file.points), file.n, d, options);
    for (std::size_t k = 0; k < m; ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto a = h.contains(q.data() + k * d);
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const char* v = a.status == hull_test::hull_answer::verdict::inside    ? "inside"
                        : a.status == hull_test::hull_answer::verdict::outside ? "outside"
                                                                               : "failed";
        std::printf("{\"verdict\": \"%s\", \"distance\": %.17g, \"seconds\": %.9g, \"rounds\": %d, "
                    "\"columns\": %zu, \"iterations\": %d}\n",
                    v, a.distance, s, a.rounds, a.columns, a.iterations);
    }
    return 0;
}
