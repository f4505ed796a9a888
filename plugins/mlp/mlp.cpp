// The mlp model: parameters, initialisation, forward and backward passes, representations.
// SPDX-License-Identifier: Apache-2.0
#include "mlp.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/init.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>
#include <utility>

namespace mlp {

namespace nn = grokkit::nn;

namespace {

constexpr std::size_t n_tokens = 2;

} // namespace

void model_impl::declare(grokkit::param_set& ps) {
    params& p = m_params;
    ps.add("d_embed", p.d_embed, "width of each token embedding").at_least(1);
    ps.add("hidden", p.hidden, "widths of the hidden layers, first to last")
        .non_empty()
        .at_least(1);
    ps.add("activation", p.activation,
           "nonlinearity after each hidden layer; gelu is the tanh approximation")
        .one_of({"relu", "gelu", "square"});
    ps.add("combine", p.combine,
           "how the two token embeddings form the first layer's input: concat (Nanda-style) or "
           "sum (PAIR, one W_h for both)")
        .one_of({"concat", "sum"});
    ps.add("shared_embedding", p.shared_embedding, "one embedding table for both tokens");
    ps.add("tie_unembedding", p.tie_unembedding,
           "logits = h W_out E^T with the shared embedding E; needs n_classes = vocab_size");
    ps.add("bias", p.bias, "biases in the hidden layers and the untied output layer");
    ps.add("init", p.init,
           "initial weights as PyTorch's defaults (torch: embeddings N(0, 1), linear U(-k, k), k = "
           "1/sqrt(fan_in)) or Haiku's as in the PAIR notebook (haiku: embeddings truncated "
           "normal with std sqrt(2/vocab), linear truncated normal (2 sigma) with sigma = "
           "1/sqrt(fan_in))")
        .one_of({"torch", "haiku"});
    ps.add("init_scale", p.init_scale, "multiplies every initial weight").above(0);
    ps.check("tie_unembedding", "shared_embedding = true", [this]() -> std::optional<std::string> {
        if (m_params.tie_unembedding && !m_params.shared_embedding) {
            return std::string("true needs one embedding table, but shared_embedding is false");
        }
        return std::nullopt;
    });
}

void model_impl::check_spec(const grokkit::input_spec& spec) const {
    grokkit::check_declared(*this, "mlp.build"); // for direct callers; the host checked them
    const bool tokens_ok = spec.has_tokens() && spec.n_tokens == n_tokens && spec.vocab_size > 0;
    const bool features_ok = !spec.has_tokens() && spec.n_features > 0;
    if (!(tokens_ok || features_ok) || spec.n_outputs() == 0) {
        throw grokkit::error("mlp.build", "input is " + spec.describe(),
                             "tokens (2 positions, any vocabulary) "
                             "or dense features, at least 1 class or target");
    }
    if (features_ok && m_params.tie_unembedding) {
        throw grokkit::error("mlp.build", "tie_unembedding: input is " + spec.describe(),
                             "token inputs (there is no embedding "
                             "to tie to)");
    }
    if (m_params.tie_unembedding && !m_params.shared_embedding) {
        throw grokkit::error("mlp.build", "tie_unembedding: true with shared_embedding = false; "
                                          "expected shared_embedding = true");
    }
    if (m_params.tie_unembedding && spec.n_classes != spec.vocab_size) {
        throw grokkit::error("mlp.build", "tie_unembedding: input is " + spec.describe(),
                             "as many classes as tokens (logits score E's rows)");
    }
}

std::size_t model_impl::add_tensor(const std::string& name, std::vector<std::size_t> shape) {
    m_tensors.push_back(grokkit::zero_parameter(name, shape)); // initialised by the caller
    return m_tensors.size() - 1;
}

// Embedding tables. torch: nn.Embedding's N(0, 1). haiku: the PAIR notebook's
// VarianceScaling(2) with fan_in = the table's rows, a truncated normal of std sqrt(2/vocab).
void model_impl::init_embedding(std::size_t index, std::uint64_t seed) {
    std::span<float> values(m_tensors[index].value.data(), m_tensors[index].value.size());
    if (m_params.init == "haiku") {
        const double std_dev = std::sqrt(2.0 / static_cast<double>(m_vocab));
        grokkit::init::truncated_normal(
            values, m_params.init_scale * std_dev / grokkit::init::truncated_normal_std, seed,
            index);
    } else {
        grokkit::init::normal(values, m_params.init_scale, seed, index);
    }
}

// Weights and biases. torch: nn.Linear's U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform_
// with a = sqrt(5)). haiku: hk.Linear's TruncatedNormal(1/sqrt(fan_in)); its biases start at 0.
void model_impl::init_linear(std::size_t index, std::uint64_t seed, std::size_t fan_in) {
    std::span<float> values(m_tensors[index].value.data(), m_tensors[index].value.size());
    const double k = m_params.init_scale / std::sqrt(static_cast<double>(fan_in));
    const bool is_bias = m_tensors[index].value.dimension() == 1;
    if (m_params.init == "haiku") {
        if (is_bias)
            std::fill(values.begin(), values.end(), 0.0f);
        else
            grokkit::init::truncated_normal(values, k, seed, index);
    } else {
        grokkit::init::uniform(values, k, seed, index);
    }
}

void model_impl::build(const grokkit::input_spec& spec, std::uint64_t seed) {
    m_is_built = false;
    check_spec(spec);
    m_f = nn::activation_from_string(m_params.activation);
    m_is_concat = m_params.combine == "concat";
    m_vocab = spec.vocab_size;
    m_n_classes = spec.n_outputs(); // classes, or real-valued targets
    m_d = static_cast<std::size_t>(m_params.d_embed);
    m_tensors.clear();
    m_hidden.clear();

    // Dense features feed the first hidden layer directly; d_embed, combine and the embedding
    // options then play no part.
    m_is_dense = !spec.has_tokens();
    std::size_t fan_in = spec.n_features;
    m_embed_a = m_embed_b = none;
    if (!m_is_dense) {
        m_embed_a = add_tensor(m_params.shared_embedding ? "embed" : "embed_a", {m_vocab, m_d});
        init_embedding(m_embed_a, seed);
        m_embed_b = m_embed_a;
        if (!m_params.shared_embedding) {
            m_embed_b = add_tensor("embed_b", {m_vocab, m_d});
            init_embedding(m_embed_b, seed);
        }
        fan_in = m_is_concat ? 2 * m_d : m_d;
    }
    for (std::size_t i = 0; i < m_params.hidden.size(); ++i) {
        layer l;
        l.width = static_cast<std::size_t>(m_params.hidden[i]);
        const std::string prefix = "hidden" + std::to_string(i);
        l.weight = add_tensor(prefix + ".weight", {fan_in, l.width});
        init_linear(l.weight, seed, fan_in);
        if (m_params.bias) {
            l.bias = add_tensor(prefix + ".bias", {l.width});
            init_linear(l.bias, seed, fan_in);
        }
        m_hidden.push_back(l);
        fan_in = l.width;
    }
    // Tied: out.weight maps h_last into embedding space, and Eᵀ does the rest (no bias).
    m_out = layer{};
    m_out.width = m_params.tie_unembedding ? m_d : m_n_classes;
    m_out.weight = add_tensor("out.weight", {fan_in, m_out.width});
    init_linear(m_out.weight, seed, fan_in);
    if (m_params.bias && !m_params.tie_unembedding) {
        m_out.bias = add_tensor("out.bias", {m_out.width});
        init_linear(m_out.bias, seed, fan_in);
    }

    m_pre.assign(m_hidden.size(), matrix{});
    m_post.assign(m_hidden.size(), matrix{});
    m_dpre.assign(m_hidden.size(), matrix{});
    m_dpost.assign(m_hidden.size(), matrix{});
    m_is_built = true;
}

std::vector<grokkit::parameter*> model_impl::parameters() {
    return grokkit::pointers_to(m_tensors);
}

const float* model_impl::bias_value(const layer& l) {
    return l.bias == none ? nullptr : value(l.bias);
}

float* model_impl::bias_grad(const layer& l) {
    return l.bias == none ? nullptr : grad(l.bias);
}

// Tied logits are h·W_out·Eᵀ. Multiplying left to right costs n·h·d + n·d·V; forming W_out·Eᵀ
// first costs h·d·V + n·h·V, cheaper for large batches (n·h·V dominates when d < V).
bool model_impl::is_tied_product_cheaper(std::size_t n) const {
    const std::size_t h = m_tensors[m_out.weight].value.shape(0);
    const std::size_t left_to_right = n * h * m_d + n * m_d * m_vocab;
    const std::size_t product_first = h * m_d * m_vocab + n * h * m_vocab;
    return product_first < left_to_right;
}

// The tables the first layer reads: P_a and P_b, or one P = E·W_0 when the sum shares E.
std::size_t model_impl::n_tables() const {
    return (!m_is_concat && m_embed_a == m_embed_b) ? 1 : 2;
}

// Per unit of hidden[0], the direct first layer costs n·fan_in multiply-adds (and as many again
// for each of dW_0 and dx0); the tables cost n_tables·vocab·d (and as many for dW_0 and dE), plus
// n gathers. That is vocab < n except for the sum of separate tables, 2·vocab < n.
bool model_impl::is_table_cheaper(std::size_t n) const {
    const std::size_t fan_in = m_is_concat ? 2 * m_d : m_d;
    return n_tables() * m_vocab * m_d < n * fan_in;
}

void model_impl::copy_tokens(const grokkit::batch& x) {
    if (x.tokens == nullptr) {
        throw grokkit::error("mlp.forward", "batch has no tokens", "token inputs");
    }
    m_n = x.n;
    m_tokens.assign(x.tokens, x.tokens + n_tokens * x.n); // keeps capacity: no allocation
    for (std::size_t k = 0; k < m_tokens.size(); ++k) {
        const std::int32_t id = m_tokens[k];
        if (id < 0 || static_cast<std::size_t>(id) >= m_vocab) {
            throw grokkit::error("mlp.forward",
                                 "token " + std::to_string(id) + " of example " +
                                     std::to_string(k / n_tokens) + " is outside the vocabulary",
                                 "0 <= "
                                 "token < " +
                                     std::to_string(m_vocab));
        }
    }
}

void model_impl::embed_forward() {
    combine_embeddings(value(m_embed_a), value(m_embed_b), m_embed_a_out, m_embed_b_out, m_x0);
}

void model_impl::combine_embeddings(const float* table_a, const float* table_b, matrix& rows_a,
                                    matrix& rows_b, matrix& x0) const {
    nn::embedding_forward(m_tokens.data(), n_tokens, table_a, m_d, m_n, rows_a);
    nn::embedding_forward(m_tokens.data() + 1, n_tokens, table_b, m_d, m_n, rows_b);
    const float* a = rows_a.data();
    const float* b = rows_b.data();
    if (m_is_concat) {
        nn::ensure_shape(x0, m_n, 2 * m_d);
        float* x = x0.data();
        for (std::size_t i = 0; i < m_n; ++i) {
            std::copy(a + i * m_d, a + (i + 1) * m_d, x + i * 2 * m_d);
            std::copy(b + i * m_d, b + (i + 1) * m_d, x + i * 2 * m_d + m_d);
        }
        return;
    }
    // PAIR: ReLU(E[a]·W_h + E[b]·W_h) = ReLU((E[a] + E[b])·W_h), one product instead of two.
    nn::ensure_shape(x0, m_n, m_d);
    float* x = x0.data();
    for (std::size_t k = 0; k < m_n * m_d; ++k) {
        x[k] = a[k] + b[k];
    }
}

// hidden0.pre (n, h) = P_a[a] + P_b[b] + b_0: the same function as x0·W_0 + b_0, since
// [E_a[a], E_b[b]]·W_0 = E_a[a]·W_0[:d] + E_b[b]·W_0[d:] and (E_a[a] + E_b[b])·W_0 = E_a[a]·W_0 +
// E_b[b]·W_0. The products cost vocab·d·h each instead of n·fan_in·h.
void model_impl::table_forward() {
    const layer& l0 = m_hidden[0];
    const std::size_t h = l0.width;
    const float* w = value(l0.weight);
    nn::ensure_shape(m_table_a, m_vocab, h);
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, m_vocab, h, m_d, 1.0f,
                  value(m_embed_a), m_d, w, h, 0.0f, m_table_a.data(), h);
    const float* pa = m_table_a.data();
    const float* pb = pa;
    if (n_tables() == 2) {
        const float* wb = m_is_concat ? w + m_d * h : w;
        nn::ensure_shape(m_table_b, m_vocab, h);
        grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, m_vocab, h, m_d, 1.0f,
                      value(m_embed_b), m_d, wb, h, 0.0f, m_table_b.data(), h);
        pb = m_table_b.data();
    }
    // ReLU in the same pass: the (n, h) activations are read once instead of twice.
    const bool fused = m_f == nn::activation::relu;
    gather_tables(pa, pb, bias_value(l0), h, m_pre[0], fused ? &m_post[0] : nullptr);
    if (!fused)
        nn::activation_forward(m_f, m_pre[0], m_post[0]);
}

