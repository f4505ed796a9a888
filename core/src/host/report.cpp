// `grokkit report`: the core's sections (provenance, training curves), each analysis's own or a
// generic one, and the page that inlines Vega, Vega-Lite and vega-embed around them.
// SPDX-License-Identifier: Apache-2.0
#include "host/report.hpp"
#include "store/run_store.hpp"

#include <grokkit/analysis.hpp>
#include <grokkit/error.hpp>

#include <boost/dll/runtime_symbol_info.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace grokkit {

namespace fs = std::filesystem;

namespace {

std::vector<double> as_doubles(const std::vector<std::int64_t>& v) {
    return std::vector<double>(v.begin(), v.end());
}

// The first step at which `values` reach `threshold`, or NaN.
double first_reaching(const std::vector<std::int64_t>& steps, const std::vector<double>& values,
                      double threshold) {
    for (std::size_t i = 0; i < steps.size() && i < values.size(); ++i)
        if (values[i] >= threshold)
            return static_cast<double>(steps[i]);
    return NAN;
}

std::string text_of(double step) {
    return std::to_string(static_cast<std::int64_t>(step));
}

report_section provenance(const run_file& f) {
    report_section s;
    s.title = "Run";
    const auto tree = f.resolved_pipeline();
    const auto steps = f.metric_steps();
    const std::int64_t target = tree.integer("train.steps");
    const std::int64_t reached = steps.empty() ? 0 : steps.back();
    // A file still marked running is either being written (its writer holds the lock) or was
    // killed mid-write; the report says which, and covers the committed rows only either way.
    std::string status = f.status();
    if (status == "running")
        status = file_lock::held_elsewhere(f.path())
                     ? "running (being written now; this report shows the rows committed so far)"
                     : "stopped before the end (killed or crashed; `grokkit run ... --resume` "
                       "continues it); this report shows the rows committed";
    s.notes.push_back("Status: " + status + ", step " + std::to_string(reached) + " of " +
                      std::to_string(target) + ".");
    report_table t{{"attribute", "value"}, {}};
    for (const char* a : {"created", "grokkit_version", "git_revision", "blas_kernel",
                          "hdf5_version", "pipeline_file", "overrides"})
        if (f.has_attribute(a))
            t.rows.push_back({a, f.string_attribute(a)});
    for (const char* a : {"seed", "threads", "resume_count"})
        if (f.has_attribute(a))
            t.rows.push_back({a, std::to_string(f.int_attribute(a))});
    if (const std::string done = f.finished(); !done.empty())
        t.rows.push_back({"finished", done});
    s.tables.push_back(std::move(t));
    s.preformatted.push_back(f.pipeline_text());
    const auto x = as_doubles(steps);
    s.charts.push_back(line_chart("Learning rate", {{"lr", x, f.metric("lr")}},
                                  {"step", "learning rate", false, false, {}}));
    return s;
}

report_section training(const run_file& f) {
    report_section s;
    s.title = "Training";
    const auto steps = f.metric_steps();
    const auto x = as_doubles(steps);
    const auto train_acc = f.metric("train_accuracy"), test_acc = f.metric("test_accuracy");
    line_chart_options o;
    o.log_x = true;
    const double memorised = first_reaching(steps, train_acc, 0.99);
    const double generalised = first_reaching(steps, test_acc, 0.99);
    if (std::isfinite(memorised))
        o.marks.push_back({"memorised", memorised});
    if (std::isfinite(generalised))
        o.marks.push_back({"generalised", generalised});
    s.notes.push_back("Train accuracy first reached 0.99 at step " +
                      (std::isfinite(memorised) ? text_of(memorised) : std::string("(not yet)")) +
                      "; test accuracy at step " +
                      (std::isfinite(generalised) ? text_of(generalised) : "(not yet)") + ".");
    o.y_title = "loss";
    o.log_y = true;
    s.charts.push_back(line_chart(
        "Loss", {{"train", x, f.metric("train_loss")}, {"test", x, f.metric("test_loss")}}, o));
    o.y_title = "accuracy";
    o.log_y = false;
    s.charts.push_back(line_chart("Accuracy", {{"train", x, train_acc}, {"test", x, test_acc}}, o));
    return s;
}

// An analysis without a section of its own: each scalar number output against step.
report_section generic(const run_file& f, const run_file_analysis& a) {
    report_section s;
    s.title = "Analysis " + a.name + " (" + a.plugin + ")";
    const auto steps = f.analysis_steps(a.name);
    std::vector<chart_series> series;
    for (const auto& o : a.outputs) {
        if (o.variable || !o.shape.empty() || o.type == dtype::string)
            continue;
        series.push_back({o.name, as_doubles(steps), f.analysis_scalars(a.name, o.name)});
    }
    s.notes.push_back(std::to_string(steps.size()) +
                      " rows; outputs: " + std::to_string(a.outputs.size()) + ".");
    if (!series.empty())
        s.charts.push_back(
            line_chart("Scalar outputs", series, {"step", "value", true, false, {}}));
    return s;
}

// The section `obj` contributes for `name`, or the fallback when it offers none or fails (one
// section's failure must not lose the page).
template <class Fallback>
std::optional<report_section> contributed(const plugin_object* obj, const run_file& f,
                                          const std::string& name, Fallback fallback) {
    const auto* c = dynamic_cast<const report_contributor*>(obj);
    try {
        std::optional<report_section> s = c ? std::optional(c->report(f, name)) : fallback();
        if (s && s->title.empty())
            s->title = name;
        return s;
    } catch (const std::exception& e) {
        std::optional<report_section> s = fallback();
        std::string note = "Its plugin's section failed: " + std::string(e.what());
        if (s)
            note += "; the generic one:";
        else
            s = report_section{name, {}, {}, {}, {}};
        s->notes.insert(s->notes.begin(), note);
        return s;
    }
}

std::unique_ptr<plugin_object> created(const registry& reg, const std::string& plugin,
                                       plugin_kind kind) {
    const loaded_plugin* p = reg.find(plugin);
    return std::unique_ptr<plugin_object>(p && p->kind == kind ? p->info->create() : nullptr);
}

} // namespace

