// Tests of hull membership: exact small cases with certificates re-checked here, independently
// of the code under test, and Wendel's theorem over a grid of (n, d).
// SPDX-License-Identifier: Apache-2.0
#include "hull.hpp"

#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

using hull_test::hull;
using verdict = hull_test::hull_answer::verdict;

namespace {

// The test's own check of a certificate: the weights rebuild q, or the plane separates it.
bool certificate_holds(const std::vector<double>& x, std::size_t d, const std::vector<double>& q,
                       const hull_test::hull_answer& a) {
    const std::size_t n = x.size() / d;
    if (a.status == verdict::inside) {
        double sum = 0;
        std::vector<double> r(d, 0.0);
        for (const auto& [i, l] : a.weights) {
            if (l < 0 || i >= n)
                return false;
            sum += l;
            for (std::size_t j = 0; j < d; ++j)
                r[j] += l * x[i * d + j];
        }
        bool ok = std::abs(sum - 1) < 1e-6 && a.weights.size() <= d + 1;
        for (std::size_t j = 0; j < d; ++j)
            ok = ok && std::abs(r[j] - q[j]) < 1e-6;
        return ok;
    }
    if (a.status == verdict::outside) {
        double wq = 0;
        for (std::size_t j = 0; j < d; ++j)
            wq += a.w[j] * q[j];
        for (std::size_t i = 0; i < n; ++i) {
            double wx = 0;
            for (std::size_t j = 0; j < d; ++j)
                wx += a.w[j] * x[i * d + j];
            if (wx > a.b + 1e-9 || wx >= wq)
                return false;
        }
        return wq > a.b;
    }
    return false;
}

verdict check(const std::vector<double>& x, std::size_t d, const std::vector<double>& q) {
    const hull h(x, x.size() / d, d);
    const auto a = h.contains(q);
    INFO("query " << q[0] << ", ... detail: " << a.detail);
    REQUIRE(a.status != verdict::failed);
    CHECK(certificate_holds(x, d, q, a));
    return a.status;
}

} // namespace

TEST_CASE("hull: the unit square, its corners, edges, interior and outside", "[hull]") {
    const std::vector<double> square{0, 0, 1, 0, 0, 1, 1, 1};
    CHECK(check(square, 2, {0, 0}) == verdict::inside);     // a corner
    CHECK(check(square, 2, {0.5, 0}) == verdict::inside);   // an edge
    CHECK(check(square, 2, {0.3, 0.6}) == verdict::inside); // the interior
    CHECK(check(square, 2, {1.01, 0.5}) == verdict::outside);
    CHECK(check(square, 2, {-0.5, -0.5}) == verdict::outside);
    std::vector<double> twice = square; // duplicate points change nothing
    twice.insert(twice.end(), square.begin(), square.end());
    CHECK(check(twice, 2, {0.9, 0.9}) == verdict::inside);
    CHECK(check(twice, 2, {2, 2}) == verdict::outside);
}

