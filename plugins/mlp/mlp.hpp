// The mlp model: a multi-layer perceptron on two embedded tokens (PAIR, Gromov, Nanda-style)
// or on dense features (sparse parity).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mlp {

/// The model's settings as a pipeline sets them; the defaults live here only.
struct params {
    std::int64_t d_embed = 128;
    std::vector<std::int64_t> hidden{512}; ///< widths of the hidden layers, first to last
    std::string activation = "relu";
    std::string combine = "concat";
    bool shared_embedding = false;
    bool tie_unembedding = false;
    bool bias = true;
    std::string init = "torch";
    double init_scale = 1.0;
};

/// How forward() computes the first hidden layer's pre-activation from the tokens.
enum class first_layer {
    automatic, ///< `table` when it costs fewer multiply-adds than `direct` (large batches)
    direct,    ///< x0·W_0 per example, x0 = [E_a[a], E_b[b]] or E_a[a] + E_b[b]
    table,     ///< P_a[a] + P_b[b] with P_a = E_a·W_0[:d], P_b = E_b·W_0[d:] (concat) or
               ///< P_a = E_a·W_0, P_b = E_b·W_0 (sum), formed once per forward
};

/// logits = out(f(... f(x·W_0 + b_0) ...)), x = [E_a[a], E_b[b]] (concat) or E_a[a] + E_b[b]
/// (sum). Weights are stored (fan_in, fan_out), so a layer is x·W + b.
class model_impl : public grokkit::model {
  public:
    model_impl() = default;
    explicit model_impl(const params& p) : m_params(p) {}

