// The training configuration and loop; losses are accumulated in double (evaluate_loss).
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/rng.hpp>
#include <grokkit/train.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace grokkit {

void train_config::declare(param_set& ps) {
    ps.add("steps", steps, "optimizer updates to take").at_least(0);
    ps.add("loss", loss.name,
           "per-example loss, averaged over examples: cross_entropy (softmax) or mse (squared "
           "error to one-hot targets, or to a regression dataset's real-valued targets, summed "
           "over outputs; regression needs it)")
        .one_of({"cross_entropy", "mse"});
    ps.add("class_mean", loss.class_mean,
           "also divide by the number of classes: the mean over the (examples, classes) table, as "
           "the PAIR notebook's jnp.mean(onehot * log_softmax) and torch's MSELoss(); it scales "
           "the gradient, which adamw without l1, l2 or clip_norm ignores but for eps");
    ps.add("optimizer", optimizer.kind,
           "update rule as in torch.optim: sgd (with momentum), adam, adamw (decoupled weight "
           "decay)")
        .one_of({"sgd", "adam", "adamw"});
    ps.add("lr", lr, "peak learning rate").above(0);
    ps.add("weight_decay", optimizer.weight_decay,
           "decoupled (adamw) or added to the gradient as wd*w (sgd, adam)")
        .at_least(0);
    ps.add("beta1", optimizer.beta1, "adam/adamw first-moment decay").at_least(0).below(1);
    ps.add("beta2", optimizer.beta2, "adam/adamw second-moment decay").at_least(0).below(1);
    ps.add("eps", optimizer.eps, "adam/adamw denominator epsilon").above(0);
    ps.add("momentum", optimizer.momentum, "sgd momentum").at_least(0).below(1);
    ps.add("l1", optimizer.l1, "L1 penalty: adds l1*sign(w) to every gradient").at_least(0);
    ps.add("l2", optimizer.l2, "L2 penalty: adds l2*w to every gradient, with any optimizer")
        .at_least(0);
    ps.add("clip_norm", optimizer.clip_norm, "clip the gradients' global L2 norm to this; 0 = off")
        .at_least(0);
    ps.add("schedule", schedule,
           "learning rate after warm-up: constant, or cosine from lr to min_lr at the last step")
        .one_of({"constant", "cosine"});
    ps.add("min_lr", min_lr, "cosine schedule: learning rate at the last step").at_least(0);
    ps.add("warmup_steps", warmup_steps, "linear learning-rate warm-up: lr*min(1,(step+1)/n)")
        .at_least(0);
    ps.add("batch_size", batch_size, "examples per step; 0 = full batch").at_least(0);
    ps.add("eval_every", eval_every, "steps between metric evaluations").at_least(1);
    ps.add("checkpoint_every", checkpoint_every, "steps between checkpoints").at_least(1);
}

double train_config::learning_rate(std::int64_t step) const {
    double rate = lr;
    if (schedule == "cosine" && steps > 0) {
        // Cosine from lr at step 0 to min_lr at the last step (torch's CosineAnnealingLR with
        // T_max = steps), then the warm-up factor on top.
        const double progress = static_cast<double>(step) / static_cast<double>(steps);
        rate = min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
    }
    if (warmup_steps > 0)
        rate *= std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(warmup_steps));
    return rate;
}

trainer::trainer(model& net, const example_set& train, const train_config& cfg, std::uint64_t seed)
    : m_net(net), m_train(train), m_cfg(cfg), m_seed(seed),
      m_optimizer(net.parameters(), cfg.optimizer) {}

