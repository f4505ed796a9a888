// fourier_probe: outputs are declared from the dataset's attributes and the model's names.
// SPDX-License-Identifier: Apache-2.0
#include "fourier.hpp"
#include "fourier_probe.hpp"

#include <grokkit/error.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace fourier_probe {

using grokkit::output_decl;

void analysis_impl::declare(grokkit::param_set& ps) {
    auto& p = m_params;
    ps.add("embedding", p.embedding,
           "parameter whose rows are token embeddings; auto: embed, else embed_a")
        .non_empty();
    ps.add("unembedding", p.unembedding,
           "parameter mapping the last hidden layer to logits (columns = classes); auto: "
           "unembed, else out.weight; none: skip")
        .non_empty();
    ps.add("neurons", p.neurons,
           "representation whose columns are the neurons probed; auto: hidden0, else mlp_post0")
        .non_empty();
    ps.add("key_fraction", p.key_fraction,
           "key frequencies: fewest, by logit energy, reaching this share of it")
        .above(0)
        .at_most(1);
    ps.add("max_key_frequencies", p.max_key_frequencies, "at most this many key frequencies")
        .at_least(1)
        .at_most(64);
    ps.add("input_weights", p.input_weights,
           "parity: first-layer weight (n_bits, width) for per-neuron relevant-bit mass; auto: "
           "hidden0.weight")
        .non_empty();
    ps.add("exact_max_bits", p.exact_max_bits,
           "parity: enumerate all 2^n_bits inputs up to this n_bits, else sample")
        .at_least(1)
        .at_most(22);
    ps.add("samples", p.samples, "parity: sampled inputs when n_bits > exact_max_bits")
        .at_least(64)
        .at_most(1 << 20);
    ps.add("max_order", p.max_order, "parity, sampled: Walsh mass estimated up to this order")
        .at_least(0)
        .at_most(4);
}

namespace {

std::int64_t attribute(const grokkit::dataset_split& d, const std::string& name) {
    for (const auto& a : d.attributes)
        if (a.name == name)
            return a.value;
    return -1;
}

const grokkit::dataset_record* record(const grokkit::dataset_split& d, const std::string& name) {
    for (const auto& r : d.records)
        if (r.name == name)
            return &r;
    return nullptr;
}

grokkit::parameter* find_parameter(grokkit::model& m, const std::string& name) {
    for (auto* p : m.parameters())
        if (p->name == name)
            return p;
    return nullptr;
}

bool has(const std::vector<std::string>& xs, const std::string& x) {
    return std::find(xs.begin(), xs.end(), x) != xs.end();
}

// Runs the model on `tokens` (n, n_tokens) in chunks; logits (n, c) in double.
xt::xtensor<double, 2> logits_of(grokkit::model& m, const xt::xtensor<std::int32_t, 2>& tokens,
                                 const xt::xtensor<float, 2>& features, std::size_t n) {
    xt::xtensor<double, 2> out;
    xt::xtensor<float, 2> chunk_logits;
    const std::size_t chunk = 4096;
    for (std::size_t s = 0; s < n; s += chunk) {
        grokkit::batch b;
        b.n = std::min(chunk, n - s);
        b.tokens = tokens.size() ? tokens.data() + s * tokens.shape()[1] : nullptr;
        b.features = features.size() ? features.data() + s * features.shape()[1] : nullptr;
        m.forward(b, chunk_logits);
        if (out.size() == 0)
            out = xt::zeros<double>({n, chunk_logits.shape()[1]});
        std::copy(chunk_logits.begin(), chunk_logits.end(), out.data() + s * out.shape()[1]);
    }
    return out;
}

// All p² operand pairs as model inputs, row a*p+b; a third "=" token (id p) when the
// dataset uses one.
xt::xtensor<std::int32_t, 2> grid_tokens(std::size_t p, std::size_t n_tokens) {
    xt::xtensor<std::int32_t, 2> t = xt::zeros<std::int32_t>({p * p, n_tokens});
    for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b) {
            t(a * p + b, 0) = static_cast<std::int32_t>(a);
            t(a * p + b, 1) = static_cast<std::int32_t>(b);
            if (n_tokens == 3)
                t(a * p + b, 2) = static_cast<std::int32_t>(p);
        }
    return t;
}