TEST_CASE("hull: a simplex and a point on its face; d > n; a set lying in a plane", "[hull]") {
    const std::vector<double> simplex{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK(check(simplex, 3, {1.0 / 3, 1.0 / 3, 1.0 / 3}) == verdict::inside); // on the face
    CHECK(check(simplex, 3, {0.4, 0.4, 0.4}) == verdict::outside);
    // Three points in R^5 (d > n): their centroid is inside, a point off their plane is not.
    const std::vector<double> few{1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0};
    CHECK(check(few, 5, {1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0}) == verdict::inside);
    CHECK(check(few, 5, {1.0 / 3, 1.0 / 3, 1.0 / 3, 0.01, 0}) == verdict::outside);
    // A degenerate set: a square in the plane z = 0 of R^3.
    const std::vector<double> flat{0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0};
    CHECK(check(flat, 3, {0.5, 0.5, 0}) == verdict::inside);
    CHECK(check(flat, 3, {0.5, 0.5, 0.1}) == verdict::outside);
}

TEST_CASE("hull: Wendel's probability in closed form", "[hull]") {
    CHECK_THAT(hull_test::wendel_probability(4, 2), Catch::Matchers::WithinRel(0.5, 1e-12));
    CHECK_THAT(hull_test::wendel_probability(64, 32), Catch::Matchers::WithinRel(0.5, 1e-12));
    CHECK(hull_test::wendel_probability(3, 5) == 1.0); // fewer points than dimensions
    CHECK_THAT(hull_test::wendel_probability(3, 2), Catch::Matchers::WithinRel(0.75, 1e-12));
}

namespace {

struct cell {
    std::size_t n, d, outside, trials;
};

// `trials` draws of n standard normal points in R^d; how often the origin is outside.
cell wendel_cell(std::size_t n, std::size_t d, std::size_t trials) {
    cell c{n, d, 0, trials};
    for (std::size_t t = 0; t < trials; ++t) {
        grokkit::rng r(2026, "wendel", (n * 1000 + d) * 100000 + t);
        std::vector<double> x(n * d);
        for (auto& v : x)
            v = r.normal();
        const auto a = hull(x, n, d).contains(std::vector<double>(d, 0.0));
        REQUIRE(a.status != verdict::failed);
        c.outside += a.status == verdict::outside;
    }
    return c;
}

// Cells within 4 binomial standard deviations of `formula`, and the chi-square over them
// below its 99.9% quantile (Wilson-Hilferty), for cells with 0.02 < P < 0.98.
bool agrees(const std::vector<cell>& cells, std::size_t dim_shift) {
    double chi2 = 0;
    int df = 0;
    bool within = true;
    for (const auto& c : cells) {
        const double p = hull_test::wendel_probability(c.n, c.d + dim_shift);
        if (!(p > 0.02 && p < 0.98))
            continue;
        const double mean = p * double(c.trials), var = mean * (1 - p);
        const double dev = double(c.outside) - mean;
        within = within && std::abs(dev) <= 4 * std::sqrt(var);
        chi2 += dev * dev / var;
        ++df;
    }
    const double z = 3.0902, k = double(df);
    const double quantile = k * std::pow(1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k)), 3);
    INFO("chi2 " << chi2 << " over " << df << " cells; 99.9% quantile " << quantile);
    return within && chi2 < quantile;
}

} // namespace

TEST_CASE("hull: Wendel's theorem holds over (n, d), and the test rejects a wrong formula",
          "[hull][wendel]") {
    std::vector<cell> cells;
    for (std::size_t d : {2, 3, 4, 6, 8, 12, 16, 24, 32})
        for (std::size_t n : {d + 2, 2 * d, 2 * d + 3})
            cells.push_back(wendel_cell(n, d, 400));
    CHECK(agrees(cells, 0));
    CHECK_FALSE(agrees(cells, 1)); // d + 1 in place of d: must be rejected
}

namespace {

std::vector<double> normal_points(std::size_t n, std::size_t d, std::uint64_t stream) {
    grokkit::rng r(7, "points", stream);
    std::vector<double> x(n * d);
    for (auto& v : x)
        v = r.normal();
    return x;
}

// The test's own bound on the L1 distance an outside answer claims: at least w . q - b over
// its hyperplane (|w_j| <= 1), at most what its weights reach.
void check_distance(const std::vector<double>& x, std::size_t d, const std::vector<double>& q,
                    const hull_test::hull_answer& a) {
    double top = 0;
    for (double v : a.w)
        top = std::max(top, std::abs(v));
    CHECK(top == Approx(1.0));
    std::vector<double> rebuilt(d, 0.0);
    for (const auto& [i, l] : a.weights)
        for (std::size_t j = 0; j < d; ++j)
            rebuilt[j] += l * x[i * d + j];
    double l1 = 0;
    for (std::size_t j = 0; j < d; ++j)
        l1 += std::abs(rebuilt[j] - q[j]);
    CHECK(a.distance <= l1 + 1e-9);
    CHECK(l1 - a.distance < 1e-6); // the LP's optimum: no gap left
}

} // namespace

