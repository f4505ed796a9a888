// The my_margin analysis plugin: how confidently the model separates the right class, and
// which test examples it finds hardest, at every checkpoint.
// SPDX-License-Identifier: Apache-2.0
//
// A template for your own analysis. An analysis plugin is one class derived from
// grokkit::analysis:
//   declare()          binds its parameters;
//   declare_outputs()  declares each output once: name, dtype, shape in named sizes, units, doc
//                      (`grokkit plugins --describe my_margin` prints the table from it);
//   outputs()          binds those sizes for this run's dataset and model (every output exists
//                      in the run file before training starts), or throws when it cannot serve
//                      them: the run then stops before any file is created;
//   run()              computes and writes every output for one checkpoint.
// A wrong name, dtype or shape in ctx.write() is an error naming the analysis and the output.
#include <grokkit/analysis.hpp>
#include <grokkit/error.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace my_margin {

class analysis_impl : public grokkit::analysis {
  public:
    void declare(grokkit::param_set& ps) override {
        ps.add("k", m_k, "how many of the hardest test examples to list").at_least(1).at_most(1000);
    }

    void declare_outputs(grokkit::output_set& os) const override {
        using grokkit::dtype;
        os.add("mean_margin", dtype::float64, {}, "logit",
               "mean over test examples of the right logit minus the largest other one");
        os.add("hardest", dtype::int64, {"k"}, "index",
               "the test examples with the smallest margins, smallest first");
        os.add("hardest_margin", dtype::float64, {"k"}, "logit", "their margins");
        os.add("summary", dtype::string, {}, "", "one line for people");
    }

    void outputs(const grokkit::analysis_setup& setup,
                 grokkit::output_binding& out) const override {
        if (setup.data.test.size() == 0)
            throw grokkit::error("my_margin.outputs", "the dataset has no test examples; "
                                                      "expected a train_fraction below 1");
        out.size("k", std::min<std::size_t>(static_cast<std::size_t>(m_k), setup.data.test.size()));
    }

    void run(grokkit::analysis_context& ctx) override {
        const grokkit::example_set& test = ctx.data().test;
        xt::xtensor<float, 2> logits;
        ctx.trained_model().forward(grokkit::as_batch(test), logits);
        const std::vector<double> margin = margins(logits, test.labels.data());
        std::vector<std::int64_t> order(margin.size());
        std::iota(order.begin(), order.end(), std::int64_t{0});
        const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(m_k), order.size());
        std::partial_sort(order.begin(), order.begin() + static_cast<long>(k), order.end(),
                          [&](std::int64_t a, std::int64_t b) { return margin[a] < margin[b]; });
        order.resize(k);
        std::vector<double> hardest_margin;
        for (const auto i : order)
            hardest_margin.push_back(margin[static_cast<std::size_t>(i)]);
        const double mean =
            std::accumulate(margin.begin(), margin.end(), 0.0) / static_cast<double>(margin.size());
        ctx.write("mean_margin", mean);
        ctx.write("hardest", order);
        ctx.write("hardest_margin", hardest_margin);
        ctx.write("summary", "step " + std::to_string(ctx.step()) + ": mean margin " +
                                 std::to_string(mean) + " over " + std::to_string(margin.size()) +
                                 " test examples");
    }

  private:
    // margin[i] = logits[i, label] - max over other classes c of logits[i, c].
    static std::vector<double> margins(const xt::xtensor<float, 2>& logits,
                                       const std::int32_t* labels) {
        const std::size_t n = logits.shape()[0], c = logits.shape()[1];
        std::vector<double> out(n);
        for (std::size_t i = 0; i < n; ++i) {
            const auto y = static_cast<std::size_t>(labels[i]);
            float other = -std::numeric_limits<float>::infinity();
            for (std::size_t j = 0; j < c; ++j)
                if (j != y)
                    other = std::max(other, logits(i, j));
            out[i] = static_cast<double>(logits(i, y)) - static_cast<double>(other);
        }
        return out;
    }

    std::int64_t m_k = 5;
};

} // namespace my_margin

GROKKIT_DEFINE_PLUGIN(my_margin::analysis_impl, "my_margin", "0.1.0",
                      grokkit::plugin_kind::analysis,
                      "template: logit margins and the hardest test examples, per checkpoint")