xt::xarray<double> vec(const std::vector<double>& v) {
    xt::xarray<double> a = xt::zeros<double>({v.size()});
    std::copy(v.begin(), v.end(), a.begin());
    return a;
}

xt::xarray<double> scalar(double v) {
    xt::xarray<double> a = xt::zeros<double>(std::vector<std::size_t>{});
    a() = v;
    return a;
}

} // namespace

analysis_impl::resolved analysis_impl::resolve(const grokkit::input_spec& spec,
                                               const grokkit::dataset_split& data,
                                               grokkit::model& m) const {
    resolved r;
    const auto reps = m.representations();
    std::vector<std::string> param_names;
    for (auto* prm : m.parameters())
        param_names.push_back(prm->name);
    // `key` is the parameter at fault ("" when it is the dataset or model as a whole); the host
    // points the message at it in the pipeline.
    auto fail = [](const std::string& key, const std::string& what, const std::string& expected) {
        throw grokkit::error(
            grokkit::diagnostic{"fourier_probe.outputs", key, what, expected, 0, 0});
    };
    auto pick_param = [&](const char* key, const std::string& wanted,
                          std::initializer_list<const char*> autos) {
        if (wanted == "none")
            return std::string();
        if (wanted != "auto") {
            if (!find_parameter(m, wanted))
                fail(key, "the model has no parameter \"" + wanted + "\"",
                     "auto, none or one of the model's parameters: " + grokkit::join(param_names));
            return wanted;
        }
        for (const char* a : autos)
            if (find_parameter(m, a))
                return std::string(a);
        return std::string();
    };
    auto pick_rep = [&](const char* key, const std::string& wanted) {
        if (wanted == "none")
            return std::string();
        if (wanted != "auto") {
            if (!has(reps, wanted))
                fail(key, "the model has no representation \"" + wanted + "\"",
                     "auto, none or one of the model's representations: " + grokkit::join(reps));
            return wanted;
        }
        for (const char* a : {"hidden0", "mlp_post0"})
            if (has(reps, a))
                return std::string(a);
        return std::string();
    };
    const std::int64_t modulus = attribute(data, "modulus");
    const std::int64_t n_bits = attribute(data, "n_bits");
    if (modulus > 0 && spec.has_tokens()) {
        r.kind = mode::modular;
        r.p = static_cast<std::size_t>(modulus);
        if (!record(data, "pairs") || !record(data, "labels") || !record(data, "train_index"))
            fail("", "the dataset records no pairs/labels/train_index",
                 "a modular_arithmetic dataset");
        if (spec.n_tokens < 2 || spec.n_tokens > 3 || spec.n_classes != r.p)
            fail("", "input is " + spec.describe(), "tokens (a, b) or (a, b, =) with p classes");
        r.embedding = pick_param("embedding", m_params.embedding, {"embed", "embed_a"});
        r.unembedding = pick_param("unembedding", m_params.unembedding, {"unembed", "out.weight"});
        r.neurons = pick_rep("neurons", m_params.neurons);
        if (!r.embedding.empty() && find_parameter(m, r.embedding)->value.shape()[0] < r.p)
            fail("embedding", "parameter \"" + r.embedding + "\" has fewer than p rows",
                 "token embeddings (vocab, d)");
        if (!r.unembedding.empty()) {
            const auto& shape = find_parameter(m, r.unembedding)->value.shape();
            if (shape.size() != 2 || shape[1] != r.p)
                r.unembedding.clear(); // not a (d, p) map to logits (e.g. a tied model)
        }
    } else if (n_bits > 0 && !spec.has_tokens()) {
        r.kind = mode::parity;
        r.n_bits = static_cast<std::size_t>(n_bits);
        r.k = static_cast<std::size_t>(attribute(data, "k"));
        if (!record(data, "relevant_bits") || spec.n_classes != 2)
            fail("", "the dataset records no relevant_bits or has other than 2 classes",
                 "a sparse_parity dataset");
        const std::string w =
            m_params.input_weights == "auto" ? "hidden0.weight" : m_params.input_weights;
        if (auto* prm = find_parameter(m, w);
            prm && prm->value.dimension() == 2 && prm->value.shape()[0] == r.n_bits)
            r.input_weights = w;
        else if (m_params.input_weights != "auto")
            fail("input_weights", "parameter \"" + w + "\" is not an (n_bits, width) weight",
                 "the first-layer weight");
    } else {
        fail("", "the dataset has neither a modulus (token inputs) nor n_bits (feature inputs)",
             "modular_arithmetic or sparse_parity");
    }
    return r;
}

