// Neural-network layers with explicit forward and backward passes, for float and double.
// SPDX-License-Identifier: Apache-2.0
#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/nn.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace grokkit::nn {

namespace {

// BLAS rejects a leading dimension of 0, which an empty operand would pass, so a product
// C (m, n) = op(A) (m, k) · op(B) (k, n) + beta·C with an empty dimension is settled here: there is
// nothing to write, or C = beta·C. Returns whether it was settled. `c` is contiguous (ldc == n).
template <class T>
bool settle_empty_product(std::size_t m, std::size_t n, std::size_t k, T beta, T* c) {
    if (m == 0 || n == 0) {
        return true;
    }
    if (k > 0) {
        return false;
    }
    if (beta == T(0)) {
        std::fill(c, c + m * n, T(0));
    }
    return true;
}

// C (m, n) = alpha op(A)·op(B) + beta C through gemm, after settle_empty_product: for the tangent
// passes, which chain several products into one output.
template <class T>
void product(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, const T* a,
             std::size_t lda, const T* b, std::size_t ldb, T beta, T* c) {
    if (!settle_empty_product(m, n, k, beta, c)) {
        gemm(ta, tb, m, n, k, T(1), a, lda, b, ldb, beta, c, n);
    }
}

// The tanh approximation of GELU (Hendrycks & Gimpel 2016, section 2) with PyTorch's constants for
// gelu(approximate="tanh"): sqrt(2/pi) and the cubic coefficient.
constexpr double gelu_beta = 0.7978845608028654;
constexpr double gelu_kappa = 0.044715;

template <class T> T gelu(T x) {
    const T inner = T(gelu_beta) * (x + T(gelu_kappa) * x * x * x);
    return T(0.5) * x * (T(1) + std::tanh(inner));
}

// d gelu / dx, term for term as PyTorch's GeluBackward (tanh branch) computes it.
template <class T> T gelu_derivative(T x) {
    const T x_sq = x * x;
    const T inner = T(gelu_beta) * (x + T(gelu_kappa) * x_sq * x);
    const T tanh_inner = std::tanh(inner);
    const T left_derivative = T(0.5) * (T(1) + tanh_inner);
    const T inner_derivative = T(gelu_beta) * (T(1) + T(3) * T(gelu_kappa) * x_sq);
    const T right_derivative = T(0.5) * x * (T(1) - tanh_inner * tanh_inner) * inner_derivative;
    return left_derivative + right_derivative;
}

// d² gelu / dx²: with u = β(x + κx³), t = tanh(u) and s = 1 − t², f' = (1 + t)/2 + x s u'/2,
// so f'' = s u' + x s (u'' − 2 t u'²)/2.
template <class T> T gelu_second_derivative(T x) {
    const T x_sq = x * x;
    const T u = T(gelu_beta) * (x + T(gelu_kappa) * x_sq * x);
    const T t = std::tanh(u);
    const T s = T(1) - t * t;
    const T du = T(gelu_beta) * (T(1) + T(3) * T(gelu_kappa) * x_sq);
    const T d2u = T(6) * T(gelu_beta) * T(gelu_kappa) * x;
    return s * du + T(0.5) * x * s * (d2u - T(2) * t * du * du);
}

} // namespace

template <class T> void ensure_shape(matrix<T>& m, std::size_t rows, std::size_t cols) {
    if (m.shape(0) == rows && m.shape(1) == cols) {
        return;
    }
    m.resize(std::array<std::size_t, 2>{rows, cols});
}

template <class T>
void linear_forward(const matrix<T>& x, const T* w, std::size_t d_out, const T* b, matrix<T>& y) {
    const std::size_t n = x.shape(0);
    const std::size_t d_in = x.shape(1);
    ensure_shape(y, n, d_out);
    T* yp = y.data();
    if (b != nullptr) {
        for (std::size_t i = 0; i < n; ++i) {
            std::copy(b, b + d_out, yp + i * d_out);
        }
    }
    const T beta = b != nullptr ? T(1) : T(0);
    if (!settle_empty_product(n, d_out, d_in, beta, yp)) {
        gemm(transpose::no, transpose::no, n, d_out, d_in, T(1), x.data(), d_in, w, d_out, beta, yp,
             d_out);
    }
}

