// Report sections: what an analysis contributes to `grokkit report`, as data and chart
// specifications (Vega-Lite JSON), never HTML or scripts of its own.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grokkit/export.hpp>
#include <grokkit/run_file.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace grokkit {

/// A chart: a Vega-Lite specification (JSON text) with its data inlined as values. The report
/// page renders it with vega-embed; the helpers below build the common ones.
struct report_chart {
    std::string title;
    std::string vega_lite;
};

/// A small table of text cells.
struct report_table {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    /// Optional: a link (a relative URL, such as a point's own report) for each row's first
    /// cell; "" leaves that row's cell plain.
    std::vector<std::string> row_links = {};
};

/// A file the page offers to save (a run's games as PGN), embedded in the page itself.
struct report_download {
    std::string label;      ///< the link's text
    std::string file_name;  ///< the name it is saved under ("games.pgn")
    std::string media_type; ///< "application/x-chess-pgn", "text/plain"
    std::string content;
};

/// One section of a report: a heading, short paragraphs, tables, preformatted text (such as a
/// pipeline), files to save and charts.
struct report_section {
    std::string title;
    std::vector<std::string> notes;
    std::vector<report_table> tables;
    std::vector<std::string> preformatted;
    std::vector<report_chart> charts;
    std::vector<report_download> downloads = {};
};

/// The capability an analysis or dataset plugin offers to add its own section to `grokkit
/// report`; the host finds it with dynamic_cast on the plugin's object. Without it an analysis
/// gets a generic section (its scalar outputs against step) and a dataset none. A dataset's
/// section follows the training curves and is asked for with `name` "dataset".
class GROKKIT_VISIBLE report_contributor {
  public:
    virtual ~report_contributor();
    /// The section for the analysis recorded as `name` in `file` (or the dataset) (read its outputs
    /// with run_file::analysis_output; the file may be live: read committed rows only).
    virtual report_section report(const run_file& file, const std::string& name) const = 0;
};

/// One named line of (x, y) points.
struct chart_series {
    std::string name;
    std::vector<double> x;
    std::vector<double> y;
    /// Optional: an interval around each point (as many as y), drawn as a vertical bar.
    std::vector<double> lower = {}, upper = {};
};

/// Options of a line chart.
struct line_chart_options {
    std::string x_title = "step";
    std::string y_title;
    bool log_x = false; ///< symlog: step 0 stays on the axis
    bool log_y = false;
    std::vector<std::pair<std::string, double>> marks = {}; ///< labelled vertical rules at x
    /// With log_x, the width of the linear part around 0 (Vega-Lite's symlog constant): below 1
    /// it spreads small x apart (temperatures 0.001 to 0.1).
    double symlog_constant = 1.0;
};

/// Lines of several series, zoomable and with tooltips; NaN and infinite y are left out (and
/// y <= 0 on a log axis). Series with intervals get points and a bar from lower to upper.
report_chart line_chart(const std::string& title, const std::vector<chart_series>& series,
                        const line_chart_options& options);

/// A heat map of z (rows of y, columns of x): x[i], y[j], z[j][i].
report_chart heat_map(const std::string& title, const std::vector<double>& x,
                      const std::vector<double>& y, const std::vector<std::vector<double>>& z,
                      const std::string& x_title, const std::string& y_title,
                      const std::string& z_title);

/// One cell of a grid_map: its column and row labels, a category or a value that colours it,
/// and a short text drawn in it ("3/4").
struct map_cell {
    std::string x, y;
    std::string category;
    double value = NAN;
    std::string text = {};
    std::string tooltip = {}; ///< more detail on hover
};

/// Options of a grid_map.
struct grid_map_options {
    std::vector<std::string> x_order, y_order; ///< labels in axis order (as given, not sorted)
    std::string x_title, y_title;
    /// Colour by category, in this order (a fixed colour each); empty: colour by value.
    std::vector<std::string> categories = {};
    std::string value_title = {};
    bool log_value = false;
};

/// A grid of labelled cells, such as a phase diagram over two parameters whose values need
/// not be numbers: each cell coloured by its category or value, with its text drawn in it.
report_chart grid_map(const std::string& title, const std::vector<map_cell>& cells,
                      const grid_map_options& options);

/// The distribution of `values` as a histogram of `bins` equal bins between their smallest and
/// largest finite value (with log_x, equal in log10 over the positive values). Values left out
/// (non-finite, or <= 0 on a log axis) are counted in the chart's title.
report_chart histogram(const std::string& title, const std::vector<double>& values,
                       const std::string& x_title, std::size_t bins = 40, bool log_x = false);

/// The fraction of the k = positives.size() largest `values` whose index is in `positives` (ties
/// to the lower index, NaN never among them): how well a score finds known cases, such as
/// memorisation scores the replaced labels of /dataset/noisy_index. NaN when positives is empty.
double precision_at_k(const std::vector<double>& values,
                      const std::vector<std::int64_t>& positives);

/// `v` as table text with a printf `format` ("%.3f", "%.0f"), "–" for NaN and infinities.
std::string table_number(double v, const char* format = "%.3g");

/// `text` as a JSON string literal, quotes included.
std::string json_string(const std::string& text);
/// `v` as a JSON number (null for NaN and infinities).
std::string json_number(double v);

} // namespace grokkit