namespace {

void declare_modular_outputs(grokkit::output_set& os) {
    using grokkit::dtype;
    const std::string mod = "modular datasets";
    os.add(
          "embed_freq_norm", dtype::float64, {"n_frequencies"}, "1",
          "norm of the token embedding (`embedding`, first p rows) in each frequency; 0 = constant")
        .axes({"frequency"})
        .optional(mod + ", when the model has a token embedding");
    os.add("embed_gini", dtype::float64, {}, "1",
           "Gini coefficient of embed_freq_norm[1:]: 0 spread evenly, 1 concentrated (Nanda's "
           "sparsity measure)")
        .optional(mod + ", when the model has a token embedding");
    os.add("unembed_freq_norm", dtype::float64, {"n_frequencies"}, "1",
           "the same for the unembedding's columns (classes)")
        .axes({"frequency"})
        .optional(mod + ", when the model has a (d, p) unembedding");
    const std::string rep = mod + ", when the model has the neurons' representation";
    os.add("neuron_freq_energy", dtype::float64, {"n_neurons", "n_frequencies"}, "activation^2",
           "each neuron's activation over all p^2 pairs (a, b) in the 2-D Fourier basis: energy of "
           "the coefficients (i, j) != (0, 0) in which frequency k occurs; column 0 the constant "
           "term")
        .axes({"neuron", "frequency"})
        .optional(rep);
    os.add("neuron_dominant_freq", dtype::int64, {"n_neurons"}, "1",
           "frequency with the most energy")
        .axes({"neuron"})
        .optional(rep);
    os.add("neuron_dominant_fraction", dtype::float64, {"n_neurons"}, "fraction",
           "its share of the neuron's non-constant energy (periodic neurons in PAIR have ~1)")
        .axes({"neuron"})
        .optional(rep);
    os.add("logit_freq_energy", dtype::float64, {"n_frequencies"}, "logit^2",
           "energy of the logits along the answer directions cos(w_k(y-c)) and sin(w_k(y-c)), "
           "w_k = 2 pi k/p, y the true answer of each pair, c the class")
        .axes({"frequency"})
        .optional(mod);
    os.add("logit_energy_total", dtype::float64, {}, "logit^2",
           "energy of the logits after removing each pair's mean (the answer directions of all k "
           "span at most this)")
        .optional(mod);
    os.add("key_frequencies", dtype::int64, {"max_key_frequencies"}, "1",
           "key frequencies, ascending, -1 padded (rule: key_fraction, below)")
        .axes({"rank"})
        .optional(mod);
    os.add("full_loss", dtype::float64, {}, "nats",
           "cross-entropy over every pair the dataset defines, true labels")
        .optional(mod);
    os.add("restricted_loss", dtype::float64, {}, "nats",
           "the same with the logits replaced by their projection on the key frequencies' answer "
           "directions")
        .optional(mod);
    os.add("excluded_loss", dtype::float64, {}, "nats",
           "training-set cross-entropy (labels as trained) after removing that projection")
        .optional(mod);
    os.add("train_loss", dtype::float64, {}, "nats",
           "training-set cross-entropy (labels as trained)")
        .optional(mod);
}

void declare_parity_outputs(grokkit::output_set& os) {
    using grokkit::dtype;
    const std::string par = "parity datasets";
    os.add("walsh_relevant_fraction", dtype::float64, {}, "fraction",
           "f^(S)^2 / E[f^2] for the dataset's relevant subset S")
        .optional(par);
    os.add("walsh_relevant_stderr", dtype::float64, {}, "fraction",
           "its standard error (0 when exact)")
        .optional(par);
    os.add("walsh_order_fraction", dtype::float64, {"n_orders"}, "fraction",
           "share of E[f^2] on characters of each order |S|, n_orders = n_bits + 1 (NaN where "
           "not estimated)")
        .axes({"order"})
        .optional(par);
    os.add("output_energy", dtype::float64, {}, "logit^2", "E[f^2], f = logit_1 - logit_0")
        .optional(par);
    os.add("neuron_relevant_fraction", dtype::float64, {"n_neurons"}, "fraction",
           "share of each first-layer neuron's squared input-weight norm on the relevant bits "
           "(`input_weights`)")
        .axes({"neuron"})
        .optional(par + ", when the model has the first-layer weight");
    os.add("input_weight_relevant_fraction", dtype::float64, {}, "fraction",
           "the same over the whole first layer: k/n_bits when spread evenly, 1 when the weight "
           "concentrates on the relevant bits")
        .optional(par + ", when the model has the first-layer weight");
}

// Skips every output in `os` whose name is not in `keep`.
void skip_all_but(const grokkit::output_set& os, const std::vector<std::string>& keep,
                  grokkit::output_binding& out) {
    for (const auto& o : os.outputs())
        if (!has(keep, o.name()))
            out.skip(o.name());
}

} // namespace

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    declare_modular_outputs(os);
    declare_parity_outputs(os);
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup,
                            grokkit::output_binding& out) const {
    const resolved r = resolve(setup.spec, setup.data, setup.net);
    grokkit::output_set all;
    declare_outputs(all);
    std::vector<std::string> keep;
    if (r.kind == mode::parity) {
        keep = {"walsh_relevant_fraction", "walsh_relevant_stderr", "walsh_order_fraction",
                "output_energy"};
        out.size("n_orders", r.n_bits + 1);
        if (!r.input_weights.empty()) {
            keep.insert(keep.end(), {"neuron_relevant_fraction", "input_weight_relevant_fraction"});
            out.size("n_neurons", find_parameter(setup.net, r.input_weights)->value.shape()[1]);
        }
        skip_all_but(all, keep, out);
        return;
    }
    out.size("n_frequencies", n_frequencies(r.p) + 1);
    out.size("max_key_frequencies", static_cast<std::size_t>(m_params.max_key_frequencies));
    keep = {"logit_freq_energy", "logit_energy_total", "key_frequencies", "full_loss",
            "restricted_loss",   "excluded_loss",      "train_loss"};
    if (!r.embedding.empty())
        keep.insert(keep.end(), {"embed_freq_norm", "embed_gini"});
    if (!r.unembedding.empty())
        keep.push_back("unembed_freq_norm");
    if (!r.neurons.empty()) {
        out.size("n_neurons", neuron_count(setup.spec, setup.net, r));
        keep.insert(keep.end(),
                    {"neuron_freq_energy", "neuron_dominant_freq", "neuron_dominant_fraction"});
    }
    skip_all_but(all, keep, out);
}