template <class T>
void linear_backward(const matrix<T>& x, const T* w, const matrix<T>& dy, matrix<T>* dx, T* dw,
                     T* db) {
    const std::size_t n = x.shape(0);
    const std::size_t d_in = x.shape(1);
    const std::size_t d_out = dy.shape(1);
    // dw (d_in, d_out) = xᵀ (d_in, n) · dy (n, d_out)
    if (!settle_empty_product(d_in, d_out, n, T(0), dw)) {
        gemm(transpose::yes, transpose::no, d_in, d_out, n, T(1), x.data(), d_in, dy.data(), d_out,
             T(0), dw, d_out);
    }
    if (db != nullptr) {
        std::fill(db, db + d_out, T(0));
        const T* dyp = dy.data();
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < d_out; ++j) {
                db[j] += dyp[i * d_out + j];
            }
        }
    }
    if (dx != nullptr) {
        // dx (n, d_in) = dy (n, d_out) · wᵀ (d_out, d_in)
        ensure_shape(*dx, n, d_in);
        if (!settle_empty_product(n, d_in, d_out, T(0), dx->data())) {
            gemm(transpose::no, transpose::yes, n, d_in, d_out, T(1), dy.data(), d_out, w, d_out,
                 T(0), dx->data(), d_in);
        }
    }
}

template <class T>
void unembed_forward(const matrix<T>& h, const T* e, std::size_t vocab, matrix<T>& logits) {
    const std::size_t n = h.shape(0);
    const std::size_t d = h.shape(1);
    ensure_shape(logits, n, vocab);
    // logits (n, vocab) = h (n, d) · Eᵀ (d, vocab)
    if (!settle_empty_product(n, vocab, d, T(0), logits.data())) {
        gemm(transpose::no, transpose::yes, n, vocab, d, T(1), h.data(), d, e, d, T(0),
             logits.data(), vocab);
    }
}

template <class T>
void unembed_backward(const matrix<T>& h, const T* e, const matrix<T>& dlogits, matrix<T>* dh,
                      T* de) {
    const std::size_t n = h.shape(0);
    const std::size_t d = h.shape(1);
    const std::size_t vocab = dlogits.shape(1);
    if (dh != nullptr) {
        // dh (n, d) = dlogits (n, vocab) · E (vocab, d)
        ensure_shape(*dh, n, d);
        if (!settle_empty_product(n, d, vocab, T(0), dh->data())) {
            gemm(transpose::no, transpose::no, n, d, vocab, T(1), dlogits.data(), vocab, e, d, T(0),
                 dh->data(), d);
        }
    }
    // dE (vocab, d) += dlogitsᵀ (vocab, n) · h (n, d)
    if (!settle_empty_product(vocab, d, n, T(1), de)) {
        gemm(transpose::yes, transpose::no, vocab, d, n, T(1), dlogits.data(), vocab, h.data(), d,
             T(1), de, d);
    }
}

template <class T>
void embedding_forward(const std::int32_t* ids, std::size_t stride, const T* e, std::size_t d,
                       std::size_t n, matrix<T>& out) {
    ensure_shape(out, n, d);
    T* op = out.data();
    for (std::size_t i = 0; i < n; ++i) {
        const T* row = e + static_cast<std::size_t>(ids[i * stride]) * d;
        std::copy(row, row + d, op + i * d);
    }
}

template <class T>
void embedding_backward(const std::int32_t* ids, std::size_t stride, const matrix<T>& dout, T* de) {
    const std::size_t n = dout.shape(0);
    const std::size_t d = dout.shape(1);
    const T* dp = dout.data();
    for (std::size_t i = 0; i < n; ++i) {
        T* row = de + static_cast<std::size_t>(ids[i * stride]) * d;
        for (std::size_t j = 0; j < d; ++j) {
            row[j] += dp[i * d + j];
        }
    }
}

activation activation_from_string(const std::string& name) {
    if (name == "relu") {
        return activation::relu;
    }
    if (name == "gelu") {
        return activation::gelu;
    }
    if (name == "square") {
        return activation::square;
    }
    throw error(diagnostic{"nn.activation_from_string", "activation",
                           "\"" + name + "\" is not an activation", "one of relu, gelu, square"});
}

