// Times hull_test's LP on points written by bench/hull_vs_scipy.py: reads a binary file
// (int64 n, m, d; then n reference rows and m query rows of d float64), answers every query and
// prints one JSON line per query (verdict, distance, seconds, rounds, columns) to stdout.
// Usage: grokkit-hull-lp FILE [--method generation|full] [--initial K] [--per-round K]
// SPDX-License-Identifier: Apache-2.0
#include "hull.hpp"

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
    std::ifstream in(argv[1], std::ios::binary);
    std::int64_t header[3] = {0, 0, 0};
    in.read(reinterpret_cast<char*>(header), sizeof header);
    const auto n = static_cast<std::size_t>(header[0]), m = static_cast<std::size_t>(header[1]),
               d = static_cast<std::size_t>(header[2]);
    std::vector<double> x(n * d), q(m * d);
    in.read(reinterpret_cast<char*>(x.data()), static_cast<std::streamsize>(x.size() * 8));
    in.read(reinterpret_cast<char*>(q.data()), static_cast<std::streamsize>(q.size() * 8));
    if (!in) {
        std::fprintf(stderr, "grokkit-hull-lp: %s is too short\n", argv[1]);
        return 2;
    }
    const hull_test::hull h(std::move(x), n, d, options);
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