std::size_t analysis_impl::neuron_count(const grokkit::input_spec& spec, grokkit::model& m,
                                        const resolved& r) const {
    grokkit::batch one;
    xt::xtensor<std::int32_t, 2> t = grid_tokens(r.p, spec.n_tokens);
    one.tokens = t.data();
    one.n = 1;
    const auto rep = m.representation(r.neurons, one);
    if (rep.dimension() != 2)
        throw grokkit::error(grokkit::diagnostic{
            "fourier_probe.outputs", "neurons",
            "representation \"" + r.neurons + "\" is not (n, neurons)",
            "a 2-D representation of the model: " + grokkit::join(m.representations()), 0, 0});
    return rep.shape()[1];
}

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const resolved r = resolve(ctx.spec(), ctx.data(), ctx.trained_model());
    if (r.kind == mode::modular)
        run_modular(ctx, r);
    else
        run_parity(ctx, r);
}

void analysis_impl::run_modular(grokkit::analysis_context& ctx, const resolved& r) {
    grokkit::model& m = ctx.trained_model();
    const std::size_t p = r.p;
    const auto basis = fourier_basis(p);
    if (!r.embedding.empty()) {
        const auto* e = find_parameter(m, r.embedding);
        const std::size_t d = e->value.shape()[1];
        xt::xtensor<double, 2> table = xt::zeros<double>({p, d});
        std::copy(e->value.data(), e->value.data() + p * d, table.data());
        const auto norms = frequency_norms(basis, table);
        ctx.write("embed_freq_norm", vec(norms));
        ctx.write("embed_gini", scalar(gini(std::vector<double>(norms.begin() + 1, norms.end()))));
    }
    if (!r.unembedding.empty()) {
        const auto* u = find_parameter(m, r.unembedding); // (d, p): transpose so rows are classes
        const std::size_t d = u->value.shape()[0];
        xt::xtensor<double, 2> table = xt::zeros<double>({p, d});
        for (std::size_t i = 0; i < d; ++i)
            for (std::size_t c = 0; c < p; ++c)
                table(c, i) = u->value.data()[i * p + c];
        ctx.write("unembed_freq_norm", vec(frequency_norms(basis, table)));
    }
    const auto grid = grid_tokens(p, ctx.spec().n_tokens);
    if (!r.neurons.empty()) {
        grokkit::batch b;
        b.tokens = grid.data();
        b.n = p * p;
        const auto rep = m.representation(r.neurons, b);
        xt::xtensor<double, 2> act = xt::zeros<double>({p * p, rep.shape()[1]});
        std::copy(rep.begin(), rep.end(), act.begin());
        const auto energy = neuron_frequency_energy(basis, act);
        const std::size_t n = energy.shape()[0], kf = energy.shape()[1];
        xt::xarray<std::int64_t> dom = xt::zeros<std::int64_t>({n});
        xt::xarray<double> frac = xt::zeros<double>({n});
        for (std::size_t i = 0; i < n; ++i) {
            double best = -1.0;
            std::size_t best_k = 0;
            // Non-constant energy: all of it (Parseval) minus the (0, 0) coefficient's.
            double sq = 0.0;
            for (std::size_t j = 0; j < p * p; ++j)
                sq += act(j, i) * act(j, i);
            const double total = sq - energy(i, 0);
            for (std::size_t k = 1; k < kf; ++k)
                if (energy(i, k) > best) {
                    best = energy(i, k);
                    best_k = k;
                }
            dom(i) = static_cast<std::int64_t>(best_k);
            frac(i) = total > 0.0 ? best / total : 0.0;
        }
        xt::xarray<double> e = energy;
        ctx.write("neuron_freq_energy", e);
        ctx.write("neuron_dominant_freq", dom);
        ctx.write("neuron_dominant_fraction", frac);
    }
    // Logits of every pair the dataset defines, against the true answers.
    const auto& pairs = *record(ctx.data(), "pairs");
    const auto& labels = *record(ctx.data(), "labels");
    const std::size_t n_pairs = labels.values.size();
    xt::xtensor<std::int32_t, 2> tokens = xt::zeros<std::int32_t>({n_pairs, ctx.spec().n_tokens});
    std::vector<std::int32_t> answer(n_pairs);
    for (std::size_t i = 0; i < n_pairs; ++i) {
        tokens(i, 0) = static_cast<std::int32_t>(pairs.values[2 * i]);
        tokens(i, 1) = static_cast<std::int32_t>(pairs.values[2 * i + 1]);
        if (ctx.spec().n_tokens == 3)
            tokens(i, 2) = static_cast<std::int32_t>(p);
        answer[i] = static_cast<std::int32_t>(labels.values[i]);
    }
    const auto logits = logits_of(m, tokens, {}, n_pairs);
    const auto proj = project_on_answers(logits, answer, p);
    const auto key = key_frequencies(proj, m_params.key_fraction,
                                     static_cast<std::size_t>(m_params.max_key_frequencies));
    std::vector<std::int64_t> key_out(static_cast<std::size_t>(m_params.max_key_frequencies), -1);
    std::copy(key.begin(), key.end(), key_out.begin());
    const auto restricted = restricted_logits(proj, answer, key, p);
    // Excluded loss: the training examples' logits minus their key-direction components.
    const auto& train_index = record(ctx.data(), "train_index")->values;
    const auto& train_labels = ctx.data().train.labels;
    xt::xtensor<double, 2> excluded = xt::zeros<double>({train_index.size(), p});
    xt::xtensor<double, 2> train_logits = xt::zeros<double>({train_index.size(), p});
    for (std::size_t i = 0; i < train_index.size(); ++i)
        for (std::size_t c = 0; c < p; ++c) {
            const auto j = static_cast<std::size_t>(train_index[i]);
            train_logits(i, c) = logits(j, c);
            excluded(i, c) = logits(j, c) - restricted(j, c);
        }
    ctx.write("logit_freq_energy", vec(proj.energy));
    ctx.write("logit_energy_total", scalar(proj.total_energy));
    ctx.write("key_frequencies", key_out);
    ctx.write("full_loss", scalar(mean_cross_entropy(logits, answer.data())));
    ctx.write("restricted_loss", scalar(mean_cross_entropy(restricted, answer.data())));
    ctx.write("excluded_loss", scalar(mean_cross_entropy(excluded, train_labels.data())));
    ctx.write("train_loss", scalar(mean_cross_entropy(train_logits, train_labels.data())));
}

