// Counter-based generator: splitmix64 finaliser over (key, counter).
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace grokkit {

namespace {
// splitmix64's output function: a bijective, well-mixed hash of a 64-bit word.
constexpr std::uint64_t mix(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
} // namespace

std::uint64_t hash_purpose(std::string_view purpose) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : purpose) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

rng::rng(std::uint64_t seed, std::string_view purpose, std::uint64_t stream)
    : m_key(mix(mix(mix(seed) ^ hash_purpose(purpose)) ^ mix(stream + 0x632be59bd9b4e019ull))) {}

std::uint64_t rng::next_u64() {
    return mix(m_key ^ mix(m_counter++));
}

double rng::uniform() {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

std::uint64_t rng::below(std::uint64_t n) {
    // Rejection sampling removes modulo bias.
    const std::uint64_t limit = n == 0 ? 0 : (~std::uint64_t{0} - (~std::uint64_t{0} % n));
    for (;;) {
        const std::uint64_t x = next_u64();
        if (x < limit)
            return x % n;
    }
}

double rng::normal() {
    double u1 = uniform();
    while (u1 <= 0.0)
        u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::vector<std::size_t> rng::permutation(std::size_t n) {
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), std::size_t{0});
    for (std::size_t i = n; i > 1; --i)
        std::swap(p[i - 1], p[below(i)]);
    return p;
}

std::vector<std::size_t> sample_sorted(std::uint64_t seed, std::string_view purpose, std::size_t n,
                                       std::size_t k) {
    std::vector<std::size_t> picked;
    if (k >= n) {
        picked.resize(n);
        std::iota(picked.begin(), picked.end(), std::size_t{0});
        return picked;
    }
    const std::vector<std::size_t> order = rng(seed, purpose).permutation(n);
    picked.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
    std::sort(picked.begin(), picked.end());
    return picked;
}

} // namespace grokkit