void model_impl::gather_tables(const float* pa, const float* pb, const float* bias, std::size_t h,
                               matrix& pre, matrix* relu) const {
    nn::ensure_shape(pre, m_n, h);
    if (relu != nullptr)
        nn::ensure_shape(*relu, m_n, h);
    for (std::size_t i = 0; i < m_n; ++i) {
        const float* ra = pa + static_cast<std::size_t>(m_tokens[n_tokens * i]) * h;
        const float* rb = pb + static_cast<std::size_t>(m_tokens[n_tokens * i + 1]) * h;
        float* out = pre.data() + i * h;
        if (bias != nullptr) {
            for (std::size_t j = 0; j < h; ++j) {
                out[j] = ra[j] + rb[j] + bias[j];
            }
        } else {
            for (std::size_t j = 0; j < h; ++j) {
                out[j] = ra[j] + rb[j];
            }
        }
        if (relu == nullptr)
            continue;
        float* post = relu->data() + i * h;
        for (std::size_t j = 0; j < h; ++j)
            post[j] = out[j] < 0.0f ? 0.0f : out[j]; // nn::activation_forward's ReLU
    }
}

void model_impl::relu_scatter_tables(std::size_t h, float* dpa, float* dpb) {
    nn::ensure_shape(m_dpre[0], m_n, h);
    const float* pre = m_pre[0].data();
    const float* dpost = m_dpost[0].data();
    float* dpre = m_dpre[0].data();
    for (std::size_t i = 0; i < m_n; ++i) {
        float* ra = dpa + static_cast<std::size_t>(m_tokens[n_tokens * i]) * h;
        float* rb = dpb + static_cast<std::size_t>(m_tokens[n_tokens * i + 1]) * h;
        for (std::size_t j = i * h; j < (i + 1) * h; ++j) // nn::activation_backward's ReLU
            dpre[j] = pre[j] > 0.0f ? dpost[j] : 0.0f;
        for (std::size_t j = 0; j < h; ++j)
            ra[j] += dpre[i * h + j];
        for (std::size_t j = 0; j < h; ++j)
            rb[j] += dpre[i * h + j];
    }
}

