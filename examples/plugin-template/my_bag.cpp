// The my_bag model plugin: logits = (sum of the tokens' embeddings) · W + c.
// SPDX-License-Identifier: Apache-2.0
//
// A template for your own model. A model plugin is one class derived from grokkit::model:
//   declare()          binds its parameters, as for a dataset;
//   build()            checks the dataset's input spec and allocates and initialises the
//                      trainable tensors from the seed (grokkit::init, one stream per tensor);
//   parameters()       lists them in a fixed order (checkpoints, flat vectors, gradients);
//   forward()          computes logits and keeps what backward() needs;
//   backward()         overwrites every parameter's grad from dloss/dlogits;
//   representations()  names the hidden arrays analyses may read, and representation() computes
//                      one for any inputs.
// The layers (grokkit/nn.hpp) have finite-difference-tested forward and backward passes; all
// products go through grokkit::gemm (OpenBLAS) on preallocated buffers.
#include <grokkit/error.hpp>
#include <grokkit/init.hpp>
#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>
#include <grokkit/params.hpp>
#include <grokkit/plugin.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace my_bag {

using matrix = grokkit::nn::matrix<float>;

class model_impl : public grokkit::model {
  public:
    void declare(grokkit::param_set& ps) override {
        ps.add("d_embed", m_d, "width of each token embedding (and of their sum)").at_least(1);
    }

    void build(const grokkit::input_spec& spec, std::uint64_t seed) override {
        grokkit::check_declared(*this, "my_bag.build"); // for direct callers (tests, tools)
        if (!spec.has_tokens() || spec.vocab_size == 0 || spec.n_classes == 0)
            throw grokkit::error("my_bag.build", "input is " + spec.describe(),
                                 "tokens (any positions, any "
                                 "vocabulary), at least 1 class");
        m_n_tokens = spec.n_tokens;
        const auto d = static_cast<std::size_t>(m_d);
        m_params = {tensor("embed", {spec.vocab_size, d}),
                    tensor("out.weight", {d, spec.n_classes}),
                    tensor("out.bias", {spec.n_classes})};
        // nn.Embedding's N(0, 1) and nn.Linear's U(-1/sqrt(d), 1/sqrt(d)), each its own stream.
        const double bound = 1.0 / std::sqrt(static_cast<double>(d));
        grokkit::init::normal(values(0), 1.0, seed, 0);
        grokkit::init::uniform(values(1), bound, seed, 1);
        grokkit::init::uniform(values(2), bound, seed, 2);
    }

    std::vector<grokkit::parameter*> parameters() override {
        return grokkit::pointers_to(m_params);
    }

    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override {
        bag_of(x, m_bag);
        m_tokens.assign(x.tokens, x.tokens + x.n * m_n_tokens); // backward() needs them
        grokkit::nn::linear_forward(m_bag, m_params[1].value.data(), m_params[1].value.shape()[1],
                                    m_params[2].value.data(), logits);
    }

    void backward(const xt::xtensor<float, 2>& dlogits) override {
        grokkit::nn::linear_backward(m_bag, m_params[1].value.data(), dlogits, &m_dbag,
                                     m_params[1].grad.data(), m_params[2].grad.data());
        m_params[0].grad.fill(0.0f); // embedding_backward accumulates
        for (std::size_t t = 0; t < m_n_tokens; ++t)
            grokkit::nn::embedding_backward(m_tokens.data() + t, m_n_tokens, m_dbag,
                                            m_params[0].grad.data());
    }

    std::vector<std::string> representations() const override { return {"bag", "logits"}; }

    xt::xarray<float> representation(const std::string& name, const grokkit::batch& x) override {
        matrix out;
        if (name == "bag") {
            bag_of(x, out);
        } else if (name == "logits") {
            forward(x, out);
        } else {
            throw grokkit::error(grokkit::diagnostic{"my_bag.representation", "",
                                                     "no representation \"" + name + "\"",
                                                     "one of: bag, logits", 0, 0});
        }
        return out;
    }

  private:
    static grokkit::parameter tensor(std::string name, std::vector<std::size_t> shape) {
        grokkit::parameter p;
        p.name = std::move(name);
        p.value = xt::zeros<float>(shape);
        p.grad = xt::zeros<float>(shape);
        p.decay = true;
        return p;
    }
    std::span<float> values(std::size_t i) {
        return {m_params[i].value.data(), m_params[i].value.size()};
    }
    // bag (n, d) = sum over positions t of E[token t].
    void bag_of(const grokkit::batch& x, matrix& bag) {
        if (!x.tokens)
            throw grokkit::error("my_bag.forward", "batch has no tokens", "token inputs");
        const std::size_t d = m_params[0].value.shape()[1];
        grokkit::nn::ensure_shape(bag, x.n, d);
        bag.fill(0.0f);
        for (std::size_t t = 0; t < m_n_tokens; ++t) {
            grokkit::nn::embedding_forward(x.tokens + t, m_n_tokens, m_params[0].value.data(), d,
                                           x.n, m_one);
            bag += m_one;
        }
    }

    std::int64_t m_d = 32;
    std::size_t m_n_tokens = 0;
    std::vector<grokkit::parameter> m_params;
    std::vector<std::int32_t> m_tokens;
    matrix m_bag, m_dbag, m_one;
};

} // namespace my_bag

GROKKIT_DEFINE_PLUGIN(my_bag::model_impl, "my_bag", "0.1.0", grokkit::plugin_kind::model,
                      "template: logits from the sum of the tokens' embeddings")
