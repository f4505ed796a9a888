// The transformer model: parameters, initialisation and representations.
// SPDX-License-Identifier: Apache-2.0
#include "transformer.hpp"

#include <grokkit/error.hpp>
#include <grokkit/init.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace transformer {

namespace nn = grokkit::nn;

namespace {

// The representation kinds of one block, in the order representations() lists them.
constexpr std::size_t n_block_kinds = 5;
constexpr const char* block_kinds[n_block_kinds] = {"resid_pre", "attn_pattern", "resid_mid",
                                                    "mlp_pre", "mlp_post"};

// `m` (rows, cols) row-major as an array of `shape` with the same number of values.
xt::xarray<float> reshaped(const grokkit::nn::matrix<float>& m, std::vector<std::size_t> shape) {
    xt::xarray<float> out = xt::xarray<float>::from_shape(shape);
    std::copy(m.begin(), m.end(), out.begin());
    return out;
}

// Rows (i·n_ctx + n_ctx − 1) of `m` (n·n_ctx, cols): the last position of each example, (n, cols).
xt::xarray<float> last_rows(const grokkit::nn::matrix<float>& m, std::size_t n_ctx) {
    const std::size_t n = m.shape(0) / n_ctx;
    const std::size_t cols = m.shape(1);
    xt::xarray<float> out = xt::xarray<float>::from_shape({n, cols});
    for (std::size_t i = 0; i < n; ++i) {
        const float* row = m.data() + ((i + 1) * n_ctx - 1) * cols;
        std::copy(row, row + cols, out.data() + i * cols);
    }
    return out;
}

} // namespace

void model_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("n_layers", p.n_layers,
           "transformer blocks, each attention then MLP on the residual "
           "stream")
        .at_least(1);
    ps.add("d_model", p.d_model, "width of the residual stream and of the embeddings").at_least(1);
    ps.add("n_heads", p.n_heads, "attention heads per block").at_least(1);
    ps.add("d_head", p.d_head,
           "width of each head's queries, keys and values; n_heads*d_head need not equal d_model")
        .at_least(1);
    ps.add("d_mlp", p.d_mlp, "hidden width of each block's MLP").at_least(1);
    ps.add("activation", p.activation, "MLP nonlinearity; gelu is the tanh approximation")
        .one_of({"relu", "gelu"});
    ps.add("layer_norm", p.layer_norm,
           "layer norm (eps 1e-5, with gain and bias) before attention, MLP and unembedding; "
           "Nanda et al. use none");
    ps.add("init_scale", p.init_scale,
           "weights start N(0, (init_scale/sqrt(fan_in))^2), fan_in d_model for W_E, W_pos, W_Q, "
           "W_K, W_V, W_U and W_in, n_heads*d_head for W_O, d_mlp for W_out; biases 0")
        .above(0);
}

void model_impl::check_spec(const grokkit::input_spec& spec) const {
    grokkit::check_declared(*this, "transformer.build"); // for direct callers; the host did
    if (!spec.has_tokens() || spec.vocab_size == 0 || spec.n_classes == 0) {
        throw grokkit::error("transformer.build", "input is " + spec.describe(),
                             "tokens (at least 1 position, any vocabulary), at "
                             "least 1 class");
    }
}

std::size_t model_impl::add_tensor(const std::string& name, std::vector<std::size_t> shape) {
    grokkit::parameter p;
    p.name = name;
    p.value = xt::xarray<float>::from_shape(shape);
    p.grad = xt::zeros<float>(shape);
    m_tensors.push_back(std::move(p));
    return m_tensors.size() - 1;
}

// N(0, (init_scale / sqrt(fan_in))²), from the tensor's own stream (its index).
void model_impl::init_normal(std::size_t index, std::uint64_t seed, std::size_t fan_in) {
    xt::xarray<float>& v = m_tensors[index].value;
    grokkit::init::normal({v.data(), v.size()},
                          m_params.init_scale / std::sqrt(static_cast<double>(fan_in)), seed,
                          index);
}

void model_impl::init_constant(std::size_t index, float value) {
    m_tensors[index].value.fill(value);
}

void model_impl::add_block(std::size_t l, std::uint64_t seed) {
    const std::string prefix = "blocks." + std::to_string(l) + ".";
    block_params b;
    if (m_params.layer_norm) {
        b.ln1_w = add_tensor(prefix + "ln1.w", {m_d});
        init_constant(b.ln1_w, 1.0f);
        b.ln1_b = add_tensor(prefix + "ln1.b", {m_d});
        init_constant(b.ln1_b, 0.0f);
    }
    b.w_q = add_tensor(prefix + "attn.W_Q", {m_d, m_hd});
    init_normal(b.w_q, seed, m_d);
    b.w_k = add_tensor(prefix + "attn.W_K", {m_d, m_hd});
    init_normal(b.w_k, seed, m_d);
    b.w_v = add_tensor(prefix + "attn.W_V", {m_d, m_hd});
    init_normal(b.w_v, seed, m_d);
    b.w_o = add_tensor(prefix + "attn.W_O", {m_hd, m_d});
    init_normal(b.w_o, seed, m_hd);
    if (m_params.layer_norm) {
        b.ln2_w = add_tensor(prefix + "ln2.w", {m_d});
        init_constant(b.ln2_w, 1.0f);
        b.ln2_b = add_tensor(prefix + "ln2.b", {m_d});
        init_constant(b.ln2_b, 0.0f);
    }
    b.w_in = add_tensor(prefix + "mlp.W_in", {m_d, m_d_mlp});
    init_normal(b.w_in, seed, m_d);
    b.b_in = add_tensor(prefix + "mlp.b_in", {m_d_mlp});
    init_constant(b.b_in, 0.0f);
    b.w_out = add_tensor(prefix + "mlp.W_out", {m_d_mlp, m_d});
    init_normal(b.w_out, seed, m_d_mlp);
    b.b_out = add_tensor(prefix + "mlp.b_out", {m_d});
    init_constant(b.b_out, 0.0f);
    m_blocks.push_back(b);
}