void model_impl::output_forward(const matrix& h, matrix& logits) {
    if (!m_params.tie_unembedding) {
        nn::linear_forward(h, value(m_out.weight), m_out.width, bias_value(m_out), logits);
        return;
    }
    const float* e = value(m_embed_a);
    m_used_tied_product = is_tied_product_cheaper(m_n);
    if (!m_used_tied_product) {
        nn::linear_forward<float>(h, value(m_out.weight), m_d, nullptr, m_u);
        nn::unembed_forward(m_u, e, m_vocab, logits);
        return;
    }
    // W_out·Eᵀ (h_last, vocab) = W_out (h_last, d) · Eᵀ (d, vocab), once per forward.
    const std::size_t h_last = h.shape(1);
    nn::ensure_shape(m_w_et, h_last, m_vocab);
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::yes, h_last, m_vocab, m_d, 1.0f,
                  value(m_out.weight), m_d, e, m_d, 0.0f, m_w_et.data(), m_vocab);
    nn::linear_forward<float>(h, m_w_et.data(), m_vocab, nullptr, logits);
}

void model_impl::forward(const grokkit::batch& x, xt::xtensor<float, 2>& logits) {
    if (!m_is_built) {
        throw grokkit::error("mlp.forward", "the model is not built", "build() first");
    }
    if (m_is_dense) {
        m_used_table = false;
        if (x.features == nullptr)
            throw grokkit::error("mlp.forward", "batch has no features", "dense feature inputs");
        m_n = x.n;
        const std::size_t width =
            m_tensors[m_hidden.empty() ? m_out.weight : m_hidden[0].weight].value.shape(0);
        nn::ensure_shape(m_x0, m_n, width);
        std::copy(x.features, x.features + m_n * width, m_x0.data());
    } else {
        copy_tokens(x);
        m_used_table = m_first_layer == first_layer::table ||
                       (m_first_layer == first_layer::automatic && is_table_cheaper(m_n));
        if (!m_used_table) {
            embed_forward();
        }
    }
    const matrix* in = &m_x0;
    for (std::size_t i = 0; i < m_hidden.size(); ++i) {
        const layer& l = m_hidden[i];
        if (i == 0 && m_used_table) {
            table_forward(); // and its activation
        } else {
            nn::linear_forward(*in, value(l.weight), l.width, bias_value(l), m_pre[i]);
            nn::activation_forward(m_f, m_pre[i], m_post[i]);
        }
        in = &m_post[i];
    }
    output_forward(*in, logits);
}