TEST_CASE("hull: column generation and the full LP agree on verdict and L1 distance", "[hull]") {
    using hull_test::lp_method;
    for (const auto& [n, d] :
         {std::pair<std::size_t, std::size_t>{200, 2}, {500, 4}, {300, 8}, {40, 16}, {1000, 24}}) {
        const auto x = normal_points(n, d, n * 100 + d);
        const hull generation(x, n, d, {1e-7, lp_method::generation, 0, 0});
        const hull full(x, n, d, {1e-7, lp_method::full, 0, 0});
        std::size_t inside = 0;
        for (std::size_t k = 0; k < 40; ++k) {
            auto q = normal_points(1, d, 1'000'000 + k);
            for (auto& v : q)
                v *= 0.8; // a mix of inside and outside in low d
            const auto a = generation.contains(q), b = full.contains(q);
            INFO("n " << n << " d " << d << " query " << k << ": " << a.detail << b.detail);
            REQUIRE(a.status != verdict::failed);
            REQUIRE(a.status == b.status);
            CHECK(certificate_holds(x, d, q, a));
            CHECK(a.weights.size() <= d + 1);
            CHECK(a.distance == Approx(b.distance).margin(1e-7));
            if (a.status == verdict::outside)
                check_distance(x, d, q, a);
            inside += a.status == verdict::inside;
        }
        if (d <= 4)
            CHECK(inside > 10); // both verdicts were exercised
    }
}

TEST_CASE("hull: leave-one-out queries exclude the query's own point", "[hull]") {
    const std::vector<double> square{0, 0, 1, 0, 0, 1, 1, 1, 0.5, 0.5};
    const hull h(square, 5, 2);
    // The centre is a point of the set, and inside the hull of the other four.
    CHECK(h.contains(square.data() + 8, 4).status == verdict::inside);
    // A corner is not in the hull of the other four points.
    const auto corner = h.contains(square.data(), 0);
    REQUIRE(corner.status == verdict::outside);
    for (const auto& [i, l] : corner.weights)
        CHECK(i != 0);
    CHECK(corner.distance == Approx(1.0)); // to the segment (1,0)-(0,1) in L1
}

TEST_CASE("hull: screens separate only what is outside, with valid hyperplanes", "[hull]") {
    const std::size_t n = 300, d = 6;
    const auto x = normal_points(n, d, 99);
    const hull h(x, n, d);
    hull_test::screen s(h);
    std::size_t screened = 0;
    for (std::size_t k = 0; k < 200; ++k) {
        auto q = normal_points(1, d, 2'000'000 + k);
        for (auto& v : q)
            v *= 1.5;
        hull_test::hull_answer a;
        if (s.separates(q.data(), a)) {
            ++screened;
            CHECK(certificate_holds(x, d, q, a));
            CHECK(h.contains(q).status == verdict::outside);
        } else {
            const auto lp = h.contains(q);
            REQUIRE(lp.status != verdict::failed);
            s.remember(lp);
        }
    }
    CHECK(s.box_hits() > 0);
    CHECK(s.plane_hits() > 0);
    CHECK(screened == s.box_hits() + s.plane_hits());
}

TEST_CASE("hull: NaN in a query or a reference point fails, never counts", "[hull]") {
    const std::vector<double> square{0, 0, 1, 0, 0, 1, 1, 1};
    const hull h(square, 4, 2);
    const auto a = h.contains(std::vector<double>{NAN, 0.5});
    CHECK(a.status == verdict::failed);
    CHECK(a.detail.find("NaN") != std::string::npos);
    std::vector<double> bad = square;
    bad[3] = NAN;
    const hull broken(bad, 4, 2);
    CHECK(broken.contains(std::vector<double>{0.5, 0.5}).status == verdict::failed);
    hull_test::screen s(broken);
    hull_test::hull_answer out;
    CHECK_FALSE(s.separates(std::vector<double>{5.0, 5.0}.data(), out));
}

TEST_CASE("hull: within the tolerance is inside, for the LP and the screens alike", "[hull]") {
    const std::vector<double> square{0, 0, 1, 0, 0, 1, 1, 1};
    const hull h(square, 4, 2, {1e-6, hull_test::lp_method::generation, 0, 0});
    const std::vector<double> near{1.0 + 1e-8, 0.5}, far{1.0 + 1e-4, 0.5};
    CHECK(h.contains(near).status == verdict::inside);
    CHECK(h.contains(far).status == verdict::outside);
    hull_test::screen s(h);
    hull_test::hull_answer out;
    CHECK_FALSE(s.separates(near.data(), out)); // beyond the box, but by less than 1e-6
    CHECK(s.separates(far.data(), out));
    CHECK(out.by == hull_test::hull_answer::answered_by::box);
}