void analysis_impl::run_parity(grokkit::analysis_context& ctx, const resolved& r) {
    grokkit::model& m = ctx.trained_model();
    const std::size_t n_bits = r.n_bits;
    const auto& relevant = record(ctx.data(), "relevant_bits")->values;
    // Encoding as the dataset uses it: 0/1 features when any training feature is 0.
    const auto& tf = ctx.data().train.features;
    const bool zero_one = std::find(tf.begin(), tf.end(), 0.0f) != tf.end();
    const bool exact = n_bits <= static_cast<std::size_t>(m_params.exact_max_bits);
    const std::size_t n =
        exact ? (std::size_t{1} << n_bits) : static_cast<std::size_t>(m_params.samples);
    // Bit i of input x is bit i of its index (exact) or a fresh draw keyed by the step (sampled).
    xt::xtensor<float, 2> x = xt::zeros<float>({n, n_bits});
    std::vector<std::uint64_t> bits(n);
    grokkit::rng draw(0, "fourier_probe", static_cast<std::uint64_t>(ctx.step()));
    for (std::size_t e = 0; e < n; ++e) {
        bits[e] = exact ? e : draw.next_u64() & ((n_bits >= 64) ? ~0ull : ((1ull << n_bits) - 1));
        for (std::size_t i = 0; i < n_bits; ++i) {
            const bool one = (bits[e] >> i) & 1u;
            x(e, i) = zero_one ? (one ? 1.0f : 0.0f) : (one ? -1.0f : 1.0f);
        }
    }
    const auto logits = logits_of(m, {}, x, n);
    std::vector<double> f(n);
    double energy = 0.0;
    for (std::size_t e = 0; e < n; ++e) {
        f[e] = logits(e, 1) - logits(e, 0);
        energy += f[e] * f[e];
    }
    energy /= static_cast<double>(n);
    std::uint64_t mask = 0;
    for (auto b : relevant)
        mask |= 1ull << b;
    xt::xarray<double> order_fraction = xt::zeros<double>({n_bits + 1});
    double relevant_fraction = 0.0, stderr_ = 0.0;
    if (exact) {
        std::vector<double> coef = f;
        walsh_hadamard(coef);
        for (std::size_t s = 0; s < n; ++s)
            order_fraction(static_cast<std::size_t>(__builtin_popcountll(s))) +=
                energy > 0 ? coef[s] * coef[s] / energy : 0.0;
        relevant_fraction = energy > 0 ? coef[mask] * coef[mask] / energy : 0.0;
    } else {
        // f̂(S) = E[f χ_S]; its square is biased up by Var/n, which we subtract. The
        // corrected squares are summed unclipped: clipping each at 0 biases every null subset
        // up by about 0.58 Var/n, which over the 27,405 subsets of order 4 of 30 bits added
        // more than the whole energy (order fractions summing to 2.8).
        auto estimate = [&](std::uint64_t s) {
            double sum = 0.0, sum2 = 0.0;
            for (std::size_t e = 0; e < n; ++e) {
                const double v = f[e] * ((__builtin_popcountll(bits[e] & s) & 1) ? -1.0 : 1.0);
                sum += v;
                sum2 += v * v;
            }
            const double mean = sum / static_cast<double>(n);
            const double var = std::max(0.0, sum2 / static_cast<double>(n) - mean * mean);
            return std::pair<double, double>{mean, std::sqrt(var / static_cast<double>(n))};
        };
        const auto [c, se] = estimate(mask);
        relevant_fraction = energy > 0 ? c * c / energy : 0.0;
        stderr_ = energy > 0 ? 2.0 * std::abs(c) * se / energy : 0.0;
        for (std::size_t o = 0; o <= n_bits; ++o)
            order_fraction(o) = std::numeric_limits<double>::quiet_NaN();
        // Every subset up to max_order, enumerated by combinations of bit positions.
        const std::size_t max_order =
            std::min<std::size_t>(static_cast<std::size_t>(m_params.max_order), n_bits);
        std::vector<std::size_t> idx;
        for (std::size_t o = 0; o <= max_order; ++o) {
            double mass = 0.0;
            idx.assign(o, 0);
            for (std::size_t i = 0; i < o; ++i)
                idx[i] = i;
            while (true) {
                std::uint64_t s = 0;
                for (auto i : idx)
                    s |= 1ull << i;
                const auto [ci, sei] = estimate(s);
                mass += ci * ci - sei * sei;
                std::size_t i = o;
                while (i > 0 && idx[i - 1] == n_bits - o + i - 1)
                    --i;
                if (i == 0)
                    break;
                ++idx[i - 1];
                for (std::size_t j = i; j < o; ++j)
                    idx[j] = idx[j - 1] + 1;
            }
            order_fraction(o) = energy > 0 ? std::max(0.0, mass) / energy : 0.0;
        }
    }
    ctx.write("walsh_relevant_fraction", scalar(relevant_fraction));
    ctx.write("walsh_relevant_stderr", scalar(stderr_));
    ctx.write("walsh_order_fraction", order_fraction);
    ctx.write("output_energy", scalar(energy));
    if (!r.input_weights.empty()) {
        const auto* w = find_parameter(m, r.input_weights);
        const std::size_t width = w->value.shape()[1];
        xt::xarray<double> frac = xt::zeros<double>({width});
        double total_on = 0.0, total_all = 0.0;
        for (std::size_t j = 0; j < width; ++j) {
            double on = 0.0, all = 0.0;
            for (std::size_t i = 0; i < n_bits; ++i) {
                const double v = w->value.data()[i * width + j];
                all += v * v;
                if ((mask >> i) & 1u)
                    on += v * v;
            }
            frac(j) = all > 0 ? on / all : 0.0;
            total_on += on;
            total_all += all;
        }
        ctx.write("neuron_relevant_fraction", frac);
        ctx.write("input_weight_relevant_fraction",
                  scalar(total_all > 0 ? total_on / total_all : 0.0));
    }
}

} // namespace fourier_probe