void model_impl::output_backward(const matrix& h, const matrix& dlogits, matrix& dh) {
    if (!m_params.tie_unembedding) {
        nn::linear_backward(h, value(m_out.weight), dlogits, &dh, grad(m_out.weight),
                            bias_grad(m_out));
        return;
    }
    const float* e = value(m_embed_a);
    float* de = grad(m_embed_a);
    if (!m_used_tied_product) {
        nn::unembed_backward(m_u, e, dlogits, &m_du, de);
        nn::linear_backward<float>(h, value(m_out.weight), m_du, &dh, grad(m_out.weight), nullptr);
        return;
    }
    const std::size_t h_last = h.shape(1);
    nn::ensure_shape(m_dw_et, h_last, m_vocab);
    nn::linear_backward<float>(h, m_w_et.data(), dlogits, &dh, m_dw_et.data(), nullptr);
    // d W_out (h_last, d) = d(W_out·Eᵀ) (h_last, vocab) · E (vocab, d)
    grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, h_last, m_d, m_vocab, 1.0f,
                  m_dw_et.data(), m_vocab, e, m_d, 0.0f, grad(m_out.weight), m_d);
    // dE (vocab, d) += d(W_out·Eᵀ)ᵀ (vocab, h_last) · W_out (h_last, d)
    grokkit::gemm(grokkit::transpose::yes, grokkit::transpose::no, m_vocab, m_d, h_last, 1.0f,
                  m_dw_et.data(), m_vocab, value(m_out.weight), m_d, 1.0f, de, m_d);
}

