// Times grokkit's per-example gradients and Hessian-vector products on the models of
// bench/influence_vs_torch.py, on random data of the same sizes, and prints one JSON line.
// Usage: grokkit-curvature-bench pair_mlp|softmax [--threads T] [--repeats R] [--hvps K]
//   pair_mlp  the PAIR explorable's MLP: 911 pairs over 67 tokens, E (67, 500) shared and tied,
//             W_h (500, 24), W_out (24, 500), no biases, ReLU (57,500 parameters)
//   softmax   softmax regression, 2,000 points in R^256, 10 classes (2,570 parameters)
// example_gradients_ms: grokkit::example_gradients over every example (one forward and one
// batched backward), best of R. hvp_ms: one curvature_product::apply (Hessian, forward cached),
// the mean over K, best of R. hvp_with_forward_ms: a new curvature_product (forward and backward)
// and one apply, best of R: what each product costs when the parameters change between them.
// SPDX-License-Identifier: Apache-2.0
#include "linear/linear.hpp"
#include "mlp/mlp.hpp"

#include <grokkit/curvature.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/loss.hpp>
#include <grokkit/params.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

struct bench_case {
    std::unique_ptr<grokkit::model> net;
    grokkit::example_set data;
    grokkit::loss_config loss;
};

bench_case pair_mlp() {
    mlp::params p;
    p.d_embed = 500;
    p.hidden = {24};
    p.combine = "sum";
    p.shared_embedding = true;
    p.tie_unembedding = true;
    p.bias = false;
    auto m = std::make_unique<mlp::model_impl>(p);
    grokkit::param_set ps;
    m->declare(ps);
    grokkit::input_spec spec;
    spec.n_tokens = 2;
    spec.vocab_size = 67;
    spec.n_classes = 67;
    m->build(spec, 0);
    bench_case c;
    const std::size_t n = 911;
    grokkit::rng r(1, "bench");
    c.data.tokens = xt::zeros<std::int32_t>({n, std::size_t{2}});
    c.data.labels = xt::zeros<std::int32_t>({n});
    for (std::size_t i = 0; i < n; ++i) {
        c.data.tokens(i, 0) = static_cast<std::int32_t>(r.below(67));
        c.data.tokens(i, 1) = static_cast<std::int32_t>(r.below(67));
        c.data.labels(i) = (c.data.tokens(i, 0) + c.data.tokens(i, 1)) % 67;
    }
    c.loss = {"cross_entropy", true}; // PAIR averages over examples and classes
    c.net = std::move(m);
    return c;
}

bench_case softmax() {
    auto m = std::make_unique<linear::model_impl>();
    grokkit::param_set ps;
    m->declare(ps);
    grokkit::input_spec spec;
    spec.n_features = 256;
    spec.n_classes = 10;
    m->build(spec, 0);
    bench_case c;
    const std::size_t n = 2000;
    grokkit::rng r(2, "bench");
    c.data.features = xt::zeros<float>({n, std::size_t{256}});
    c.data.labels = xt::zeros<std::int32_t>({n});
    for (float& x : c.data.features)
        x = static_cast<float>(r.normal());
    for (std::size_t i = 0; i < n; ++i)
        c.data.labels(i) = static_cast<std::int32_t>(r.below(10));
    c.loss = {"cross_entropy", false};
    c.net = std::move(m);
    return c;
}

template <class F> double best_ms(int repeats, F&& f) {
    double best = 1e300;
    for (int k = 0; k < repeats; ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(
            best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count());
    }
    return best;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: grokkit-curvature-bench pair_mlp|softmax [--threads T] "
                             "[--repeats R] [--hvps K]\n");
        return 2;
    }
    const std::string which = argv[1];
    int threads = 2, repeats = 5, hvps = 50;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const int value = std::stoi(argv[i + 1]);
        if (key == "--threads")
            threads = value;
        else if (key == "--repeats")
            repeats = value;
        else if (key == "--hvps")
            hvps = value;
        else {
            std::fprintf(stderr, "grokkit-curvature-bench: unknown option %s\n", key.c_str());
            return 2;
        }
    }
    if (which != "pair_mlp" && which != "softmax") {
        std::fprintf(stderr, "grokkit-curvature-bench: unknown case %s (pair_mlp or softmax)\n",
                     which.c_str());
        return 2;
    }
    grokkit::set_blas_threads(threads);
    bench_case c = which == "pair_mlp" ? pair_mlp() : softmax();
    const std::size_t p = grokkit::parameter_count(*c.net);
    const std::vector<double> zero(p, 0.0);
    std::vector<double> v(p), out;
    grokkit::rng r(3, "bench");
    for (double& x : v)
        x = r.normal();

    xt::xtensor<float, 2> rows;
    const double grads = best_ms(repeats, [&] {
        grokkit::example_gradients(*c.net, grokkit::as_batch(c.data), c.loss, rows);
    });
    grokkit::curvature_product product(*c.net, c.data, c.loss, grokkit::curvature_kind::hessian,
                                       zero, 0.0);
    product.apply(v, out); // warm-up: buffers take their shapes
    const double hvp = best_ms(repeats,
                               [&] {
                                   for (int k = 0; k < hvps; ++k)
                                       product.apply(v, out);
                               }) /
                       hvps;
    const double with_forward = best_ms(repeats, [&] {
        grokkit::curvature_product fresh(*c.net, c.data, c.loss, grokkit::curvature_kind::hessian,
                                         zero, 0.0);
        fresh.apply(v, out);
    });
    std::printf(
        "{\"case\": \"%s\", \"threads\": %d, \"n\": %zu, \"parameters\": %zu, "
        "\"example_gradients_ms\": %.4f, \"hvp_ms\": %.4f, \"hvp_with_forward_ms\": %.4f}\n",
        which.c_str(), threads, c.data.size(), p, grads, hvp, with_forward);
    return 0;
}
