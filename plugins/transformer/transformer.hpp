// The transformer model: a decoder-only transformer (Nanda et al. 2023).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/model.hpp>
#include <grokkit/nn.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace transformer {

/// The model's settings as a pipeline sets them; the defaults (Nanda et al. 2023) live here only.
struct params {
    std::int64_t n_layers = 1;
    std::int64_t d_model = 128;
    std::int64_t n_heads = 4;
    std::int64_t d_head = 32;
    std::int64_t d_mlp = 512;
    std::string activation = "relu";
    bool layer_norm = false;
    double init_scale = 1.0;
};

/// x = W_E[tokens] + W_pos; per block x += attn(LN(x)), x += mlp(LN(x)); logits = LN(x_last)·W_U,
/// LN the identity unless layer_norm. Weights are stored (fan_in, fan_out), so a layer is x·W + b.
/// In the last block only the last position's query, attention output, MLP and unembedding are
/// computed: the loss reads nothing else.
class model_impl : public grokkit::model {
  public:
    model_impl() = default;
    explicit model_impl(const params& p) : m_params(p) {}

    void declare(grokkit::param_set& ps) override;
    /// Throws grokkit::error unless `spec` has token inputs (naming the spec found).
    void build(const grokkit::input_spec& spec, std::uint64_t seed) override;
    std::vector<grokkit::parameter*> parameters() override;
    /// logits (x.n, n_classes) at the last position; caches activations for backward(). Throws
    /// grokkit::error for a token outside the vocabulary.
    void forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) override;
    /// Throws grokkit::error unless the last pass was forward() with as many examples as dlogits.
    void backward(const xt::xtensor<float, 2>& dlogits) override;
    /// Row i of `out` (x.n, P) is example i's gradient given dlogits row i: one backward pass that
    /// keeps every per-row delta (block 0 per row even on the token table), then each example's
    /// sums of outer products. Leaves the grads as backward() does. Throws grokkit::error like
    /// backward().
    void example_gradients(const xt::xtensor<float, 2>& dlogits,
                           xt::xtensor<float, 2>& out) override;
    /// The tangent passes run block 0 on the rows, not on the token table: when forward() used
    /// the table, forward_tangent() first repeats it without (the same function up to rounding)
    /// and backward_tangent() the backward pass (transformer_tangent.cpp).
    void forward_tangent(const std::vector<float>& v, xt::xtensor<float, 2>& t_logits) override;
    void backward_tangent(const xt::xtensor<float, 2>& dlogits,
                          const xt::xtensor<float, 2>& t_dlogits) override;
    /// Per block its attention output W_O and MLP W_in (+ b_in) and W_out (+ b_out), then the
    /// unembedding W_U; rows are the positions each computes (only the last in the last block).
    /// W_Q, W_K, W_V (fused, and on the token table for block 0), embeddings and layer norms are
    /// not sites.
    std::vector<grokkit::linear_site> linear_sites() const override;
    void linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                          xt::xtensor<float, 2>& inputs,
                          xt::xtensor<float, 2>& output_grads) override;
    std::vector<std::string> representations() const override;
    /// Runs a forward pass over all positions of every block (so the last block's attention
    /// pattern is complete); a backward() then needs a new forward() first.
    xt::xarray<float> representation(const std::string& name, const grokkit::batch& x) override;

  private:
    using matrix = grokkit::nn::matrix<float>;
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    /// Indices into m_tensors of one block's parameters; the ln ones are `none` without layer_norm.
    struct block_params {
        std::size_t ln1_w = none, ln1_b = none;
        std::size_t w_q = none, w_k = none, w_v = none, w_o = none;
        std::size_t ln2_w = none, ln2_b = none;
        std::size_t w_in = none, b_in = none, w_out = none, b_out = none;
    };

    /// One block's activations and gradient buffers, reused across steps (no allocation while
    /// shapes are stable). Rows are example-major, position-minor; n_q is 1 or n_ctx.
    struct block_state {
        bool last_only = false; // queries only at the last position
        matrix w_qkv;           // (d_model, 3·hd) fused copy of W_Q | W_K | W_V
        matrix ln1;             // (n·n_ctx, d_model) when layer_norm
        grokkit::nn::layer_norm_cache<float> ln1_cache;
        matrix qkv;     // (n·n_ctx, 3·hd); last_only: q at last rows only; unused on the table
        matrix pattern; // (n, n_heads·n_q·n_ctx)
        matrix z;       // (n·n_q, hd)
        matrix mid;     // (n·n_q, d_model) residual after attention
        matrix ln2;     // (n·n_q, d_model) when layer_norm
        grokkit::nn::layer_norm_cache<float> ln2_cache;
        matrix mlp_pre, mlp_post; // (n·n_q, d_mlp)
        matrix d_mid, d_ln2, d_mlp_pre, d_mlp_post, d_z, d_qkv, d_ln1, d_w_qkv;
    };

    void check_spec(const grokkit::input_spec& spec) const;
    std::size_t add_tensor(const std::string& name, std::vector<std::size_t> shape);
    void init_normal(std::size_t index, std::uint64_t seed, std::size_t fan_in);
    void init_constant(std::size_t index, float value);
    void add_block(std::size_t l, std::uint64_t seed);
    float* value(std::size_t index) { return m_tensors[index].value.data(); }
    float* grad(std::size_t index) { return m_tensors[index].grad.data(); }
    grokkit::nn::gain_bias<const float> ln_value(std::size_t w, std::size_t b);
    grokkit::nn::gain_bias<float> ln_grad(std::size_t w, std::size_t b);
    grokkit::nn::attention_dims attention_dims(bool last_only) const;

    void copy_tokens(const grokkit::batch& x, const char* where);
    void run_forward(bool last_only, matrix& logits);
    void block_forward(std::size_t l, bool last_only);
    void fuse_qkv_weights(std::size_t l);
    void qkv_forward(std::size_t l);
    grokkit::nn::attention_qkv<const float*> qkv_input(std::size_t l) const;
    void attention_forward(std::size_t l);
    void mlp_forward(std::size_t l);
    void unembed_forward(matrix& logits);
    void check_dlogits(const matrix& dlogits, const char* where) const;
    void unembed_backward(const matrix& dlogits);
    void block_backward(std::size_t l);
    void mlp_backward(std::size_t l);
    void attention_backward(std::size_t l, bool per_row);
    void qkv_backward(std::size_t l);
    void split_qkv_grads(std::size_t l);
    /// The fused (d, 3·hd) `fused` into the W_Q, W_K and W_V gradients of block l.
    void split_qkv(const float* fused, std::size_t l);
    void embed_backward();
    void zero_gradients();
    void rows_backward(const matrix& dlogits);
    void example_rows(const matrix& dlogits, matrix& out) const;

    // Tangent passes (transformer_tangent.cpp).
    const float* direction(std::size_t index) const {
        return m_direction.data() + m_offsets[index];
    }
    void block_forward_tangent(std::size_t l);
    void unembed_forward_tangent(matrix& t_logits);
    void unembed_backward_tangent(const matrix& dlogits, const matrix& t_dlogits);
    void mlp_backward_tangent(std::size_t l);
    void attention_backward_tangent(std::size_t l);

    // Block 0 on the token table (transformer_table.cpp).
    bool is_table_cheaper() const;
    grokkit::nn::attention_qkv<const float*> table_qkv_input() const;
    grokkit::nn::attention_qkv<float*> table_qkv_grad();
    void table_qkv_forward();
    void table_qkv_backward();
    void table_input_backward();

    params m_params;

    // Set by build().
    bool m_is_built = false;
    grokkit::nn::activation m_f = grokkit::nn::activation::relu;
    std::size_t m_vocab = 0, m_n_classes = 0, m_n_ctx = 0;
    std::size_t m_d = 0, m_hd = 0, m_d_mlp = 0;
    std::vector<grokkit::parameter> m_tensors;
    std::size_t m_embed = none, m_pos_embed = none;
    std::vector<block_params> m_blocks;
    std::size_t m_ln_final_w = none, m_ln_final_b = none, m_unembed = none;

    /// The activations and gradient buffers of passes over one batch size. There are two sets, so
    /// that alternating sizes (training steps and test evaluations) each keep their own buffers
    /// instead of reallocating both at every switch.
    struct pass_buffers {
        std::size_t n = none;        // the batch size of the set's last pass
        std::vector<matrix> resid;   // [l]: input of block l (n·n_ctx, d); [L]: final (n·n_q, d)
        std::vector<matrix> d_resid; // their gradients
        std::vector<block_state> state;
        matrix ln_final, d_ln_final; // (n·n_q, d) when layer_norm
        grokkit::nn::layer_norm_cache<float> ln_final_cache;
    };
    pass_buffers& pass() { return m_passes[m_current]; }
    const pass_buffers& pass() const { return m_passes[m_current]; }
    void select_pass(std::size_t n);

    // Cached by forward() for backward().
    std::size_t m_n = 0;
    bool m_has_training_pass = false;   // the last pass was forward(), not representation()
    std::vector<std::int32_t> m_tokens; // (n, n_ctx)
    std::array<pass_buffers, 2> m_passes;
    std::size_t m_current = 0; // the set of the last pass
    matrix m_repr_logits;      // (n·n_ctx, n_classes) of representation()

    // Block 0's input rows take only vocab·n_ctx values, E[token] + P[position]: for batches with
    // more examples than tokens its Q, K, V products run on that table, and its attention reads
    // the table's rows through row maps.
    bool m_use_table = false;           // the last pass ran block 0 on the table
    std::vector<std::size_t> m_row_ids; // (n·n_ctx) table row of each row: token·n_ctx + position
    std::vector<std::size_t> m_q_row_ids; // (n) table row of each example's last position
    matrix m_table, m_table_ln;           // (vocab·n_ctx, d) the distinct inputs and their LN
    grokkit::nn::layer_norm_cache<float> m_table_ln_cache;
    matrix m_table_qkv;             // (vocab·n_ctx, 3·hd)
    matrix m_d_table_qkv;           // (vocab·n_ctx, 3·hd) summed over rows sharing a table row
    matrix m_d_table_ln, m_d_table; // (vocab·n_ctx, d)

    // Tangents (R{·}) of one block's activations and gradients, along the direction of the last
    // forward_tangent(); shapes as in block_state.
    struct block_tangent {
        matrix v_w_qkv; // (d, 3·hd) the direction's W_Q | W_K | W_V
        matrix ln1, qkv, pattern, z, mid, ln2, mlp_pre, mlp_post;
        grokkit::nn::layer_norm_tangent_cache<float> ln1_cache, ln2_cache;
        matrix d_mid, d_ln2, d_mlp_pre, d_mlp_post, d_z, d_qkv, d_ln1, d_w_qkv;
    };
    std::vector<float> m_direction;
    std::vector<std::size_t> m_offsets; // of each tensor in the flat direction
    std::vector<block_tangent> m_tangent;
    std::vector<matrix> m_t_resid, m_t_d_resid;
    matrix m_t_ln_final, m_t_d_ln_final;
    grokkit::nn::layer_norm_tangent_cache<float> m_t_ln_final_cache;
    bool m_backward_is_direct = false; // backward() ran on the rows since the last forward()
    bool m_rows_only = false;          // run_forward() must not use the token table
    matrix m_rows_logits;              // the logits of forward_tangent()'s repeated pass
};

} // namespace transformer