    void declare(grokkit::param_set& ps) override;
    /// Throws grokkit::error unless `spec` has 2 token positions (and, when tied, as many classes
    /// as tokens).
    void build(const grokkit::input_spec& spec, std::uint64_t seed) override;
    std::vector<grokkit::parameter*> parameters() override;
    /// logits (x.n, n_classes); caches activations for backward(). Throws grokkit::error for a
    /// token outside the vocabulary.
    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override;
    void backward(const xt::xtensor<float, 2>& dlogits) override;
    void example_gradients(const xt::xtensor<float, 2>& dlogits,
                           xt::xtensor<float, 2>& out) override;
    /// Dense inputs only: throws grokkit::error("mlp.input_gradients", ...) for token inputs.
    void input_gradients(const grokkit::batch& x, const xt::xtensor<float, 2>& weights,
                         xt::xtensor<float, 2>& out) override;
    /// The tangents follow the passes forward() took (table or direct first layer, tied product
    /// or not), so they cost about what forward() and backward() cost (mlp_tangent.cpp).
    void forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) override;
    void backward_tangent(const xt::xtensor<float, 2>& dlogits,
                          const xt::xtensor<float, 2>& t_dlogits) override;
    /// Every hidden layer, then the output layer (tied: W_out, whose outputs u = h·W_out the
    /// unembedding Eᵀ maps to logits); the embeddings are not sites.
    std::vector<grokkit::linear_site> linear_sites() const override;
    void linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                          xt::xtensor<float, 2>& inputs,
                          xt::xtensor<float, 2>& output_grads) override;
    std::vector<std::string> representations() const override;
    /// Runs forward() on `x`, so it replaces the activations a pending backward() would use.
    xt::xarray<float> representation(const std::string& name, const grokkit::batch& x) override;

    /// Chooses how later forward() calls compute the first hidden layer (default `automatic`);
    /// both ways compute the same function up to float rounding. For tests and benchmarks.
    void set_first_layer(first_layer how) { m_first_layer = how; }

  private:
    using matrix = grokkit::nn::matrix<float>;
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    /// Indices into m_tensors of one linear layer; `bias` is `none` without a bias.
    struct layer {
        std::size_t weight = none;
        std::size_t bias = none;
        std::size_t width = 0;
    };

    void check_spec(const grokkit::input_spec& spec) const;
    std::size_t add_tensor(const std::string& name, std::vector<std::size_t> shape);
    void init_embedding(std::size_t index, std::uint64_t seed);
    void init_linear(std::size_t index, std::uint64_t seed, std::size_t fan_in);
    float* value(std::size_t index) { return m_tensors[index].value.data(); }
    float* grad(std::size_t index) { return m_tensors[index].grad.data(); }
    const float* bias_value(const layer& l);
    float* bias_grad(const layer& l);
    bool is_tied_product_cheaper(std::size_t n) const;
    std::size_t n_tables() const;
    bool is_table_cheaper(std::size_t n) const;

    void copy_tokens(const grokkit::batch& x);
    void embed_forward();
    /// rows_a, rows_b (n, d) = table_a[a], table_b[b]; x0 = [rows_a, rows_b] (concat) or their sum.
    void combine_embeddings(const float* table_a, const float* table_b, matrix& rows_a,
                            matrix& rows_b, matrix& x0) const;
    /// pre (n, h) = pa[a] + pb[b] + bias (bias may be null), pa and pb (vocab, h); and, when
    /// `relu` is not null, relu = ReLU(pre) in the same pass.
    void gather_tables(const float* pa, const float* pb, const float* bias, std::size_t h,
                       matrix& pre, matrix* relu = nullptr) const;
    /// dpre0 = dpost0 ⊙ [pre0 > 0] (ReLU's backward) and its rows added into dP_a at a and dP_b at
    /// b, in one pass over the (n, h) activations.
    void relu_scatter_tables(std::size_t h, float* dpa, float* dpb);
    /// de_a[a] += dx0's first half (concat) or all of it (sum), and de_b[b] likewise.
    void scatter_embeddings(const matrix& dx0, float* de_a, float* de_b);
    void table_forward();
    void table_backward();
    void output_forward(const matrix& h, matrix& logits);
    void output_backward(const matrix& h, const matrix& dlogits, matrix& dh);
    void embed_backward();

    // Tangent passes (mlp_tangent.cpp).
    const float* direction(std::size_t index) const {
        return m_direction.data() + m_offsets[index];
    }
    const float* bias_direction(const layer& l) const {
        return l.bias == none ? nullptr : direction(l.bias);
    }
    void table_forward_tangent();
    void output_forward_tangent(const matrix& h, const matrix& t_h, matrix& t_logits);
    void output_backward_tangent(const matrix& h, const matrix& t_h, const matrix& dlogits,
                                 const matrix& t_dlogits, matrix& t_dh);
    void table_backward_tangent();

    params m_params;
    first_layer m_first_layer = first_layer::automatic;

    // Set by build().
    bool m_is_built = false;
    grokkit::nn::activation m_f = grokkit::nn::activation::relu;
    bool m_is_concat = true;
    bool m_is_dense = false; // dense feature inputs, no embedding
    std::size_t m_vocab = 0;
    std::size_t m_n_classes = 0;
    std::size_t m_d = 0;
    std::vector<grokkit::parameter> m_tensors;
    std::size_t m_embed_a = none;
    std::size_t m_embed_b = none; // == m_embed_a when shared
    std::vector<layer> m_hidden;
    layer m_out;

    // Cached by forward() for backward(); reused across steps, so stable shapes never allocate.
    std::size_t m_n = 0;
    std::vector<std::int32_t> m_tokens;  // (n, 2)
    bool m_used_tied_product = false;    // tied logits went through W_out·Eᵀ
    bool m_used_table = false;           // hidden0.pre = P_a[a] + P_b[b]; m_x0 not computed
    matrix m_embed_a_out, m_embed_b_out; // (n, d)
    matrix m_x0;                         // (n, 2d) concat or (n, d) sum
    matrix m_table_a, m_table_b;         // P_a, P_b (vocab, hidden[0]); P_b unused when shared sum
    std::vector<matrix> m_pre, m_post;   // per hidden layer (n, width)
    matrix m_u;                          // tied, h·W_out (n, d)
    matrix m_w_et;                       // tied, W_out·Eᵀ (h_last, vocab)
    matrix m_repr_logits;

    // Gradient buffers, same shapes as above.
    matrix m_dembed_a, m_dembed_b, m_dx0, m_du, m_dw_et, m_dtable_a, m_dtable_b;
    std::vector<matrix> m_dpre, m_dpost;

    // Tangents (R{·}) of the above along the direction of the last forward_tangent().
    std::vector<float> m_direction;
    std::vector<std::size_t> m_offsets; // of each tensor in the flat direction
    matrix m_t_embed_a, m_t_embed_b, m_t_x0, m_t_u, m_t_w_et, m_t_table_a, m_t_table_b;
    std::vector<matrix> m_t_pre, m_t_post, m_t_dpre, m_t_dpost;
    matrix m_t_dx0, m_t_du, m_t_dw_et, m_t_dtable_a, m_t_dtable_b;
};

} // namespace mlp