template <class T> void activation_forward(activation f, const matrix<T>& x, matrix<T>& y) {
    ensure_shape(y, x.shape(0), x.shape(1));
    const std::size_t size = x.size();
    const T* xp = x.data();
    T* yp = y.data();
    switch (f) {
    case activation::relu:
        // `x < 0 ? 0 : x` rather than max(0, x): a NaN passes through, as in PyTorch.
        for (std::size_t i = 0; i < size; ++i) {
            yp[i] = xp[i] < T(0) ? T(0) : xp[i];
        }
        break;
    case activation::gelu:
        for (std::size_t i = 0; i < size; ++i) {
            yp[i] = gelu(xp[i]);
        }
        break;
    case activation::square:
        for (std::size_t i = 0; i < size; ++i) {
            yp[i] = xp[i] * xp[i];
        }
        break;
    }
}

template <class T>
void activation_backward(activation f, const matrix<T>& x, const matrix<T>& dy, matrix<T>& dx) {
    ensure_shape(dx, x.shape(0), x.shape(1));
    const std::size_t size = x.size();
    const T* xp = x.data();
    const T* dyp = dy.data();
    T* dxp = dx.data();
    switch (f) {
    case activation::relu:
        for (std::size_t i = 0; i < size; ++i) {
            dxp[i] = xp[i] > T(0) ? dyp[i] : T(0);
        }
        break;
    case activation::gelu:
        for (std::size_t i = 0; i < size; ++i) {
            dxp[i] = gelu_derivative(xp[i]) * dyp[i];
        }
        break;
    case activation::square:
        for (std::size_t i = 0; i < size; ++i) {
            dxp[i] = T(2) * xp[i] * dyp[i];
        }
        break;
    }
}

namespace {

/// The classes row i of a batch may take: [0, c) without a mask, else its sorted list.
struct allowed_classes {
    const std::int32_t* list = nullptr; ///< null: every class in [0, count)
    std::size_t count = 0;

    allowed_classes(std::size_t c, mask_view mask, std::size_t i) : count(c) {
        if (mask) {
            list = mask.classes + mask.offsets[i];
            count = static_cast<std::size_t>(mask.offsets[i + 1] - mask.offsets[i]);
        }
    }
    std::size_t operator[](std::size_t k) const {
        return list ? static_cast<std::size_t>(list[k]) : k;
    }
    bool contains(std::int32_t j) const {
        return list ? std::binary_search(list, list + count, j)
                    : j >= 0 && static_cast<std::size_t>(j) < count;
    }
};

/// 256-bit vectors of T and of same-width signed integers (what their comparisons give).
template <class T> struct lanes {
    typedef T vec __attribute__((vector_size(32)));
    using index = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
    typedef index index_vec __attribute__((vector_size(32)));
    static constexpr std::size_t width = sizeof(vec) / sizeof(T);
};

/// The first allowed class of highest logit (ties keep the first; NaNs are never the maximum
/// unless the first logit is one).
template <class T> std::size_t first_arg_max(const T* row, const allowed_classes& allowed) {
    if (allowed.list != nullptr) {
        std::size_t arg_max = allowed[0];
        for (std::size_t k = 1; k < allowed.count; ++k)
            if (row[allowed[k]] > row[arg_max])
                arg_max = allowed[k];
        return arg_max;
    }
    // Every class: in vector lanes (GCC's and Clang's vector extensions; the compiler left the
    // scalar form unvectorised), each lane the maximum of its classes and the first class
    // holding it; then the lane of the overall maximum with the lowest class, then the tail.
    // Strict > keeps the first of ties, and every lane starts from the first logit, so a NaN
    // never replaces a number and a NaN first logit gives class 0.
    using vec = typename lanes<T>::vec;
    using index = typename lanes<T>::index;
    using index_vec = typename lanes<T>::index_vec;
    constexpr std::size_t width = lanes<T>::width;
    vec max = row[0] - vec{};
    index_vec where = {}, at;
    for (std::size_t l = 0; l < width; ++l)
        at[l] = static_cast<index>(l);
    std::size_t k = 0;
    for (; k + width <= allowed.count; k += width) {
        vec v;
        std::memcpy(&v, row + k, sizeof v);
        const index_vec greater = v > max;
        max = greater ? v : max;
        where = greater ? at : where;
        at += static_cast<index>(width);
    }
    std::size_t best = 0;
    for (std::size_t l = 1; l < width; ++l)
        if (max[l] > max[best] || (max[l] == max[best] && where[l] < where[best]))
            best = l;
    T best_value = max[best];
    auto arg_max = static_cast<std::size_t>(where[best]);
    for (; k < allowed.count; ++k)
        if (row[k] > best_value) {
            best_value = row[k];
            arg_max = k;
        }
    return arg_max;
}

void check_label(std::int32_t label, std::size_t i, std::size_t c, const allowed_classes& allowed,
                 bool masked) {
    const bool in_range = label >= 0 && static_cast<std::size_t>(label) < c;
    if (in_range && allowed.contains(label))
        return;
    throw error("nn.softmax_cross_entropy",
                "label " + std::to_string(label) + " of example " + std::to_string(i) +
                    (in_range ? " is not among its allowed classes" : " is out of range"),
                masked ? "a label its class mask allows" : "0 <= label < " + std::to_string(c));
}

} // namespace