// From d hidden0.pre (n, h): each example's row is added into dP_a (vocab, h) at its token a and
// into dP_b at b; then dW_0 = E_aᵀ·dP_a (+) E_bᵀ·dP_b (the halves of W_0 for concat, summed for
// sum) and dE_a += dP_a·W_0[:d]ᵀ, dE_b += dP_b·W_0[d:]ᵀ (W_0 for both with sum). A shared sum
// table takes both tokens' rows in one dP.
void model_impl::table_backward() {
    const layer& l0 = m_hidden[0];
    const std::size_t h = l0.width;
    const float* w = value(l0.weight);
    float* dw = grad(l0.weight);
    nn::ensure_shape(m_dtable_a, m_vocab, h);
    std::fill(m_dtable_a.begin(), m_dtable_a.end(), 0.0f);
    const bool one_table = n_tables() == 1;
    if (!one_table) {
        nn::ensure_shape(m_dtable_b, m_vocab, h);
        std::fill(m_dtable_b.begin(), m_dtable_b.end(), 0.0f);
    }
    matrix& dpb = one_table ? m_dtable_a : m_dtable_b;
    if (m_f == nn::activation::relu) {
        relu_scatter_tables(h, m_dtable_a.data(), dpb.data());
    } else {
        nn::activation_backward(m_f, m_pre[0], m_dpost[0], m_dpre[0]);
        nn::embedding_backward(m_tokens.data(), n_tokens, m_dpre[0], m_dtable_a.data());
        nn::embedding_backward(m_tokens.data() + 1, n_tokens, m_dpre[0], dpb.data());
    }
    // db_0 is the sum of dpre0's rows. With two tables each example has added its row to dP_a
    // once, so it is the sum of dP_a's vocab rows instead of n rows; one shared table has both.
    if (float* db = bias_grad(l0); db != nullptr) {
        const matrix& rows = one_table ? m_dpre[0] : m_dtable_a;
        std::fill(db, db + h, 0.0f);
        for (std::size_t v = 0; v < rows.shape(0); ++v) {
            const float* row = rows.data() + v * h;
            for (std::size_t j = 0; j < h; ++j) {
                db[j] += row[j];
            }
        }
    }
    using grokkit::transpose;
    // dW_0 (d, h) = Eᵀ (d, vocab) · dP (vocab, h)
    grokkit::gemm(transpose::yes, transpose::no, m_d, h, m_vocab, 1.0f, value(m_embed_a), m_d,
                  m_dtable_a.data(), h, 0.0f, dw, h);
    // dE (vocab, d) += dP (vocab, h) · W_0ᵀ (h, d)
    grokkit::gemm(transpose::no, transpose::yes, m_vocab, m_d, h, 1.0f, m_dtable_a.data(), h, w, h,
                  1.0f, grad(m_embed_a), m_d);
    if (one_table) {
        return;
    }
    const std::size_t offset = m_is_concat ? m_d * h : 0;
    grokkit::gemm(transpose::yes, transpose::no, m_d, h, m_vocab, 1.0f, value(m_embed_b), m_d,
                  m_dtable_b.data(), h, m_is_concat ? 0.0f : 1.0f, dw + offset, h);
    grokkit::gemm(transpose::no, transpose::yes, m_vocab, m_d, h, 1.0f, m_dtable_b.data(), h,
                  w + offset, h, 1.0f, grad(m_embed_b), m_d);
}

