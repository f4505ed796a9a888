// The fourier_probe analysis: how a network represents modular arithmetic (Fourier over Z_p)
// or sparse parity (Walsh over {±1}^n), checkpoint by checkpoint.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/analysis.hpp>
#include <grokkit/report.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fourier_probe {

struct params {
    std::string embedding = "auto";
    std::string unembedding = "auto";
    std::string neurons = "auto";
    double key_fraction = 0.9;
    std::int64_t max_key_frequencies = 8;
    std::string input_weights = "auto";
    std::int64_t exact_max_bits = 16;
    std::int64_t samples = 8192;
    std::int64_t max_order = 4;
};

class analysis_impl : public grokkit::analysis, public grokkit::report_contributor {
  public:
    void declare(grokkit::param_set& ps) override;
    void declare_outputs(grokkit::output_set& os) const override;
    void outputs(const grokkit::analysis_setup& setup, grokkit::output_binding& out) const override;
    void run(grokkit::analysis_context& ctx) override;
    /// Its section of `grokkit report` (report.cpp).
    grokkit::report_section report(const grokkit::run_file& f,
                                   const std::string& name) const override;

    params m_params;

  private:
    enum class mode { modular, parity };
    struct resolved {
        mode kind = mode::modular;
        std::size_t p = 0; // modulus
        std::size_t n_bits = 0, k = 0;
        std::string embedding, unembedding, neurons, input_weights; // "" when absent
    };
    resolved resolve(const grokkit::input_spec& spec, const grokkit::dataset_split& data,
                     grokkit::model& m) const;
    std::size_t neuron_count(const grokkit::input_spec& spec, grokkit::model& m,
                             const resolved& r) const;
    void run_modular(grokkit::analysis_context& ctx, const resolved& r);
    void run_parity(grokkit::analysis_context& ctx, const resolved& r);
};

} // namespace fourier_probe