namespace {

/// x[i, i + width) = f(those lanes, i) over [0, n), the tail loaded into zeroed lanes, so that
/// every element goes through the same arithmetic.
template <class T, class F> void in_lanes(T* x, std::size_t n, F f) {
    using vec = typename lanes<T>::vec;
    constexpr std::size_t width = lanes<T>::width;
    std::size_t i = 0;
    for (; i + width <= n; i += width) {
        vec v;
        std::memcpy(&v, x + i, sizeof v);
        v = f(v, i);
        std::memcpy(x + i, &v, sizeof v);
    }
    if (i < n) {
        vec v{};
        std::memcpy(&v, x + i, (n - i) * sizeof(T));
        v = f(v, i);
        std::memcpy(x + i, &v, (n - i) * sizeof(T));
    }
}

/// exp(v) for v <= 0, lane by lane: exp(x) = 2^k · exp(r), k = round(x / ln 2), r = x − k·ln 2
/// in [−ln2/2, ln2/2] (ln 2 split in two so that k·ln2_hi is exact), exp(r) by its Taylor
/// series, to r^13 in double (truncation < 1e-17) and r^7 in float (< 6e-9). Below the lowest
/// exponent whose 2^k is normal (-708, -87) the result is 0. Vector extensions: the compiler
/// vectorised the plain loop only with AVX-512's masks, and left it scalar on AVX2.
template <class T> typename lanes<T>::vec exp_lanes(typename lanes<T>::vec v) {
    using vec = typename lanes<T>::vec;
    using index = typename lanes<T>::index;
    using index_vec = typename lanes<T>::index_vec;
    constexpr bool is_double = sizeof(T) == 8;
    constexpr T lowest = is_double ? T(-708.0) : T(-87.0);
    constexpr T log2e = is_double ? T(1.4426950408889634) : T(1.44269504f);
    constexpr T ln2_hi = is_double ? T(0.6931471803691238) : T(0.693359375f);
    constexpr T ln2_lo = is_double ? T(1.9082149292705877e-10) : T(-2.12194440e-4f);
    // 1.5·2^52 (1.5·2^23): x + it rounds x to an integer, left in the low mantissa bits.
    constexpr T round_shift = is_double ? T(6755399441055744.0) : T(12582912.0f);
    constexpr index shift_bits = is_double ? index(0x4338000000000000) : index(0x4B400000);
    const index_vec below = v < lowest;
    const vec clamped = below ? lowest - vec{} : v;
    const vec shifted = clamped * log2e + round_shift;
    const vec k = shifted - round_shift;
    const vec r = (clamped - k * ln2_hi) - k * ln2_lo;
    vec p;
    if constexpr (is_double) {
        p = r * T(1.0 / 6227020800.0) + T(1.0 / 479001600.0);
        for (const T inverse_factorial : {1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                                          1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0})
            p = p * r + inverse_factorial;
    } else {
        p = r * (1.0f / 5040.0f) + 1.0f / 720.0f;
    }
    for (const T inverse_factorial :
         {T(1.0 / 120.0), T(1.0 / 24.0), T(1.0 / 6.0), T(0.5), T(1.0), T(1.0)})
        p = p * r + inverse_factorial;
    // 2^k, k in [lowest exponent, 0], from the rounded integer's bits (vector casts keep bits).
    const index_vec bits = ((index_vec)shifted - shift_bits + (is_double ? 1023 : 127))
                           << (is_double ? 52 : 23);
    return below ? vec{} : p * (vec)bits;
}

} // namespace

void exp_nonpositive(double* x, std::size_t n) {
    in_lanes(x, n, [](lanes<double>::vec v, std::size_t) { return exp_lanes<double>(v); });
}

void exp_nonpositive(float* x, std::size_t n) {
    in_lanes(x, n, [](lanes<float>::vec v, std::size_t) { return exp_lanes<float>(v); });
}