void model_impl::build(const grokkit::input_spec& spec, std::uint64_t seed) {
    m_is_built = false;
    check_spec(spec);
    m_f = nn::activation_from_string(m_params.activation);
    m_vocab = spec.vocab_size;
    m_n_classes = spec.n_classes;
    m_n_ctx = spec.n_tokens;
    m_d = static_cast<std::size_t>(m_params.d_model);
    m_hd = static_cast<std::size_t>(m_params.n_heads * m_params.d_head);
    m_d_mlp = static_cast<std::size_t>(m_params.d_mlp);
    const auto n_layers = static_cast<std::size_t>(m_params.n_layers);
    m_tensors.clear();
    m_blocks.clear();

    m_embed = add_tensor("embed", {m_vocab, m_d});
    init_normal(m_embed, seed, m_d);
    m_pos_embed = add_tensor("pos_embed", {m_n_ctx, m_d});
    init_normal(m_pos_embed, seed, m_d);
    for (std::size_t l = 0; l < n_layers; ++l) {
        add_block(l, seed);
    }
    m_ln_final_w = m_ln_final_b = none;
    if (m_params.layer_norm) {
        m_ln_final_w = add_tensor("ln_final.w", {m_d});
        init_constant(m_ln_final_w, 1.0f);
        m_ln_final_b = add_tensor("ln_final.b", {m_d});
        init_constant(m_ln_final_b, 0.0f);
    }
    m_unembed = add_tensor("unembed", {m_d, m_n_classes});
    init_normal(m_unembed, seed, m_d);

    for (pass_buffers& buffers : m_passes) {
        buffers = pass_buffers{};
        buffers.resid.assign(n_layers + 1, matrix{});
        buffers.d_resid.assign(n_layers + 1, matrix{});
        buffers.state.assign(n_layers, block_state{});
    }
    m_current = 0;
    m_has_training_pass = false;
    m_is_built = true;
}

std::vector<grokkit::parameter*> model_impl::parameters() {
    return grokkit::pointers_to(m_tensors);
}

std::vector<std::string> model_impl::representations() const {
    std::vector<std::string> names{"embed"};
    for (std::int64_t l = 0; l < m_params.n_layers; ++l) {
        for (const char* kind : block_kinds) {
            names.push_back(kind + std::to_string(l));
        }
    }
    names.push_back("resid_final");
    names.push_back("logits");
    return names;
}

xt::xarray<float> model_impl::representation(const std::string& name, const grokkit::batch& x) {
    const std::vector<std::string> names = representations();
    const auto found = std::find(names.begin(), names.end(), name);
    if (found == names.end()) {
        throw grokkit::error("transformer.representation",
                             "\"" + name + "\" is not a representation",
                             "one of " + grokkit::join(names));
    }
    if (!m_is_built) {
        throw grokkit::error("transformer.representation", "the model is not built",
                             "build() first");
    }
    copy_tokens(x, "transformer.representation");
    run_forward(false, m_repr_logits);
    m_has_training_pass = false;

    const std::size_t n = m_n;
    const auto index = static_cast<std::size_t>(found - names.begin());
    if (index == 0) {
        matrix embed;
        nn::embedding_forward(m_tokens.data(), 1, value(m_embed), m_d, n * m_n_ctx, embed);
        return reshaped(embed, {n, m_n_ctx, m_d});
    }
    if (index == names.size() - 1) {
        return last_rows(m_repr_logits, m_n_ctx);
    }
    if (index == names.size() - 2) {
        return last_rows(pass().resid.back(), m_n_ctx);
    }
    const std::size_t l = (index - 1) / n_block_kinds;
    const block_state& s = pass().state[l];
    // The last block's per-position quantities are shown at the last position, as trained.
    const bool is_last = l + 1 == m_blocks.size();
    auto per_position = [&](const matrix& m) {
        return is_last ? last_rows(m, m_n_ctx) : reshaped(m, {n, m_n_ctx, m.shape(1)});
    };
    switch ((index - 1) % n_block_kinds) {
    case 0:
        return reshaped(pass().resid[l], {n, m_n_ctx, m_d});
    case 1:
        return reshaped(s.pattern,
                        {n, static_cast<std::size_t>(m_params.n_heads), m_n_ctx, m_n_ctx});
    case 2:
        return per_position(s.mid);
    case 3:
        return per_position(s.mlp_pre);
    default:
        return per_position(s.mlp_post);
    }
}

} // namespace transformer