std::vector<std::string> trainer::metric_names() {
    return {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr"};
}

nn::loss_sum trainer::forward_loss(const batch& b, bool with_gradient) {
    m_net.forward(b, m_logits);
    return evaluate_loss(m_cfg.loss, m_logits, b, with_gradient ? &m_dlogits : nullptr);
}

batch trainer::minibatch(std::int64_t step) {
    const example_set& train = m_train;
    const std::size_t n = train.size();
    if (m_cfg.batch_size <= 0 || static_cast<std::size_t>(m_cfg.batch_size) >= n)
        return as_batch(train);
    // Batches walk through one permutation per epoch; batch `step` covers positions
    // [step*B, (step+1)*B) of the concatenated permutations, so it depends on the step alone.
    const std::size_t bs = static_cast<std::size_t>(m_cfg.batch_size);
    const std::size_t n_tok = train.tokens.size() ? train.tokens.shape()[1] : 0;
    const std::size_t n_feat = train.features.size() ? train.features.shape()[1] : 0;
    m_batch_tokens.resize({bs, n_tok});
    m_batch_features.resize({bs, n_feat});
    const std::size_t n_targets = train.targets.size() ? train.targets.shape()[1] : 0;
    m_batch_labels.resize({n_targets ? 0 : bs});
    m_batch_targets.resize({n_targets ? bs : 0, n_targets});
    const bool masked = !train.mask.empty();
    m_batch_mask = class_mask{};
    std::uint64_t pos = static_cast<std::uint64_t>(step) * bs;
    std::uint64_t epoch = pos / n;
    std::vector<std::size_t> perm = rng(m_seed, "batch", epoch).permutation(n);
    for (std::size_t i = 0; i < bs; ++i, ++pos) {
        if (pos / n != epoch) {
            epoch = pos / n;
            perm = rng(m_seed, "batch", epoch).permutation(n);
        }
        const std::size_t e = perm[pos % n];
        std::copy_n(train.tokens.data() + e * n_tok, n_tok, m_batch_tokens.data() + i * n_tok);
        std::copy_n(train.features.data() + e * n_feat, n_feat,
                    m_batch_features.data() + i * n_feat);
        if (n_targets)
            std::copy_n(train.targets.data() + e * n_targets, n_targets,
                        m_batch_targets.data() + i * n_targets);
        else
            m_batch_labels(i) = train.labels(e);
        if (masked)
            m_batch_mask.add_row_of(train.mask, e);
    }
    batch b;
    b.n = bs;
    b.tokens = n_tok ? m_batch_tokens.data() : nullptr;
    b.features = n_feat ? m_batch_features.data() : nullptr;
    b.labels = n_targets ? nullptr : m_batch_labels.data();
    b.targets = n_targets ? m_batch_targets.data() : nullptr;
    b.n_targets = n_targets;
    b.mask = view_of(m_batch_mask);
    return b;
}

std::vector<double> trainer::evaluate(std::int64_t step, const example_set& test) {
    const bool full_batch =
        m_cfg.batch_size <= 0 || static_cast<std::size_t>(m_cfg.batch_size) >= m_train.size();
    const bool will_update = step < m_cfg.steps;
    // Full batch: the metric's forward pass is the update's forward pass, so backward follows it.
    const nn::loss_sum train = forward_loss(as_batch(m_train), full_batch && will_update);
    if (full_batch && will_update) {
        m_net.backward(m_dlogits);
        m_gradients_step = step;
    } else {
        m_gradients_step = -1;
    }
    const nn::loss_sum held_out =
        test.size() ? forward_loss(as_batch(test), false) : nn::loss_sum{};
    const double n_train = static_cast<double>(std::max<std::size_t>(m_train.size(), 1));
    const double n_test = static_cast<double>(std::max<std::size_t>(test.size(), 1));
    // Real-valued targets have no accuracy: the losses (mean squared errors) are the risks.
    const bool regression = m_train.targets.size() > 0;
    const double none = std::numeric_limits<double>::quiet_NaN();
    return {train.loss / n_train,
            regression ? none : static_cast<double>(train.n_correct) / n_train,
            held_out.loss / n_test,
            regression ? none : static_cast<double>(held_out.n_correct) / n_test,
            m_cfg.learning_rate(step)};
}

void trainer::compute_gradients(std::int64_t step) {
    if (m_gradients_step == step)
        return;
    const batch b = minibatch(step);
    forward_loss(b, true);
    m_net.backward(m_dlogits);
    m_gradients_step = step;
}

void trainer::update(std::int64_t step) {
    compute_gradients(step);
    m_optimizer.step(m_cfg.learning_rate(step));
    m_gradients_step = -1;
}

void train(model& net, const example_set& train, const train_config& cfg, std::uint64_t seed,
           const std::function<void(std::int64_t)>& on_step, std::int64_t updates) {
    trainer t(net, train, cfg, seed);
    const std::int64_t n = updates >= 0 ? updates : cfg.steps;
    for (std::int64_t s = 0; s < n; ++s) {
        t.update(s);
        if (on_step)
            on_step(s + 1);
    }
}

example_set subset(const example_set& set, const std::vector<std::size_t>& indices) {
    const std::size_t n = indices.size();
    const std::size_t n_tok = set.tokens.size() ? set.tokens.shape()[1] : 0;
    const std::size_t n_feat = set.features.size() ? set.features.shape()[1] : 0;
    example_set out;
    out.tokens = xt::zeros<std::int32_t>({n_tok ? n : 0, n_tok});
    out.features = xt::zeros<float>({n_feat ? n : 0, n_feat});
    const std::size_t n_targets = set.targets.size() ? set.targets.shape()[1] : 0;
    out.labels = xt::zeros<std::int32_t>({n_targets ? 0 : n});
    out.targets = xt::zeros<float>({n_targets ? n : 0, n_targets});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t e = indices[i];
        if (e >= set.size())
            throw error("subset",
                        "index " + std::to_string(e) + " of a set of " +
                            std::to_string(set.size()) + " examples",
                        "indices below its size");
        std::copy_n(set.tokens.data() + e * n_tok, n_tok, out.tokens.data() + i * n_tok);
        std::copy_n(set.features.data() + e * n_feat, n_feat, out.features.data() + i * n_feat);
        if (n_targets)
            std::copy_n(set.targets.data() + e * n_targets, n_targets,
                        out.targets.data() + i * n_targets);
        else
            out.labels(i) = set.labels(e);
        if (!set.mask.empty())
            out.mask.add_row_of(set.mask, e);
    }
    return out;
}

std::vector<float> flat_parameters(model& m) {
    std::vector<float> out;
    out.reserve(parameter_count(m));
    for (const parameter* p : m.parameters())
        out.insert(out.end(), p->value.begin(), p->value.end());
    return out;
}

void set_flat_parameters(model& m, const std::vector<float>& values) {
    const std::size_t n = parameter_count(m);
    if (values.size() != n)
        throw error("set_flat_parameters", std::to_string(values.size()) + " values",
                    "the model's " + std::to_string(n) + " parameter values");
    const float* v = values.data();
    for (parameter* p : m.parameters()) {
        std::copy_n(v, p->value.size(), p->value.begin());
        v += p->value.size();
    }
}

} // namespace grokkit
