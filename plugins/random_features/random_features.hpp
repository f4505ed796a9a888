// The random features model: a fixed random first layer of width p and a trained linear readout
// (Rahimi & Recht 2007), the model of random features regression (Mei & Montanari 2019).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/least_squares.hpp>
#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace random_features {

/// The model's settings as a pipeline sets them; the defaults live here only.
struct params {
    std::int64_t width = 100;        ///< p, the number of random features
    std::string activation = "relu"; ///< relu, gelu, square or identity
    std::string init = "zeros";      ///< "zeros" or "normal"
    double init_scale = 1.0;         ///< normal: std of the readout is init_scale / sqrt(p)
};

/// logits (n, n_outputs) = Φ(x) · W, Φ(x) (n, p) = f(x · F): F (n_features, p) is a fixed random
/// layer with entries N(0, 1/n_features), regenerated from the seed by build() (not a parameter:
/// never trained, never checkpointed), f the activation, W (p, n_outputs) the one parameter
/// "readout", no bias. Dense feature inputs only.
///
/// A grokkit::linear_readout of Φ: fitted in closed form by least squares (grokkit::fit_readout),
/// and trained from W = 0 by gradient descent it converges to the same minimum-norm solution.
class model_impl : public grokkit::model, public grokkit::linear_readout {
  public:
    model_impl() = default;
    explicit model_impl(const params& p) : m_params(p) {}

    void declare(grokkit::param_set& ps) override;
    /// Draws F from rng(seed, "init", 1) and, for init = normal, W from stream 0. Throws
    /// grokkit::error("random_features.build", ...) unless `spec` has dense features and at least
    /// 1 class or target.
    void build(const grokkit::input_spec& spec, std::uint64_t seed) override;
    /// "readout" (p, n_outputs) only.
    std::vector<grokkit::parameter*> parameters() override;
    /// logits (x.n, n_outputs); keeps the pre-activations x·F and Φ for backward(). Throws
    /// grokkit::error for a batch without features.
    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override;
    /// grad W (p, n_outputs) = Φᵀ · dlogits, overwritten.
    void backward(const xt::xtensor<float, 2>& dlogits) override;
    /// Row i = Φ_i ⊗ dlogits_i, flattened row-major as W is.
    void example_gradients(const xt::xtensor<float, 2>& dlogits,
                           xt::xtensor<float, 2>& out) override;
    /// out (x.n, n_features) = ((weights · Wᵀ) ⊙ f'(x·F)) · Fᵀ; leaves the forward cache alone.
    void input_gradients(const grokkit::batch& x, const xt::xtensor<float, 2>& weights,
                         xt::xtensor<float, 2>& out) override;
    /// The logits are linear in W: their tangent along v is Φ · V.
    void forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) override;
    /// grad W = Φᵀ · t_dlogits (the second-order term is zero).
    void backward_tangent(const xt::xtensor<float, 2>& dlogits,
                          const xt::xtensor<float, 2>& t_dlogits) override;
    /// One site, the readout: inputs Φ.
    std::vector<grokkit::linear_site> linear_sites() const override;
    void linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                          xt::xtensor<float, 2>& inputs,
                          xt::xtensor<float, 2>& output_grads) override;
    /// "features" (n, p), Φ, and "logits" (n, n_outputs).
    std::vector<std::string> representations() const override;
    /// Leaves what a pending backward() would use untouched.
    xt::xarray<float> representation(const std::string& name, const grokkit::batch& x) override;

    /// Φ(x) (x.n, p).
    void readout_features(const grokkit::batch& x, xt::xtensor<float, 2>& phi) override;
    std::size_t readout_index() const override { return 0; }
    /// Never: Φ is a random nonlinear map of x.
    bool reads_raw_inputs() const override { return false; }

    /// The fixed first layer F (n_features, p); empty before build().
    const xt::xtensor<float, 2>& first_layer() const { return m_first; }

  private:
    using matrix = grokkit::nn::matrix<float>;

    void check_spec(const grokkit::input_spec& spec) const;
    void check_batch(const grokkit::batch& x, const char* where) const;
    void check_dlogits(const xt::xtensor<float, 2>& dlogits, const char* where) const;
    /// pre (n, p) = x (n, n_features) · F, phi (n, p) = f(pre).
    void compute_features(const float* x, std::size_t n, matrix& pre, matrix& phi) const;
    /// logits (phi.rows, n_outputs) = phi · w, w (p, n_outputs).
    void compute_logits(const matrix& phi, const float* w, matrix& logits) const;
    /// grad W = Φᵀ · g, Φ and g (n, n_outputs) of the last forward().
    void readout_gradient(const xt::xtensor<float, 2>& g);

    params m_params;

    // Set by build().
    bool m_is_built = false;
    bool m_is_identity = false;
    grokkit::nn::activation m_f = grokkit::nn::activation::relu;
    std::size_t m_n_features = 0;
    std::size_t m_width = 0;
    std::size_t m_n_outputs = 0;
    matrix m_first;                            // F (n_features, p)
    std::vector<grokkit::parameter> m_tensors; // readout

    // Cached by forward() for backward(); reused across steps, so stable shapes never allocate.
    std::size_t m_n = 0;
    matrix m_pre; // (n, p) x·F
    matrix m_phi; // (n, p) f(x·F)

    // Scratch for passes that must not disturb the cache (representations, input gradients).
    matrix m_scratch_pre, m_scratch_phi, m_scratch_logits, m_scratch_dphi, m_scratch_dpre;
};

} // namespace random_features
