// The model plugin interface: named parameters, forward/backward, named representations.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/data.hpp>
#include <grokkit/plugin.hpp>

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// A trainable tensor; `grad` has the shape of `value` and is overwritten by backward().
struct parameter {
    std::string name; ///< stable name, used as the checkpoint dataset name
    xt::xarray<float> value;
    xt::xarray<float> grad;
    bool decay = true; ///< whether weight decay applies
};

/// A parameter `name` of `shape` with its value and gradient zero, for a model's build().
inline parameter zero_parameter(const std::string& name, const std::vector<std::size_t>& shape) {
    parameter p;
    p.name = name;
    p.value = xt::zeros<float>(shape);
    p.grad = xt::zeros<float>(shape);
    return p;
}

/// Pointers to every tensor of `tensors`, in order: parameters() of a model that keeps its
/// parameters in one vector.
inline std::vector<parameter*> pointers_to(std::vector<parameter>& tensors) {
    std::vector<parameter*> out;
    out.reserve(tensors.size());
    for (parameter& p : tensors)
        out.push_back(&p);
    return out;
}

/// Where each tensor of `tensors` starts in a flat parameter vector (flat_parameters order),
/// after checking that the direction `v` of a tangent pass has one value per parameter value;
/// throws grokkit::error naming `where` otherwise. For forward_tangent() of a model that keeps
/// its parameters in one vector.
GROKKIT_VISIBLE std::vector<std::size_t> direction_offsets(const std::vector<parameter>& tensors,
                                                           const std::vector<float>& v,
                                                           const char* where);

/// A linear map y = x·W + b inside a model, W a (d_in, d_out) parameter tensor and b an
/// optional (d_out) one, seen row by row: what Kronecker-factored curvature (K-FAC, EK-FAC)
/// approximates one layer at a time.
struct linear_site {
    std::string name;         ///< "hidden0", "out", "block0.mlp_in"
    std::size_t weight = 0;   ///< index into parameters() of W
    std::ptrdiff_t bias = -1; ///< index of b, or -1
};

/// A model plugin. The host assigns parameters, calls build(), then trains through forward and
/// backward. Analyses read representations of any inputs from any checkpoint.
class GROKKIT_VISIBLE model : public plugin_object {
  public:
    ~model() override;
    /// Checks `spec` (throws grokkit::error naming both on a mismatch), allocates and initialises
    /// parameters from `seed` with grokkit::rng purpose "init".
    virtual void build(const input_spec& spec, std::uint64_t seed) = 0;
    /// All trainable parameters, in a fixed order.
    virtual std::vector<parameter*> parameters() = 0;
    /// logits (x.n, n_classes); keeps what backward() needs.
    virtual void forward(const batch& x, xt::xtensor<float, 2>& logits) = 0;
    /// Gradients of the last forward() given dloss/dlogits (x.n, n_classes); overwrites grads.
    virtual void backward(const xt::xtensor<float, 2>& dlogits) = 0;
    /// Per-example gradients of the last forward(): row i of `out` (x.n, P) is Σ_c dlogits(i, c)
    /// ∂logits(i, c)/∂θ, θ being every parameter's values flattened in parameters() order (each
    /// tensor row-major) and P their count. With dlogits row i = dℓ_i/dlogits_i it is example
    /// i's own loss gradient; the rows sum to what backward() gives for the same dlogits. One
    /// batched pass, not x.n passes of one example. May overwrite grads. The default throws
    /// grokkit::error: a model without it cannot serve influence scores.
    virtual void example_gradients(const xt::xtensor<float, 2>& dlogits,
                                   xt::xtensor<float, 2>& out);
    /// Second-order passes: the tangents (R-operator, grokkit/nn.hpp) of forward() and
    /// backward() along a parameter direction v, from which grokkit::curvature_product forms
    /// exact Hessian- and Gauss–Newton-vector products. The defaults throw grokkit::error: a
    /// model without them cannot serve influence scores.
    ///
    /// After forward(x): logits_tangent (x.n, n_classes) becomes J v, the derivative of the
    /// logits along v (parameter_count values in flat_parameters order). Keeps the activations'
    /// tangents for backward_tangent().
    virtual void forward_tangent(const std::vector<float>& v,
                                 xt::xtensor<float, 2>& logits_tangent);
    /// After forward(x), backward(dlogits) and forward_tangent(v), in that order and with
    /// nothing else run on the model in between: each parameter's grad becomes the derivative
    /// along v of the gradient backward(dlogits) gave, dlogits itself moving by
    /// dlogits_tangent. With dlogits = ∂L/∂logits and dlogits_tangent = ∇²L · J v it is the
    /// Hessian-vector product H v of L. Overwrites grads.
    virtual void backward_tangent(const xt::xtensor<float, 2>& dlogits,
                                  const xt::xtensor<float, 2>& dlogits_tangent);
    /// The model's linear maps, for Kronecker-factored curvature. The default has none (such
    /// methods then refuse the model).
    virtual std::vector<linear_site> linear_sites() const;
    /// After forward(x) and backward(dlogits), with nothing else run on the model in between:
    /// site `index`'s inputs x (rows, d_in) and the gradients of Σ dlogits ⊙ logits with
    /// respect to its outputs y (rows, d_out). Example i owns rows [i·m, (i + 1)·m), m = rows /
    /// x.n (the positions of a sequence; 1 for one vector per example), so its gradient of W is
    /// Σ over its rows of xᵀ·dy and of b the sum of its dy. The default throws grokkit::error.
    virtual void linear_site_rows(std::size_t index, const xt::xtensor<float, 2>& dlogits,
                                  xt::xtensor<float, 2>& inputs,
                                  xt::xtensor<float, 2>& output_grads);
    /// Input gradients, for models of dense inputs: row i of `out` (x.n, n_features) becomes
    /// ∂(Σ_c weights(i, c) logits(i, c))/∂x_i, the gradient of example i's weighted outputs with
    /// respect to its own input row (with a one-hot row of weights, that of one output: a
    /// regression model's output, or a class's logit). One forward and one backward pass of its
    /// own; overwrites the grads and what a pending backward() would use. The default throws
    /// grokkit::error: a model without it cannot serve the robustness analysis.
    virtual void input_gradients(const batch& x, const xt::xtensor<float, 2>& weights,
                                 xt::xtensor<float, 2>& out);
    /// Names of the hidden representations this model exposes ("embed", "hidden0", ...).
    virtual std::vector<std::string> representations() const = 0;
    /// Representation `name` for inputs `x`: leading axis x.n. Throws grokkit::error for an
    /// unknown name, listing the known ones.
    virtual xt::xarray<float> representation(const std::string& name, const batch& x) = 0;
};

} // namespace grokkit