void model_impl::embed_backward() {
    scatter_embeddings(m_dx0, grad(m_embed_a), grad(m_embed_b));
}

void model_impl::scatter_embeddings(const matrix& dx0, float* de_a, float* de_b) {
    if (!m_is_concat) {
        // Sum: both embeddings receive the whole gradient of x0.
        nn::embedding_backward(m_tokens.data(), n_tokens, dx0, de_a);
        nn::embedding_backward(m_tokens.data() + 1, n_tokens, dx0, de_b);
        return;
    }
    nn::ensure_shape(m_dembed_a, m_n, m_d);
    nn::ensure_shape(m_dembed_b, m_n, m_d);
    const float* dx = dx0.data();
    for (std::size_t i = 0; i < m_n; ++i) {
        std::copy(dx + i * 2 * m_d, dx + i * 2 * m_d + m_d, m_dembed_a.data() + i * m_d);
        std::copy(dx + i * 2 * m_d + m_d, dx + (i + 1) * 2 * m_d, m_dembed_b.data() + i * m_d);
    }
    nn::embedding_backward(m_tokens.data(), n_tokens, m_dembed_a, de_a);
    nn::embedding_backward(m_tokens.data() + 1, n_tokens, m_dembed_b, de_b);
}

void model_impl::backward(const xt::xtensor<float, 2>& dlogits) {
    if (!m_is_built) {
        throw grokkit::error("mlp.backward", "the model is not built", "build() first");
    }
    if (dlogits.shape(0) != m_n || dlogits.shape(1) != m_n_classes) {
        throw grokkit::error("mlp.backward",
                             "dlogits shape " +
                                 grokkit::shape_text(dlogits.shape(0), dlogits.shape(1)),
                             grokkit::shape_text(m_n, m_n_classes) + " from the last forward()");
    }
    // Embedding gradients are sums over positions (and the tied unembedding): zero, then add.
    if (!m_is_dense) {
        std::fill(m_tensors[m_embed_a].grad.begin(), m_tensors[m_embed_a].grad.end(), 0.0f);
        std::fill(m_tensors[m_embed_b].grad.begin(), m_tensors[m_embed_b].grad.end(), 0.0f);
    }

    const std::size_t n_layers = m_hidden.size();
    const matrix& h_last = n_layers > 0 ? m_post[n_layers - 1] : m_x0;
    matrix& dh_last = n_layers > 0 ? m_dpost[n_layers - 1] : m_dx0;
    output_backward(h_last, dlogits, dh_last);
    for (std::size_t i = n_layers; i-- > 0;) {
        const layer& l = m_hidden[i];
        if (i == 0 && m_used_table) {
            table_backward(); // and its activation's
            return;           // the embeddings' gradients are complete
        }
        nn::activation_backward(m_f, m_pre[i], m_dpost[i], m_dpre[i]);
        const matrix& in = i > 0 ? m_post[i - 1] : m_x0;
        matrix& din = i > 0 ? m_dpost[i - 1] : m_dx0;
        // The input needs no gradient when it is data.
        matrix* din_ptr = (i == 0 && m_is_dense) ? nullptr : &din;
        nn::linear_backward(in, value(l.weight), m_dpre[i], din_ptr, grad(l.weight), bias_grad(l));
    }
    if (!m_is_dense)
        embed_backward();
}