std::vector<report_section> report_sections(const run_file& f, const registry& reg) {
    std::vector<report_section> out{provenance(f), training(f)};
    // A dataset's section (its baselines, say) when its plugin offers one; none otherwise.
    const auto data = created(reg, f.dataset_plugin(), plugin_kind::dataset);
    if (auto s =
            contributed(data.get(), f, "dataset", [] { return std::optional<report_section>(); }))
        out.push_back(std::move(*s));
    for (const auto& a : f.analyses()) {
        const auto obj = created(reg, a.plugin, plugin_kind::analysis);
        out.push_back(
            *contributed(obj.get(), f, a.name, [&] { return std::optional(generic(f, a)); }));
    }
    return out;
}

fs::path report_js_dir() {
    if (const char* env = std::getenv("GROKKIT_JS_DIR"); env && *env)
        return env;
    const fs::path beside =
        fs::path(boost::dll::program_location()).parent_path().parent_path() / "share/grokkit/js";
    if (fs::is_directory(beside))
        return beside;
    return "/usr/local/share/grokkit/js";
}

namespace {

// The charting library, in load order (vega-embed needs vega and vega-lite first).
const char* const js_files[] = {"vega-6.4.0.min.js", "vega-lite-6.5.0.min.js",
                                "vega-embed-7.3.0.min.js"};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in)
        throw error(p.string(), "cannot read the charting library",
                    "the files scripts/install-deps installs (or GROKKIT_JS_DIR naming them)");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string html_escape(const std::string& text) {
    std::string out;
    for (char c : text)
        out += c == '<'   ? std::string("&lt;")
               : c == '>' ? std::string("&gt;")
               : c == '&' ? std::string("&amp;")
               : c == '"' ? std::string("&quot;")
                          : std::string(1, c);
    return out;
}

