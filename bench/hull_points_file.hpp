// The point files bench/hull_vs_scipy.py writes: int64 n, m, d, then n reference rows and m
// query rows of d float64 values. Shared by the hull bench tools.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

struct hull_points_file {
    std::size_t n = 0, m = 0, d = 0;
    std::vector<double> points, queries; // (n, d) and (m, d), row-major

    /// Reads `path`; throws std::runtime_error naming it when it is short or unreadable.
    static hull_points_file read(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::int64_t header[3] = {0, 0, 0};
        in.read(reinterpret_cast<char*>(header), sizeof header);
        hull_points_file f;
        f.n = static_cast<std::size_t>(header[0]);
        f.m = static_cast<std::size_t>(header[1]);
        f.d = static_cast<std::size_t>(header[2]);
        f.points.resize(f.n * f.d);
        f.queries.resize(f.m * f.d);
        in.read(reinterpret_cast<char*>(f.points.data()),
                static_cast<std::streamsize>(f.points.size() * sizeof(double)));
        in.read(reinterpret_cast<char*>(f.queries.data()),
                static_cast<std::streamsize>(f.queries.size() * sizeof(double)));
        if (!in)
            throw std::runtime_error(path + " is not a hull points file (too short)");
        return f;
    }
};
