// Training loop pieces; losses are accumulated in double (grokkit::evaluate_loss).
// SPDX-License-Identifier: Apache-2.0
#include "trainer.hpp"

#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>

namespace grokkit {

trainer::trainer(model& net, const dataset_split& split, const train_section& cfg,
                 std::uint64_t seed)
    : m_net(net), m_split(split), m_cfg(cfg), m_seed(seed),
      m_optimizer(net.parameters(),
                  optimizer_config{cfg.optimizer, cfg.beta1, cfg.beta2, cfg.eps, cfg.momentum,
                                   cfg.weight_decay, cfg.l1, cfg.l2, cfg.clip_norm}) {}

std::vector<std::string> trainer::metric_names() {
    return {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr"};
}

double trainer::learning_rate(std::int64_t step) const {
    double lr = m_cfg.lr;
    if (m_cfg.schedule == "cosine" && m_cfg.steps > 0) {
        // Cosine from lr at step 0 to min_lr at the last step (torch's CosineAnnealingLR with
        // T_max = steps), then the warm-up factor on top.
        const double progress = static_cast<double>(step) / static_cast<double>(m_cfg.steps);
        lr = m_cfg.min_lr + (m_cfg.lr - m_cfg.min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
    }
    if (m_cfg.warmup_steps > 0)
        lr *=
            std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(m_cfg.warmup_steps));
    return lr;
}

nn::loss_sum trainer::forward_loss(const batch& b, bool with_gradient) {
    m_net.forward(b, m_logits);
    return evaluate_loss(m_cfg.loss_function(), m_logits, b.labels,
                         with_gradient ? &m_dlogits : nullptr);
}

batch trainer::minibatch(std::int64_t step) {
    const example_set& train = m_split.train;
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
    m_batch_labels.resize({bs});
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
        m_batch_labels(i) = train.labels(e);
    }
    batch b;
    b.n = bs;
    b.tokens = n_tok ? m_batch_tokens.data() : nullptr;
    b.features = n_feat ? m_batch_features.data() : nullptr;
    b.labels = m_batch_labels.data();
    return b;
}

std::vector<double> trainer::evaluate(std::int64_t step) {
    const bool full_batch =
        m_cfg.batch_size <= 0 || static_cast<std::size_t>(m_cfg.batch_size) >= m_split.train.size();
    const bool will_update = step < m_cfg.steps;
    // Full batch: the metric's forward pass is the update's forward pass, so backward follows it.
    const nn::loss_sum train = forward_loss(as_batch(m_split.train), full_batch && will_update);
    if (full_batch && will_update) {
        m_net.backward(m_dlogits);
        m_gradients_step = step;
    } else {
        m_gradients_step = -1;
    }
    const nn::loss_sum test =
        m_split.test.size() ? forward_loss(as_batch(m_split.test), false) : nn::loss_sum{};
    const double n_train = static_cast<double>(std::max<std::size_t>(m_split.train.size(), 1));
    const double n_test = static_cast<double>(std::max<std::size_t>(m_split.test.size(), 1));
    return {train.loss / n_train, static_cast<double>(train.n_correct) / n_train,
            test.loss / n_test, static_cast<double>(test.n_correct) / n_test, learning_rate(step)};
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
    m_optimizer.step(learning_rate(step));
    m_gradients_step = -1;
}

} // namespace grokkit