// backward() leaves every layer's per-example deltas in m_dpre; each row is then a set of outer
// products: in_i ⊗ δ_i per linear layer, δ_i per bias, the embedding rows of the example's tokens
// (+= its share of dx0_i) and, tied, dlogits_i ⊗ u_i over the whole table (u = h·W_out).
void model_impl::input_gradients(const grokkit::batch& x, const xt::xtensor<float, 2>& weights,
                                 xt::xtensor<float, 2>& out) {
    if (m_is_built && !m_is_dense)
        throw grokkit::error("mlp.input_gradients", "the model reads tokens",
                             "dense feature inputs (a token has no gradient)");
    xt::xtensor<float, 2> logits;
    forward(x, logits);
    backward(weights); // checks the shape; leaves d hidden0.pre (hidden is never empty)
    const std::size_t fan_in = m_x0.shape(1);
    nn::ensure_shape(out, m_n, fan_in);
    const layer& l0 = m_hidden[0];
    if (m_n > 0) // dx = d hidden0.pre · W_0ᵀ
        grokkit::gemm(grokkit::transpose::no, grokkit::transpose::yes, m_n, fan_in, l0.width, 1.0f,
                      m_dpre[0].data(), l0.width, value(l0.weight), l0.width, 0.0f, out.data(),
                      fan_in);
}

void model_impl::example_gradients(const xt::xtensor<float, 2>& dlogits,
                                   xt::xtensor<float, 2>& out) {
    backward(dlogits); // checks the model and the shape of dlogits
    using grokkit::transpose;
    const std::size_t n = m_n, n_layers = m_hidden.size();
    const matrix& h_last = m_post[n_layers - 1];
    const std::size_t h_width = h_last.shape(1);

    std::vector<std::size_t> offset(m_tensors.size());
    std::size_t width = 0;
    for (std::size_t t = 0; t < m_tensors.size(); ++t) {
        offset[t] = width;
        width += m_tensors[t].value.size();
    }
    nn::ensure_shape(out, n, width); // an `out` of this shape is reused
    out.fill(0.0f);

    if (!m_is_dense && m_used_table) {
        // The tables skipped x0 and dx0 = dpre0·W_0ᵀ; form both here.
        embed_forward();
        const layer& l0 = m_hidden[0];
        const std::size_t fan_in = m_x0.shape(1);
        nn::ensure_shape(m_dx0, n, fan_in);
        if (n > 0)
            grokkit::gemm(transpose::no, transpose::yes, n, fan_in, l0.width, 1.0f,
                          m_dpre[0].data(), l0.width, value(l0.weight), l0.width, 0.0f,
                          m_dx0.data(), fan_in);
    }
    if (m_params.tie_unembedding && n > 0) {
        // u = h·W_out (n, d) and du = dlogits·E (n, d).
        nn::ensure_shape(m_u, n, m_d);
        nn::ensure_shape(m_du, n, m_d);
        grokkit::gemm(transpose::no, transpose::no, n, m_d, h_width, 1.0f, h_last.data(), h_width,
                      value(m_out.weight), m_d, 0.0f, m_u.data(), m_d);
        grokkit::gemm(transpose::no, transpose::no, n, m_d, m_vocab, 1.0f, dlogits.data(), m_vocab,
                      value(m_embed_a), m_d, 0.0f, m_du.data(), m_d);
    }

    // row[off + r·cols + c] += x[r]·y[c]
    const auto add_outer = [](float* row, const float* x, std::size_t rows, const float* y,
                              std::size_t cols) {
        for (std::size_t r = 0; r < rows; ++r) {
            const float xr = x[r];
            float* dst = row + r * cols;
            for (std::size_t c = 0; c < cols; ++c)
                dst[c] += xr * y[c];
        }
    };
    const auto add = [](float* dst, const float* src, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k)
            dst[k] += src[k];
    };

    for (std::size_t i = 0; i < n; ++i) {
        float* row = out.data() + i * width;
        for (std::size_t l = 0; l < n_layers; ++l) {
            const layer& ly = m_hidden[l];
            const matrix& in = l > 0 ? m_post[l - 1] : m_x0;
            const std::size_t fan_in = in.shape(1);
            const float* delta = m_dpre[l].data() + i * ly.width;
            add_outer(row + offset[ly.weight], in.data() + i * fan_in, fan_in, delta, ly.width);
            if (ly.bias != none)
                add(row + offset[ly.bias], delta, ly.width);
        }
        const float* g = dlogits.data() + i * m_n_classes;
        const float* h = h_last.data() + i * h_width;
        if (m_params.tie_unembedding) {
            add_outer(row + offset[m_out.weight], h, h_width, m_du.data() + i * m_d, m_d);
            add_outer(row + offset[m_embed_a], g, m_vocab, m_u.data() + i * m_d, m_d);
        } else {
            add_outer(row + offset[m_out.weight], h, h_width, g, m_out.width);
            if (m_out.bias != none)
                add(row + offset[m_out.bias], g, m_out.width);
        }
        if (m_is_dense)
            continue;
        const auto a = static_cast<std::size_t>(m_tokens[n_tokens * i]);
        const auto b = static_cast<std::size_t>(m_tokens[n_tokens * i + 1]);
        const float* dx = m_dx0.data() + i * m_dx0.shape(1);
        // concat: dx0 = [dE_a[a], dE_b[b]]; sum: both tokens receive all of dx0.
        add(row + offset[m_embed_a] + a * m_d, dx, m_d);
        add(row + offset[m_embed_b] + b * m_d, m_is_concat ? dx + m_d : dx, m_d);
    }
}