namespace {

/// Σ x[0..n) in double, in four interleaved partial sums in a fixed order: the same on every
/// run, and not one long chain of dependent additions.
template <class T> double sum_of(const T* x, std::size_t n) {
    typedef T four __attribute__((vector_size(4 * sizeof(T))));
    typedef double four_doubles __attribute__((vector_size(32)));
    four_doubles part = {};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) { // vector extensions: the compiler kept the plain loop scalar
        four v;
        std::memcpy(&v, x + i, sizeof v);
        part += __builtin_convertvector(v, four_doubles);
    }
    for (; i < n; ++i)
        part[i % 4] += x[i];
    return (part[0] + part[1]) + (part[2] + part[3]);
}

/// out[k] = row[allowed[k]] − shift, k < allowed.count.
template <class T> void shift_row(const T* row, const allowed_classes& allowed, T shift, T* out) {
    if (allowed.list == nullptr)
        for (std::size_t k = 0; k < allowed.count; ++k)
            out[k] = row[k] - shift;
    else
        for (std::size_t k = 0; k < allowed.count; ++k)
            out[k] = row[allowed[k]] - shift;
}

/// exps[k] = exp(row[allowed[k]] − shift), k < allowed.count, in T (float exponentials take
/// half the vector lanes of double ones); returns their sum, in double.
template <class T>
double shifted_exps(const T* row, const allowed_classes& allowed, T shift, std::vector<T>& exps) {
    exps.resize(allowed.count);
    shift_row(row, allowed, shift, exps.data());
    exp_nonpositive(exps.data(), exps.size());
    return sum_of(exps.data(), exps.size());
}

/// softmax_gradient_row's arithmetic on a whole row of exponentials, in place, in vector lanes:
/// the compiler vectorised the plain loop only with AVX-512's masks.
template <class T>
void gradient_in_place(T* g, std::size_t count, std::size_t label, T inv_sum, T scale) {
    using vec = typename lanes<T>::vec;
    using index = typename lanes<T>::index;
    using index_vec = typename lanes<T>::index_vec;
    constexpr std::size_t width = lanes<T>::width;
    const T smallest = std::numeric_limits<T>::min();
    const T negligible = smallest / (inv_sum * scale);
    index_vec at;
    for (std::size_t l = 0; l < width; ++l)
        at[l] = static_cast<index>(l);
    in_lanes(g, count, [&](vec e, std::size_t first) {
        const vec kept = e < negligible ? vec{} : e;
        const index_vec is_label = (at + static_cast<index>(first)) == static_cast<index>(label);
        const vec d = (kept * inv_sum - (is_label ? T(1) - vec{} : vec{})) * scale;
        return (d < smallest) & (d > -smallest) ? vec{} : d;
    });
}

/// g[allowed[k]] = (exps[k] / sum − [allowed[k] == label]) · inv_n, flushed to 0 below float's
/// normal range.
template <class T>
void softmax_gradient_row(const T* exps, double sum, std::int32_t label,
                          const allowed_classes& allowed, double inv_n, T* g) {
    const T smallest = std::numeric_limits<T>::min();
    const T inv_sum = static_cast<T>(1.0 / sum), scale = static_cast<T>(inv_n);
    // Probabilities whose gradient would be subnormal are zeroed before the products, not
    // after: a product with a subnormal result takes a microcode assist on Intel CPUs, which
    // made this loop a fifth of a PAIR step.
    const T negligible = smallest / (inv_sum * scale);
    const auto gradient = [=](T exp, bool is_label) {
        const T e = exp < negligible ? T(0) : exp;
        const T d = (e * inv_sum - (is_label ? T(1) : T(0))) * scale;
        return (d < smallest && d > -smallest) ? T(0) : d;
    };
    if (allowed.list == nullptr && exps == g) { // in place, in vector lanes
        gradient_in_place(g, allowed.count, static_cast<std::size_t>(label), inv_sum, scale);
        return;
    }
    for (std::size_t k = 0; k < allowed.count; ++k) {
        const std::size_t j = allowed[k];
        g[j] = gradient(exps[k], j == static_cast<std::size_t>(label));
    }
}