std::string table_html(const report_table& t) {
    std::string s = "<table><tr>";
    for (const auto& h : t.header)
        s += "<th>" + html_escape(h) + "</th>";
    s += "</tr>";
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
        s += "<tr>";
        for (std::size_t c = 0; c < t.rows[r].size(); ++c) {
            const std::string cell = html_escape(t.rows[r][c]);
            const bool linked = c == 0 && r < t.row_links.size() && !t.row_links[r].empty();
            s += "<td>";
            s += linked ? "<a href=\"" + html_escape(t.row_links[r]) + "\">" + cell + "</a>" : cell;
            s += "</td>";
        }
        s += "</tr>";
    }
    return s + "</table>\n";
}

// `spec` inside a <script type="application/json">: every '<' as \u003c (valid in JSON
// strings, and no JSON has '<' elsewhere), so no spec can end the script element.
std::string embeddable(const std::string& spec) {
    std::string out;
    for (char c : spec)
        out += c == '<' ? std::string("\\u003c") : std::string(1, c);
    return out;
}

std::string base64(const std::string& bytes) {
    static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k)
            v = v << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
        for (std::size_t k = 0; k < 4; ++k) // n bytes make n + 1 digits, then '=' padding
            out += k <= n ? digits[v >> (18 - 6 * k) & 63] : '=';
    }
    return out;
}

// A link that saves the download, its content inlined as a data: URL.
std::string download_html(const report_download& d) {
    return "<p><a class=\"download\" download=\"" + html_escape(d.file_name) +
           "\" href=\"data:" + html_escape(d.media_type) + ";base64," + base64(d.content) + "\">" +
           html_escape(d.label) + "</a> (" + std::to_string((d.content.size() + 1023) / 1024) +
           " KiB)</p>\n";
}

// A section's HTML; each chart is a div chart<n> with its specification beside it in a JSON
// script element spec<n>, parsed and drawn one by one (a bad one fails alone, on the console).
std::string section_html(const report_section& s, std::size_t index, std::size_t& n_charts) {
    std::string h = "<section id=\"section" + std::to_string(index) + "\"><h2>" +
                    html_escape(s.title) + "</h2>\n";
    for (const auto& n : s.notes)
        h += "<p>" + html_escape(n) + "</p>\n";
    for (const auto& t : s.tables)
        h += table_html(t);
    for (const auto& p : s.preformatted)
        h += "<pre>" + html_escape(p) + "</pre>\n";
    for (const auto& d : s.downloads)
        h += download_html(d);
    for (const auto& c : s.charts) {
        const std::string n = std::to_string(n_charts++);
        h += "<figure><figcaption>" + html_escape(c.title) + "</figcaption><div class=\"chart\" " +
             "id=\"chart" + n + "\"></div><script type=\"application/json\" id=\"spec" + n + "\">" +
             embeddable(c.vega_lite) + "</script></figure>\n";
    }
    return h + "</section>\n";
}

const char* const style =
    R"(body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:900px;
color:#222;background:#fff}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .6em;
text-align:left;font-size:.9em}pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}.chart{min-height:260px})";

} // namespace

std::string render_report(const std::string& title, const std::vector<report_section>& sections) {
    std::string scripts;
    const fs::path dir = report_js_dir();
    for (const char* f : js_files)
        scripts += "<script>" + read_file(dir / f) + "</script>\n";
    std::string body;
    std::size_t n_charts = 0;
    for (std::size_t i = 0; i < sections.size(); ++i)
        body += section_html(sections[i], i, n_charts);
    return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
           html_escape(title) + "</title><style>" + style + "</style>\n" + scripts +
           "</head><body><h1>" + html_escape(title) + "</h1>\n" + body +
           "<script>document.querySelectorAll('script[id^=spec]').forEach(el => {\n"
           "  const n = el.id.slice(4);\n"
           "  try {\n"
           "    vegaEmbed('#chart' + n, JSON.parse(el.textContent), {actions: false, renderer: "
           "'canvas'})\n"
           "      .catch(e => console.error('chart ' + n + ': ' + e));\n"
           "  } catch (e) { console.error('chart ' + n + ': ' + e); }\n"
           "});</script>\n</body></html>\n";
}

} // namespace grokkit
