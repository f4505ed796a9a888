// Tests of grokkit/curvature.hpp's model-independent parts: the regulariser each optimiser
// implies, and conjugate gradient against a direct solve and on an indefinite matrix.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/curvature.hpp>
#include <grokkit/rng.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace {

// A model with two tensors, the second exempt from weight decay: only parameters() is used.
class two_tensors : public grokkit::model {
  public:
    two_tensors() {
        m_t.resize(2);
        m_t[0].value = xt::zeros<float>({std::size_t{3}});
        m_t[1].value = xt::zeros<float>({std::size_t{2}});
        m_t[1].decay = false;
    }
    void build(const grokkit::input_spec&, std::uint64_t) override {}
    std::vector<grokkit::parameter*> parameters() override { return grokkit::pointers_to(m_t); }
    void forward(const grokkit::batch&, xt::xtensor<float, 2>&) override {}
    void backward(const xt::xtensor<float, 2>&) override {}
    std::vector<std::string> representations() const override { return {}; }
    xt::xarray<float> representation(const std::string&, const grokkit::batch&) override {
        return {};
    }
    void declare(grokkit::param_set&) override {}

  private:
    std::vector<grokkit::parameter> m_t;
};

} // namespace

TEST_CASE("curvature: the regulariser is l2 everywhere plus coupled weight decay on decayed "
          "parameters",
          "[curvature]") {
    two_tensors m;
    grokkit::optimizer_config c;
    c.l2 = 0.01;
    c.weight_decay = 0.1;
    c.l1 = 0.5; // no Hessian
    for (const char* kind : {"sgd", "adam"}) {
        c.kind = kind;
        CHECK(grokkit::regulariser_diagonal(m, c) ==
              std::vector<double>{0.11, 0.11, 0.11, 0.01, 0.01});
    }
    c.kind = "adamw"; // decoupled decay is no gradient of the loss
    CHECK(grokkit::regulariser_diagonal(m, c) == std::vector<double>(5, 0.01));
}

TEST_CASE("curvature: conjugate gradient solves a symmetric positive definite system and "
          "reports the true residual",
          "[curvature]") {
    const std::size_t n = 20;
    grokkit::rng r(7, "cg");
    std::vector<double> b(n * n), a(n * n, 0.0), rhs(n);
    for (double& x : b)
        x = r.normal();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            for (std::size_t k = 0; k < n; ++k)
                a[i * n + j] += b[i * n + k] * b[j * n + k] / n;
            a[i * n + j] += i == j ? 0.1 : 0.0;
        }
    for (double& x : rhs)
        x = r.normal();
    const auto apply = [&](const std::vector<double>& v, std::vector<double>& out) {
        out.assign(n, 0.0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j)
                out[i] += a[i * n + j] * v[j];
    };
    std::vector<double> x;
    const grokkit::cg_result res = grokkit::conjugate_gradient(apply, rhs, x, 1e-12, 200);
    CHECK(res.converged);
    CHECK_FALSE(res.indefinite);
    CHECK(res.iterations <= 60);
    CHECK(res.relative_residual < 1e-10);
    std::vector<double> ax;
    apply(x, ax);
    for (std::size_t i = 0; i < n; ++i)
        CHECK(ax[i] == Approx(rhs[i]).margin(1e-9));
    // The iteration limit: not converged, the residual says how far.
    const grokkit::cg_result short_run = grokkit::conjugate_gradient(apply, rhs, x, 1e-12, 2);
    CHECK_FALSE(short_run.converged);
    CHECK(short_run.iterations == 2);
    CHECK(short_run.relative_residual > 1e-6);
}

TEST_CASE("curvature: conjugate gradient stops at a direction of negative curvature",
          "[curvature]") {
    // diag(1, -1): the right-hand side (1, 1) has pᵀAp = 0 at the first step.
    const auto apply = [](const std::vector<double>& v, std::vector<double>& out) {
        out = {v[0], -2.0 * v[1]};
    };
    std::vector<double> x;
    const grokkit::cg_result res = grokkit::conjugate_gradient(apply, {1.0, 1.0}, x, 1e-10, 10);
    CHECK(res.indefinite);
    CHECK_FALSE(res.converged);
}