/// The first pass of softmax_cross_entropy: each row's labels checked, its maximum found (the
/// shift, and whether the label is it), then exp(logit − shift) of its allowed classes at
/// exps[i·c, i·c + allowed count). All rows' exponentials are one call: per-row calls over 67
/// classes were mostly loop tails and overhead. Returns the count of rows whose arg max is the
/// label.
template <class T>
std::size_t exponentials(const matrix<T>& logits, const std::int32_t* labels, mask_view mask,
                         T* shifts, T* exps) {
    const std::size_t n = logits.shape(0), c = logits.shape(1);
    std::size_t n_correct = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const allowed_classes allowed(c, mask, i);
        check_label(labels[i], i, c, allowed, bool(mask));
        const T* row = logits.data() + i * c;
        const std::size_t arg_max = first_arg_max(row, allowed);
        if (arg_max == static_cast<std::size_t>(labels[i]))
            ++n_correct;
        // Shifting by the row maximum keeps every exponent <= 0, so logits of +-1000 neither
        // overflow nor lose the label's term.
        shifts[i] = row[arg_max];
        shift_row(row, allowed, shifts[i], exps + i * c);
    }
    if (!mask) {
        exp_nonpositive(exps, n * c);
    } else {
        for (std::size_t i = 0; i < n; ++i)
            exp_nonpositive(exps + i * c, allowed_classes(c, mask, i).count);
    }
    return n_correct;
}

} // namespace

template <class T>
loss_sum softmax_cross_entropy(const matrix<T>& logits, const std::int32_t* labels,
                               matrix<T>* dlogits, double scale, mask_view mask) {
    const std::size_t n = logits.shape(0);
    const std::size_t c = logits.shape(1);
    if (dlogits != nullptr) {
        ensure_shape(*dlogits, n, c);
        if (mask) // disallowed classes get no gradient
            std::fill(dlogits->data(), dlogits->data() + n * c, T(0));
    }
    // The exponentials are the gradient's own storage when every class is allowed (it is
    // written in place); with a mask the gradient's classes are scattered, so they live apart,
    // as they do when the gradient overwrites the logits (the loss reads them after).
    thread_local std::vector<T> scratch;
    thread_local std::vector<T> shifts;
    shifts.resize(n);
    T* exps = nullptr;
    if (dlogits != nullptr && !mask && dlogits->data() != logits.data()) {
        exps = dlogits->data();
    } else {
        scratch.resize(n * c);
        exps = scratch.data();
    }
    loss_sum out;
    out.n_correct = exponentials(logits, labels, mask, shifts.data(), exps);
    const double inv_n = n > 0 ? scale / static_cast<double>(n) : 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const allowed_classes allowed(c, mask, i);
        const T* row = logits.data() + i * c;
        const std::int32_t label = labels[i];
        const double sum_exp = sum_of(exps + i * c, allowed.count);
        // log Σ exp(x - m) - (x_label - m): no large m added and subtracted again.
        out.loss += scale * (std::log(sum_exp) -
                             (static_cast<double>(row[label]) - static_cast<double>(shifts[i])));
        if (dlogits != nullptr)
            softmax_gradient_row(exps + i * c, sum_exp, label, allowed, inv_n,
                                 dlogits->data() + i * c);
    }
    return out;
}

template <class T>
void linear_forward_tangent(const matrix<T>& x, const matrix<T>* t_x, const T* w, const T* v_w,
                            std::size_t d_out, const T* v_b, matrix<T>& t_y) {
    const std::size_t n = x.shape(0);
    const std::size_t d_in = x.shape(1);
    ensure_shape(t_y, n, d_out);
    T* yp = t_y.data();
    for (std::size_t i = 0; i < n; ++i) {
        if (v_b != nullptr) {
            std::copy(v_b, v_b + d_out, yp + i * d_out);
        } else {
            std::fill(yp + i * d_out, yp + (i + 1) * d_out, T(0));
        }
    }
    product(transpose::no, transpose::no, n, d_out, d_in, x.data(), d_in, v_w, d_out, T(1), yp);
    if (t_x != nullptr) {
        product(transpose::no, transpose::no, n, d_out, d_in, t_x->data(), d_in, w, d_out, T(1),
                yp);
    }
}

