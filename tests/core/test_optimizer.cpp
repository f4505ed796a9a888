// Tests of the optimizers: each lowers a loss on a fixed batch; updates match torch.optim's.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/optimizer.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>

namespace {

// Least squares ½‖X·w − y‖²/n with w (d, 1): a fixed batch with a known gradient.
struct least_squares {
    std::size_t n = 32, d = 4;
    std::vector<double> x, y;
    grokkit::parameter w;

    least_squares() {
        grokkit::rng r(2, "test");
        for (std::size_t i = 0; i < n * d; ++i)
            x.push_back(r.normal());
        for (std::size_t i = 0; i < n; ++i)
            y.push_back(r.normal());
        // Aggregate initialisation: assigning a short literal to the name trips GCC 12's
        // false -Wrestrict warning (GCC bug 105329).
        w = grokkit::parameter{std::string(1, 'w'), xt::zeros<float>({d}), xt::zeros<float>({d})};
        for (auto& v : w.value)
            v = static_cast<float>(r.normal());
    }
    double loss_and_gradient() {
        double loss = 0.0;
        std::vector<double> g(d, 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            double e = -y[i];
            for (std::size_t j = 0; j < d; ++j)
                e += x[i * d + j] * w.value(j);
            loss += 0.5 * e * e / static_cast<double>(n);
            for (std::size_t j = 0; j < d; ++j)
                g[j] += e * x[i * d + j] / static_cast<double>(n);
        }
        for (std::size_t j = 0; j < d; ++j)
            w.grad(j) = static_cast<float>(g[j]);
        return loss;
    }
};

double train(grokkit::optimizer_config c, double lr, int steps) {
    least_squares ls;
    grokkit::optimizer opt({&ls.w}, c);
    for (int s = 0; s < steps; ++s) {
        ls.loss_and_gradient();
        opt.step(lr);
    }
    return ls.loss_and_gradient();
}

} // namespace

TEST_CASE("optimizer: every rule lowers the loss on a fixed batch", "[optimizer]") {
    const double start = least_squares().loss_and_gradient();
    struct variant {
        const char* what;
        grokkit::optimizer_config config;
        double lr;
    };
    const std::vector<variant> variants{
        {"sgd", {"sgd", 0.9, 0.98, 1e-8, 0.0, 0.0, 0.0, 0.0, 0.0}, 0.1},
        {"sgd with momentum", {"sgd", 0.9, 0.98, 1e-8, 0.9, 0.0, 0.0, 0.0, 0.0}, 0.05},
        {"sgd with weight decay", {"sgd", 0.9, 0.98, 1e-8, 0.5, 0.01, 0.0, 0.0, 0.0}, 0.05},
        {"adam", {"adam", 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0, 0.0}, 0.05},
        {"adamw", {"adamw", 0.9, 0.98, 1e-8, 0.0, 0.1, 0.0, 0.0, 0.0}, 0.05},
        {"adamw with L1", {"adamw", 0.9, 0.98, 1e-8, 0.0, 0.0, 0.01, 0.0, 0.0}, 0.05},
        {"adam with L2", {"adam", 0.9, 0.98, 1e-8, 0.0, 0.0, 0.0, 0.01, 0.0}, 0.05},
        {"sgd with clipping", {"sgd", 0.9, 0.98, 1e-8, 0.0, 0.0, 0.0, 0.0, 0.1}, 0.1},
    };
    for (const auto& v : variants) {
        INFO(v.what);
        CHECK(train(v.config, v.lr, 200) < 0.7 * start);
    }
}

TEST_CASE("optimizer: adamw's first steps match torch.optim.AdamW's formula", "[optimizer]") {
    grokkit::parameter p{std::string(1, 'p'), xt::xarray<float>({0.5f, -1.0f}),
                         xt::xarray<float>({0.2f, 0.3f})};
    grokkit::optimizer opt({&p}, {"adamw", 0.9, 0.98, 1e-8, 0.0, 1.0, 0.0, 0.0, 0.0});
    double w[2] = {0.5, -1.0}, m[2] = {0, 0}, v[2] = {0, 0};
    const double g[2] = {0.2, 0.3}, lr = 1e-3;
    for (int t = 1; t <= 3; ++t) {
        opt.step(lr);
        for (int j = 0; j < 2; ++j) {
            // torch: p *= 1 - lr*wd; m, v updated; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
            w[j] *= 1.0 - lr * 1.0;
            m[j] = 0.9 * m[j] + 0.1 * g[j];
            v[j] = 0.98 * v[j] + 0.02 * g[j] * g[j];
            const double bc1 = 1 - std::pow(0.9, t), bc2 = 1 - std::pow(0.98, t);
            w[j] -= lr / bc1 * m[j] / (std::sqrt(v[j]) / std::sqrt(bc2) + 1e-8);
            CHECK(p.value(j) == Approx(w[j]).epsilon(1e-6));
        }
    }
    CHECK(opt.steps_taken() == 3);
    CHECK(opt.state().size() == 2);
}

TEST_CASE("optimizer: sgd momentum follows torch (first buffer is the gradient)", "[optimizer]") {
    grokkit::parameter p{std::string(1, 'p'), xt::xarray<float>({1.0f}), xt::xarray<float>({0.5f})};
    grokkit::optimizer opt({&p}, {"sgd", 0.9, 0.98, 1e-8, 0.9, 0.0, 0.0, 0.0, 0.0});
    opt.step(0.1); // buf = 0.5, w = 1 - 0.05
    CHECK(p.value(0) == Approx(0.95));
    opt.step(0.1); // buf = 0.9*0.5 + 0.5 = 0.95, w = 0.95 - 0.095
    CHECK(p.value(0) == Approx(0.855));
    REQUIRE(opt.state().size() == 1);
    CHECK(opt.state()[0].name == "p.momentum");
}

TEST_CASE("optimizer: clipping bounds the global gradient norm", "[optimizer]") {
    grokkit::parameter p{std::string(1, 'p'), xt::xarray<float>({0.0f, 0.0f}),
                         xt::xarray<float>({3.0f, 4.0f})}; // gradient norm 5
    grokkit::optimizer opt({&p}, {"sgd", 0.9, 0.98, 1e-8, 0.0, 0.0, 0.0, 0.0, 1.0});
    opt.step(1.0);
    CHECK(opt.last_gradient_norm() == Approx(5.0));
    CHECK(p.value(0) == Approx(-0.6).epsilon(1e-5));
    CHECK(p.value(1) == Approx(-0.8).epsilon(1e-5));
}