std::vector<grokkit::linear_site> model_impl::linear_sites() const {
    std::vector<grokkit::linear_site> sites;
    const auto bias = [](const layer& l) {
        return l.bias == none ? std::ptrdiff_t{-1} : static_cast<std::ptrdiff_t>(l.bias);
    };
    for (std::size_t i = 0; i < m_hidden.size(); ++i)
        sites.push_back({"hidden" + std::to_string(i), m_hidden[i].weight, bias(m_hidden[i])});
    sites.push_back({"out", m_out.weight, bias(m_out)});
    return sites;
}

// backward() left each hidden layer's output gradients in m_dpre; the first layer's input x0
// is formed here when the token tables skipped it, and the tied output's dy = dlogits·E.
void model_impl::linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                                  xt::xtensor<float, 2>& inputs,
                                  xt::xtensor<float, 2>& output_grads) {
    const std::size_t n_layers = m_hidden.size();
    if (index > n_layers)
        throw grokkit::error("mlp.linear_site_rows", "site " + std::to_string(index),
                             "one of the " + std::to_string(n_layers + 1) + " sites");
    if (dlogits.shape(0) != m_n || dlogits.shape(1) != m_n_classes)
        throw grokkit::error("mlp.linear_site_rows",
                             "dlogits shape " +
                                 grokkit::shape_text(dlogits.shape(0), dlogits.shape(1)),
                             grokkit::shape_text(m_n, m_n_classes) + " from the last forward()");
    if (m_used_table && (index == 0 || n_layers == 0))
        embed_forward();
    const matrix& in = index == 0 ? m_x0 : m_post[index - 1];
    inputs = in;
    if (index < n_layers) {
        output_grads = m_dpre[index];
        return;
    }
    if (!m_params.tie_unembedding) {
        output_grads = dlogits;
        return;
    }
    nn::ensure_shape(output_grads, m_n, m_d);
    if (m_n > 0)
        grokkit::gemm(grokkit::transpose::no, grokkit::transpose::no, m_n, m_d, m_vocab, 1.0f,
                      dlogits.data(), m_vocab, value(m_embed_a), m_d, 0.0f, output_grads.data(),
                      m_d);
}

std::vector<std::string> model_impl::representations() const {
    std::vector<std::string> names{"embed"};
    for (std::size_t i = 0; i < m_params.hidden.size(); ++i) {
        names.push_back("hidden" + std::to_string(i) + ".pre");
        names.push_back("hidden" + std::to_string(i));
    }
    names.push_back("logits");
    return names;
}

xt::xarray<float> model_impl::representation(const std::string& name, const grokkit::batch& x) {
    const std::vector<std::string> names = representations();
    const auto found = std::find(names.begin(), names.end(), name);
    if (found == names.end()) {
        throw grokkit::error("mlp.representation", "\"" + name + "\" is not a representation",
                             "one of " + grokkit::join(names));
    }
    forward(x, m_repr_logits);
    const auto index = static_cast<std::size_t>(found - names.begin());
    if (index == 0) {
        if (m_used_table) {
            embed_forward(); // the tables skip x0; form it for the caller
        }
        return m_x0;
    }
    if (index == names.size() - 1) {
        return m_repr_logits;
    }
    // names[1 + 2i] is "hidden<i>.pre", names[2 + 2i] is "hidden<i>".
    const std::size_t layer_index = (index - 1) / 2;
    return (index - 1) % 2 == 0 ? xt::xarray<float>(m_pre[layer_index])
                                : xt::xarray<float>(m_post[layer_index]);
}

} // namespace mlp