template <class T>
void linear_backward_tangent(const matrix<T>& x, const matrix<T>* t_x, const T* w, const T* v_w,
                             const matrix<T>& dy, const matrix<T>& t_dy, matrix<T>* t_dx, T* t_dw,
                             T* t_db) {
    const std::size_t n = x.shape(0);
    const std::size_t d_in = x.shape(1);
    const std::size_t d_out = dy.shape(1);
    // t_dw (d_in, d_out) = xᵀ·t_dy + t_xᵀ·dy
    product(transpose::yes, transpose::no, d_in, d_out, n, x.data(), d_in, t_dy.data(), d_out, T(0),
            t_dw);
    if (t_x != nullptr) {
        product(transpose::yes, transpose::no, d_in, d_out, n, t_x->data(), d_in, dy.data(), d_out,
                T(1), t_dw);
    }
    if (t_db != nullptr) {
        std::fill(t_db, t_db + d_out, T(0));
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < d_out; ++j) {
                t_db[j] += t_dy.data()[i * d_out + j];
            }
        }
    }
    if (t_dx != nullptr) {
        // t_dx (n, d_in) = t_dy·wᵀ + dy·v_wᵀ
        ensure_shape(*t_dx, n, d_in);
        product(transpose::no, transpose::yes, n, d_in, d_out, t_dy.data(), d_out, w, d_out, T(0),
                t_dx->data());
        product(transpose::no, transpose::yes, n, d_in, d_out, dy.data(), d_out, v_w, d_out, T(1),
                t_dx->data());
    }
}

template <class T>
void activation_backward_tangent(activation f, const matrix<T>& x, const matrix<T>& t_x,
                                 const matrix<T>& dy, const matrix<T>& t_dy, matrix<T>& t_dx) {
    ensure_shape(t_dx, x.shape(0), x.shape(1));
    const std::size_t size = x.size();
    const T* xp = x.data();
    const T* txp = t_x.data();
    const T* dyp = dy.data();
    const T* tdyp = t_dy.data();
    T* out = t_dx.data();
    switch (f) {
    case activation::relu:
        for (std::size_t i = 0; i < size; ++i) {
            out[i] = xp[i] > T(0) ? tdyp[i] : T(0);
        }
        break;
    case activation::gelu:
        for (std::size_t i = 0; i < size; ++i) {
            out[i] =
                gelu_second_derivative(xp[i]) * txp[i] * dyp[i] + gelu_derivative(xp[i]) * tdyp[i];
        }
        break;
    case activation::square:
        for (std::size_t i = 0; i < size; ++i) {
            out[i] = T(2) * (txp[i] * dyp[i] + xp[i] * tdyp[i]);
        }
        break;
    }
}

template <class T>
void unembed_forward_tangent(const matrix<T>& h, const matrix<T>* t_h, const T* e, const T* v_e,
                             std::size_t vocab, matrix<T>& t_logits) {
    const std::size_t n = h.shape(0);
    const std::size_t d = h.shape(1);
    ensure_shape(t_logits, n, vocab);
    product(transpose::no, transpose::yes, n, vocab, d, h.data(), d, v_e, d, T(0), t_logits.data());
    if (t_h != nullptr) {
        product(transpose::no, transpose::yes, n, vocab, d, t_h->data(), d, e, d, T(1),
                t_logits.data());
    }
}

template <class T>
void unembed_backward_tangent(const matrix<T>& h, const matrix<T>* t_h, const T* e, const T* v_e,
                              const matrix<T>& dlogits, const matrix<T>& t_dlogits, matrix<T>* t_dh,
                              T* t_de) {
    const std::size_t n = h.shape(0);
    const std::size_t d = h.shape(1);
    const std::size_t vocab = dlogits.shape(1);
    if (t_dh != nullptr) {
        ensure_shape(*t_dh, n, d);
        product(transpose::no, transpose::no, n, d, vocab, t_dlogits.data(), vocab, e, d, T(0),
                t_dh->data());
        product(transpose::no, transpose::no, n, d, vocab, dlogits.data(), vocab, v_e, d, T(1),
                t_dh->data());
    }
    product(transpose::yes, transpose::no, vocab, d, n, t_dlogits.data(), vocab, h.data(), d, T(1),
            t_de);
    if (t_h != nullptr) {
        product(transpose::yes, transpose::no, vocab, d, n, dlogits.data(), vocab, t_h->data(), d,
                T(1), t_de);
    }
}

