// Losses other than softmax cross-entropy (which lives beside the layers in nn.cpp).
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/nn.hpp>

#include <cmath>

namespace grokkit::nn {

template <class T>
loss_sum mean_squared_error(const matrix<T>& logits, const std::int32_t* labels, matrix<T>* dlogits,
                            double scale) {
    const std::size_t n = logits.shape()[0], c = logits.shape()[1];
    if (dlogits)
        ensure_shape(*dlogits, n, c);
    loss_sum out;
    const double grad_scale = n > 0 ? 2.0 * scale / static_cast<double>(n) : 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const T* z = logits.data() + i * c;
        const auto label = labels[i];
        if (label < 0 || static_cast<std::size_t>(label) >= c)
            throw error("nn.mean_squared_error", "label " + std::to_string(label) + " of example " +
                                                     std::to_string(i) + " is outside [0, " +
                                                     std::to_string(c) + ")");
        double sum = 0.0;
        std::size_t best = 0;
        for (std::size_t j = 0; j < c; ++j) {
            const double d =
                static_cast<double>(z[j]) - (j == static_cast<std::size_t>(label) ? 1.0 : 0.0);
            sum += d * d;
            if (z[j] > z[best])
                best = j;
            if (dlogits)
                dlogits->data()[i * c + j] = static_cast<T>(grad_scale * d);
        }
        out.loss += scale * sum;
        out.n_correct += best == static_cast<std::size_t>(label);
    }
    return out;
}

template <class T>
loss_sum squared_error_to_targets(const matrix<T>& logits, const float* targets, matrix<T>* dlogits,
                                  double scale) {
    const std::size_t n = logits.shape()[0], c = logits.shape()[1];
    if (dlogits)
        ensure_shape(*dlogits, n, c);
    loss_sum out;
    const double grad_scale = n > 0 ? 2.0 * scale / static_cast<double>(n) : 0.0;
    for (std::size_t k = 0; k < n * c; ++k) {
        const double t = targets[k];
        if (!std::isfinite(t))
            throw error("nn.squared_error_to_targets",
                        "target " + std::to_string(k % c) + " of example " + std::to_string(k / c) +
                            " is " + std::to_string(t),
                        "finite targets");
        const double d = static_cast<double>(logits.data()[k]) - t;
        out.loss += scale * d * d;
        if (dlogits)
            dlogits->data()[k] = static_cast<T>(grad_scale * d);
    }
    return out;
}

template loss_sum mean_squared_error<float>(const matrix<float>&, const std::int32_t*,
                                            matrix<float>*, double);
template loss_sum mean_squared_error<double>(const matrix<double>&, const std::int32_t*,
                                             matrix<double>*, double);
template loss_sum squared_error_to_targets<float>(const matrix<float>&, const float*,
                                                  matrix<float>*, double);
template loss_sum squared_error_to_targets<double>(const matrix<double>&, const float*,
                                                   matrix<double>*, double);

} // namespace grokkit::nn
