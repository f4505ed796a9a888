// The linear model: softmax (multinomial logistic) regression on dense features or on one-hot
// encoded tokens, the convex model that influence scores (Koh & Liang 2017) are exact for.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/least_squares.hpp>
#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace linear {

/// The model's settings as a pipeline sets them; the defaults live here only.
struct params {
    bool bias = true;
    std::string init = "zeros"; ///< "zeros" or "normal"
    double init_scale = 1.0;    ///< normal: std of the weights is init_scale / sqrt(fan_in)
};

/// logits (n, n_classes) = x (n, fan_in) · W (fan_in, n_classes) + b (n_classes). Dense inputs
/// are x itself (fan_in = n_features); token inputs are one-hot per position (fan_in =
/// n_tokens·vocab_size, row t·vocab_size + v of W scores token v at position t), computed as a
/// gather-sum of W's rows without forming x.
///
/// Without a bias it is a grokkit::linear_readout of its input rows: fitted in closed form by
/// least squares (grokkit::fit_readout), the model of Hastie et al.'s ridgeless regression.
class model_impl : public grokkit::model, public grokkit::linear_readout {
  public:
    model_impl() = default;
    explicit model_impl(const params& p) : m_params(p) {}

    void declare(grokkit::param_set& ps) override;
    /// Throws grokkit::error("linear.build", ...) unless `spec` has dense features or tokens and
    /// at least 1 class.
    void build(const grokkit::input_spec& spec, std::uint64_t seed) override;
    /// "weight" (fan_in, n_classes), then "bias" (n_classes) when params::bias is set.
    std::vector<grokkit::parameter*> parameters() override;
    /// logits (x.n, n_classes); keeps the inputs for backward(). Throws grokkit::error for a
    /// batch of the wrong kind or a token outside the vocabulary.
    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override;
    void backward(const xt::xtensor<float, 2>& dlogits) override;
    void example_gradients(const xt::xtensor<float, 2>& dlogits,
                           xt::xtensor<float, 2>& out) override;
    /// Dense inputs only: throws grokkit::error("linear.input_gradients", ...) for token inputs.
    void input_gradients(const grokkit::batch& x, const xt::xtensor<float, 2>& weights,
                         xt::xtensor<float, 2>& out) override;
    void forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) override;
    void backward_tangent(const xt::xtensor<float, 2>& dlogits,
                          const xt::xtensor<float, 2>& t_dlogits) override;
    /// One site, the whole model: inputs the dense features or one-hot token rows.
    std::vector<grokkit::linear_site> linear_sites() const override;
    void linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                          xt::xtensor<float, 2>& inputs,
                          xt::xtensor<float, 2>& output_grads) override;
    /// "input" (n, fan_in), one-hot rows for token inputs, and "logits" (n, n_classes).
    std::vector<std::string> representations() const override;
    /// Leaves the inputs a pending backward() would use untouched.
    xt::xarray<float> representation(const std::string& name, const grokkit::batch& x) override;

    /// Φ(x) = the input rows x (one-hot for tokens). Throws grokkit::error("linear.readout", ...)
    /// with bias = true: the outputs are then not Φ(x)·W alone.
    void readout_features(const grokkit::batch& x, xt::xtensor<float, 2>& phi) override;
    std::size_t readout_index() const override { return 0; }
    /// True for dense inputs.
    bool reads_raw_inputs() const override { return !m_is_tokens; }

    /// Width of x: n_features, or n_tokens·vocab_size for token inputs (0 before build()).
    std::size_t fan_in() const { return m_fan_in; }

  private:
    using matrix = grokkit::nn::matrix<float>;

    void check_spec(const grokkit::input_spec& spec) const;
    void check_dlogits(const xt::xtensor<float, 2>& dlogits, const char* where) const;
    void check_batch(const grokkit::batch& x, const char* where) const;
    /// logits = x·w + b for the given weight (fan_in, n_classes) and bias (null: none).
    void compute_logits(const std::int32_t* tokens, const float* features, std::size_t n,
                        const float* w, const float* b, matrix& logits) const;
    xt::xarray<float> input_rows(const grokkit::batch& x) const;
    const float* bias_value() const;

    params m_params;

    // Set by build().
    bool m_is_built = false;
    bool m_is_tokens = false;
    std::size_t m_n_tokens = 0;
    std::size_t m_vocab = 0;
    std::size_t m_fan_in = 0;
    std::size_t m_n_classes = 0;
    std::vector<grokkit::parameter> m_tensors; // weight, then bias when params::bias

    // Cached by forward() for backward(); reused across steps, so stable shapes never allocate.
    std::size_t m_n = 0;
    std::vector<std::int32_t> m_tokens; // (n, n_tokens) token inputs
    matrix m_x;                         // (n, n_features) dense inputs
    matrix m_repr_logits;
};

} // namespace linear