template <class T> void softmax(const matrix<T>& logits, matrix<T>& p, mask_view mask) {
    const std::size_t n = logits.shape(0);
    const std::size_t c = logits.shape(1);
    ensure_shape(p, n, c);
    if (mask) // disallowed classes get exactly zero
        std::fill(p.data(), p.data() + n * c, T(0));
    for (std::size_t i = 0; i < n; ++i) {
        const T* row = logits.data() + i * c;
        T* out = p.data() + i * c;
        const allowed_classes allowed(c, mask, i);
        if (allowed.count == 0)
            throw error("nn.softmax", "example " + std::to_string(i) + " allows no class",
                        "at least one allowed class");
        T max = row[allowed[0]];
        for (std::size_t k = 1; k < allowed.count; ++k)
            max = std::max(max, row[allowed[k]]);
        thread_local std::vector<T> exps;
        const T inv = static_cast<T>(1.0 / shifted_exps(row, allowed, max, exps));
        for (std::size_t k = 0; k < allowed.count; ++k)
            out[allowed[k]] = exps[k] * inv;
    }
}

template <class T>
void softmax_cross_entropy_tangent(const matrix<T>& p, const matrix<T>& t_logits,
                                   matrix<T>& t_dlogits, double scale) {
    const std::size_t n = p.shape(0);
    const std::size_t c = p.shape(1);
    ensure_shape(t_dlogits, n, c);
    const double inv_n = n > 0 ? scale / static_cast<double>(n) : 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const T* pr = p.data() + i * c;
        const T* t = t_logits.data() + i * c;
        double p_dot_t = 0.0;
        for (std::size_t j = 0; j < c; ++j) {
            p_dot_t += static_cast<double>(pr[j]) * static_cast<double>(t[j]);
        }
        T* out = t_dlogits.data() + i * c;
        for (std::size_t j = 0; j < c; ++j) {
            out[j] = static_cast<T>(inv_n * static_cast<double>(pr[j]) *
                                    (static_cast<double>(t[j]) - p_dot_t));
        }
    }
}

#define GROKKIT_NN_INSTANTIATE(T)                                                                  \
    template void ensure_shape<T>(matrix<T>&, std::size_t, std::size_t);                           \
    template void linear_forward<T>(const matrix<T>&, const T*, std::size_t, const T*,             \
                                    matrix<T>&);                                                   \
    template void linear_backward<T>(const matrix<T>&, const T*, const matrix<T>&, matrix<T>*, T*, \
                                     T*);                                                          \
    template void unembed_forward<T>(const matrix<T>&, const T*, std::size_t, matrix<T>&);         \
    template void unembed_backward<T>(const matrix<T>&, const T*, const matrix<T>&, matrix<T>*,    \
                                      T*);                                                         \
    template void embedding_forward<T>(const std::int32_t*, std::size_t, const T*, std::size_t,    \
                                       std::size_t, matrix<T>&);                                   \
    template void embedding_backward<T>(const std::int32_t*, std::size_t, const matrix<T>&, T*);   \
    template void activation_forward<T>(activation, const matrix<T>&, matrix<T>&);                 \
    template void activation_backward<T>(activation, const matrix<T>&, const matrix<T>&,           \
                                         matrix<T>&);                                              \
    template loss_sum softmax_cross_entropy<T>(const matrix<T>&, const std::int32_t*, matrix<T>*,  \
                                               double, mask_view);                                 \
    template void linear_forward_tangent<T>(const matrix<T>&, const matrix<T>*, const T*,          \
                                            const T*, std::size_t, const T*, matrix<T>&);          \
    template void linear_backward_tangent<T>(const matrix<T>&, const matrix<T>*, const T*,         \
                                             const T*, const matrix<T>&, const matrix<T>&,         \
                                             matrix<T>*, T*, T*);                                  \
    template void activation_backward_tangent<T>(activation, const matrix<T>&, const matrix<T>&,   \
                                                 const matrix<T>&, const matrix<T>&, matrix<T>&);  \
    template void unembed_forward_tangent<T>(const matrix<T>&, const matrix<T>*, const T*,         \
                                             const T*, std::size_t, matrix<T>&);                   \
    template void unembed_backward_tangent<T>(const matrix<T>&, const matrix<T>*, const T*,        \
                                              const T*, const matrix<T>&, const matrix<T>&,        \
                                              matrix<T>*, T*);                                     \
    template void softmax<T>(const matrix<T>&, matrix<T>&, mask_view);                             \
    template void softmax_cross_entropy_tangent<T>(const matrix<T>&, const matrix<T>&, matrix<T>&, \
                                                   double);

GROKKIT_NN_INSTANTIATE(float)
GROKKIT_NN_INSTANTIATE(double)

#undef GROKKIT_NN_INSTANTIATE

} // namespace grokkit::nn
