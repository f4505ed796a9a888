// low_temperature: the model and its experts measured by reward, through the dataset's oracle
// or its episodes; every draw keyed by (analysis seed, step, temperature's index, state or
// episode).
// SPDX-License-Identifier: Apache-2.0
#include "low_temperature.hpp"

#include <grokkit/error.hpp>
#include <grokkit/gemm.hpp>
#include <grokkit/rating.hpp>
#include <grokkit/rng.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>

namespace low_temperature {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

[[noreturn]] void fail(const std::string& key, const std::string& what,
                       const std::string& expected) {
    throw grokkit::error(grokkit::diagnostic{"low_temperature.outputs", key, what, expected, 0, 0});
}

const grokkit::expert_panel* panel_of(const grokkit::dataset& d, bool wanted) {
    return wanted ? dynamic_cast<const grokkit::expert_panel*>(&d) : nullptr;
}

// One player's scored items (states or episodes), aborted episodes apart.
struct scores {
    std::vector<double> rewards;
    std::vector<std::size_t> opponents; ///< of each scored episode (rated environments)
    std::vector<std::string> records;   ///< every episode's record, aborted ones included
    std::int64_t aborted = 0;
};

std::string temperature_purpose(std::size_t t) {
    std::string p = "low_temperature T";
    p += std::to_string(t);
    return p;
}

std::string expert_purpose(std::size_t k) {
    std::string p = "low_temperature expert ";
    p += std::to_string(k);
    return p;
}

// The model's logits over every state, in chunks so a large set is never one product.
xt::xtensor<float, 2> all_logits(grokkit::model& net, const grokkit::example_set& states) {
    constexpr std::size_t chunk = 4096;
    xt::xtensor<float, 2> all, part;
    for (std::size_t first = 0; first < states.size(); first += chunk) {
        const std::size_t n = std::min(chunk, states.size() - first);
        net.forward(grokkit::slice_batch(states, first, n), part);
        if (first == 0)
            all = xt::zeros<float>({states.size(), part.shape(1)});
        std::copy(part.begin(), part.end(), all.data() + first * part.shape(1));
    }
    return all;
}

} // namespace

// The index of the largest finite mean, or n when none is finite.
std::size_t best_of(const std::vector<grokkit::interval_estimate>& v) {
    std::size_t best = v.size();
    for (std::size_t i = 0; i < v.size(); ++i)
        if (std::isfinite(v[i].mean) && (best == v.size() || v[i].mean > v[best].mean))
            best = i;
    return best;
}

// Every episode's record, the model's at each temperature and then the experts', into `path`
// ("{step}" replaced by the step), written whole and then renamed into place.
static void write_records_file(std::string path, std::int64_t step,
                               const std::vector<scores>& players) {
    if (const auto at = path.find("{step}"); at != std::string::npos)
        path.replace(at, 6, std::to_string(step));
    const std::string partial = path + ".part";
    {
        std::ofstream out(partial, std::ios::binary);
        for (const auto& p : players)
            for (const auto& r : p.records) {
                out << r;
                if (!r.empty() && r.back() != '\n')
                    out << '\n';
            }
        if (!out)
            throw grokkit::error("low_temperature.run", "cannot write " + partial,
                                 "a writable records_file");
    }
    std::filesystem::rename(partial, path);
}

grokkit::interval_estimate reward_interval(const std::vector<double>& rewards) {
    grokkit::interval_estimate e = grokkit::mean_interval(rewards);
    const bool unit =
        std::all_of(rewards.begin(), rewards.end(), [](double r) { return r >= 0.0 && r <= 1.0; });
    if (rewards.size() < 2 || e.lower != e.upper || !unit)
        return e;
    // Every reward the same (a model that lost every game): Wilson's interval on the mean, as
    // for a proportion; it bounds any variable in [0, 1], whose variance is at most p(1 - p).
    std::tie(e.lower, e.upper) =
        grokkit::wilson_interval(e.mean, static_cast<double>(rewards.size()));
    return e;
}

verdict judge(const std::vector<grokkit::interval_estimate>& model,
              const std::vector<grokkit::interval_estimate>& experts) {
    verdict v;
    v.above.assign(model.size(), false);
    v.margin = nan;
    v.best = best_of(model);
    v.best_expert = best_of(experts);
    if (v.best == model.size() || v.best_expert == experts.size())
        return v;
    const auto& top = experts[v.best_expert];
    for (std::size_t t = 0; t < model.size(); ++t) {
        v.above[t] = model[t].lower > top.upper; // false for NaN and for unbounded intervals
        v.transcends = v.transcends || v.above[t];
    }
    v.margin = model[v.best].mean - top.mean;
    return v;
}

void analysis_impl::declare(grokkit::param_set& ps) {
    auto& p = m_params;
    ps.add("temperatures", p.temperatures,
           "temperatures T to sample the model's actions at, p ∝ exp(logit / T); 0 is greedy")
        .at_least(0)
        .at_most(1e6)
        .non_empty();
    ps.add("top_k", p.top_k, "sample only among the k most probable allowed actions; 0: all")
        .at_least(0);
    ps.add("top_p", p.top_p,
           "sample only among the fewest most probable actions whose probability reaches top_p "
           "(nucleus); 1: all")
        .above(0)
        .at_most(1);
    ps.add("evaluation", p.evaluation,
           "oracle: the known reward of the actions in the dataset's states; episodes: play the "
           "dataset's environment; auto: the oracle where the dataset offers one")
        .one_of({"auto", "oracle", "episodes"});
    ps.add("samples", p.samples, "actions drawn per state of an oracle (their mean reward counts)")
        .at_least(1)
        .at_most(10'000);
    ps.add("workers", p.workers,
           "episodes played side by side, each worker with its own copy of the model on one BLAS "
           "thread (the values do not depend on how many); 0: the run's thread count")
        .at_least(0)
        .at_most(256);
    ps.add("records_file", p.records_file,
           "episodes: also write every episode's record (games as PGN) to this file, each "
           "checkpoint's replacing the last's; \"{step}\" in the name is replaced by the step "
           "to keep them all; empty: only in the run file");
    ps.add("experts", p.experts,
           "measure the dataset's experts the same way, where it offers them, and judge "
           "transcendence against the best");
}

void analysis_impl::declare_outputs(grokkit::output_set& os) const {
    using grokkit::dtype;
    os.add("mode", dtype::string, {}, "", "what was measured: \"oracle\" or \"episodes\"");
    os.add("temperature", dtype::float64, {"n_temperatures"}, "1", "the temperatures, in order");
    os.add("reward", dtype::float64, {"n_temperatures"}, "reward",
           "the model's mean reward at each temperature: over the oracle's states (each the mean "
           "of `samples` draws) or over the episodes that finished");
    os.add("reward_lower", dtype::float64, {"n_temperatures"}, "reward",
           "lower bound of its 95% interval (normal approximation, mean - 1.96 s / sqrt(n))");
    os.add("reward_upper", dtype::float64, {"n_temperatures"}, "reward", "upper bound");
    os.add("scored", dtype::int64, {"n_temperatures"}, "1", "states or finished episodes: n");
    os.add("aborted", dtype::int64, {"n_temperatures"}, "1",
           "episodes that could not finish (an engine died): recorded, never scored");
    os.add("expert", dtype::string, {"n_experts"}, "",
           "the dataset's experts, as it names them (none without the capability)");
    os.add("expert_reward", dtype::float64, {"n_experts"}, "reward",
           "each expert's mean reward, measured as the model's");
    os.add("expert_lower", dtype::float64, {"n_experts"}, "reward",
           "its 95% interval's lower bound");
    os.add("expert_upper", dtype::float64, {"n_experts"}, "reward", "upper bound");
    os.add("reference", dtype::string, {"n_references"}, "",
           "closed-form curves the dataset gives (an oracle's: its experts' exact and empirical "
           "mixtures sampled at each temperature)");
    os.add("reference_reward", dtype::float64, {"n_references", "n_temperatures"}, "reward",
           "their expected rewards at each temperature, over the same states")
        .axes({"reference", "temperature"});
    os.add("above_experts", dtype::boolean, {"n_temperatures"}, "1",
           "the model's interval lies wholly above the best expert's at that temperature");
    os.add("transcends", dtype::boolean, {}, "1",
           "at some temperature the model is above the best expert and the intervals do not "
           "overlap (false without experts)");
    os.add("best_temperature", dtype::float64, {}, "1", "the temperature of highest mean reward");
    os.add("best_reward", dtype::float64, {}, "reward", "the model's mean reward there");
    os.add("best_expert_reward", dtype::float64, {}, "reward",
           "the best expert's mean reward (NaN without experts)");
    os.add("margin", dtype::float64, {}, "reward",
           "best_reward minus best_expert_reward: above 0, the model beats its best expert");
    os.add("episode_record", dtype::string, {"n_players", "n_episodes"}, "",
           "each episode as the environment records it (a game's PGN), the model at each "
           "temperature in order and then each expert; empty where it gave none")
        .axes({"player", "episode"})
        .optional("episodes");
    const char* rated = "episodes against rated opponents";
    os.add("opponent", dtype::string, {"n_opponents"}, "",
           "the opponents, as the dataset names them")
        .optional(rated);
    os.add("opponent_rating", dtype::float64, {"n_opponents"}, "Elo",
           "the rating each opponent is taken to play at")
        .optional(rated);
    os.add("opponent_score", dtype::float64, {"n_temperatures", "n_opponents"}, "score",
           "the model's mean score against each opponent (NaN: no finished game)")
        .axes({"temperature", "opponent"})
        .optional(rated);
    for (const std::string who : {"", "expert_"}) {
        const std::string dim = who.empty() ? "n_temperatures" : "n_experts";
        const std::string whose =
            who.empty() ? "the model's, at each temperature" : "each expert's";
        os.add(who + "rating", dtype::float64, {dim}, "Glicko",
               "Glicko-2 rating, " + whose +
                   ": from 1500 / 350 / 0.06 with tau 0.5, every "
                   "finished game in one rating period")
            .optional(rated);
        os.add(who + "rating_deviation", dtype::float64, {dim}, "Glicko", "its deviation (RD)")
            .optional(rated);
        os.add(who + "elo", dtype::float64, {dim}, "Elo",
               "Elo performance rating, " + whose +
                   ": the rating whose expected score against "
                   "the opponents equals the score (+-inf at 100% or 0%)")
            .optional(rated);
        os.add(who + "elo_lower", dtype::float64, {dim}, "Elo",
               "its 95% interval's lower bound (Wilson's interval on the score)")
            .optional(rated);
        os.add(who + "elo_upper", dtype::float64, {dim}, "Elo", "upper bound").optional(rated);
    }
}

namespace {

// Glicko-2 and Elo of each player from its finished games.
struct player_rating {
    grokkit::glicko_rating glicko;
    grokkit::elo_estimate elo;
};

player_rating rate(const scores& s, const std::vector<grokkit::rated_opponent>& opponents) {
    player_rating r;
    r.glicko = {1500.0, 350.0, 0.06};
    r.elo.rating = r.elo.lower = r.elo.upper = nan;
    std::vector<grokkit::rated_game> games;
    std::vector<grokkit::elo_game> elo;
    for (std::size_t i = 0; i < s.rewards.size(); ++i) {
        const auto& o = opponents.at(s.opponents[i]);
        games.push_back({{o.rating, o.deviation, 0.06}, s.rewards[i]});
        elo.push_back({o.rating, s.rewards[i]});
    }
    if (games.empty()) { // every game aborted: no rating, rather than the prior
        r.glicko.rating = r.glicko.deviation = nan;
        return r;
    }
    r.glicko = grokkit::glicko2_update(r.glicko, games, 0.5);
    r.elo = grokkit::elo_from_games(elo);
    return r;
}

// The ratings outputs, for environments with rated opponents.
void write_ratings(grokkit::analysis_context& ctx, const std::vector<scores>& players,
                   std::size_t n_t, const std::vector<grokkit::rated_opponent>& opponents) {
    std::vector<std::string> names;
    std::vector<double> ratings;
    for (const auto& o : opponents) {
        names.push_back(o.name);
        ratings.push_back(o.rating);
    }
    ctx.write("opponent", names);
    ctx.write("opponent_rating", ratings);
    xt::xarray<double> by_opponent = xt::xarray<double>::from_shape({n_t, opponents.size()});
    for (std::size_t t = 0; t < n_t; ++t)
        for (std::size_t o = 0; o < opponents.size(); ++o) {
            double sum = 0.0, count = 0.0;
            for (std::size_t i = 0; i < players[t].rewards.size(); ++i)
                if (players[t].opponents[i] == o) {
                    sum += players[t].rewards[i];
                    count += 1.0;
                }
            by_opponent(t, o) = count > 0 ? sum / count : nan;
        }
    ctx.write("opponent_score", by_opponent);
    for (const std::string who : {"", "expert_"}) {
        const std::size_t first = who.empty() ? 0 : n_t, last = who.empty() ? n_t : players.size();
        std::vector<double> r, rd, elo, lo, hi;
        for (std::size_t p = first; p < last; ++p) {
            const player_rating pr = rate(players[p], opponents);
            r.push_back(pr.glicko.rating);
            rd.push_back(pr.glicko.deviation);
            elo.push_back(pr.elo.rating);
            lo.push_back(pr.elo.lower);
            hi.push_back(pr.elo.upper);
        }
        ctx.write(who + "rating", r);
        ctx.write(who + "rating_deviation", rd);
        ctx.write(who + "elo", elo);
        ctx.write(who + "elo_lower", lo);
        ctx.write(who + "elo_upper", hi);
    }
}

} // namespace

std::string analysis_impl::mode(const grokkit::dataset& source) const {
    const bool oracle = dynamic_cast<const grokkit::reward_oracle*>(&source) != nullptr;
    const bool episodes = dynamic_cast<const grokkit::episode_environment*>(&source) != nullptr;
    const std::string offered = oracle && episodes ? "a reward oracle and episodes"
                                : oracle           ? "only a reward oracle"
                                : episodes         ? "only episodes"
                                                   : "neither a reward oracle nor episodes";
    const std::string& want = m_params.evaluation;
    if ((want == "oracle" && !oracle) || (want == "episodes" && !episodes) ||
        (want == "auto" && !oracle && !episodes))
        fail("evaluation", "the dataset offers " + offered,
             "a dataset with a reward oracle or an episode environment (grokkit/evaluation.hpp), "
             "such as noisy_experts");
    return want == "auto" ? (oracle ? "oracle" : "episodes") : want;
}

grokkit::sampling_config analysis_impl::sampling(std::size_t t) const {
    grokkit::sampling_config c;
    c.temperature = m_params.temperatures[t];
    c.top_k = static_cast<std::size_t>(m_params.top_k);
    c.top_p = m_params.top_p;
    return c;
}

void analysis_impl::outputs(const grokkit::analysis_setup& setup,
                            grokkit::output_binding& out) const {
    const std::string how = mode(setup.source);
    std::size_t references = 0;
    if (how == "oracle") {
        const auto& oracle = dynamic_cast<const grokkit::reward_oracle&>(setup.source);
        if (oracle.reward_states(setup.data).size() == 0)
            fail("evaluation", "the dataset's oracle has no states", "at least one state");
        references = oracle.reference_rewards(setup.data, 1.0).size();
    } else if (dynamic_cast<const grokkit::episode_environment&>(setup.source)
                   .episode_count(setup.data) == 0) {
        fail("evaluation", "the dataset's environment has no episodes", "at least one episode");
    }
    const auto* panel = panel_of(setup.source, m_params.experts);
    const std::size_t n_experts = panel ? panel->expert_names(setup.data).size() : 0;
    out.size("n_temperatures", m_params.temperatures.size());
    out.size("n_experts", n_experts);
    out.size("n_references", references);
    std::size_t n_opponents = 0;
    if (how == "episodes") {
        const auto& env = dynamic_cast<const grokkit::episode_environment&>(setup.source);
        out.size("n_players", m_params.temperatures.size() + n_experts);
        out.size("n_episodes", env.episode_count(setup.data));
        n_opponents = env.opponents(setup.data).size();
        out.keep_items(); // episodes can be long (games): a kill keeps those played
    } else {
        out.skip("episode_record");
    }
    out.size("n_opponents", n_opponents);
    if (n_opponents == 0)
        for (const std::string o :
             {"opponent", "opponent_rating", "opponent_score", "rating", "rating_deviation", "elo",
              "elo_lower", "elo_upper", "expert_rating", "expert_rating_deviation", "expert_elo",
              "expert_elo_lower", "expert_elo_upper"})
            out.skip(o);
}

namespace {

// The model at every temperature, then each expert, over the oracle's states.
std::vector<scores> oracle_scores(grokkit::analysis_context& ctx,
                                  const grokkit::reward_oracle& oracle,
                                  const grokkit::expert_panel* panel,
                                  const std::vector<grokkit::sampling_config>& configs,
                                  std::size_t samples, std::uint64_t key) {
    const grokkit::example_set states = oracle.reward_states(ctx.data());
    const xt::xtensor<float, 2> logits = all_logits(ctx.trained_model(), states);
    const std::size_t n = states.size(), classes = logits.shape(1);
    const std::size_t n_experts = panel ? panel->expert_names(ctx.data()).size() : 0;
    std::vector<std::unique_ptr<grokkit::actor>> experts;
    for (std::size_t k = 0; k < n_experts; ++k)
        experts.push_back(
            panel->expert(ctx.data(), k, grokkit::rng(key, expert_purpose(k)).next_u64()));
    std::vector<scores> out(configs.size() + n_experts);
    const grokkit::mask_view mask = grokkit::view_of(states.mask);
    for (std::size_t s = 0; s < n; ++s) {
        const std::vector<double> reward = oracle.action_rewards(ctx.data(), s);
        const auto value = [&](std::int32_t a) { return reward.at(static_cast<std::size_t>(a)); };
        for (std::size_t t = 0; t < configs.size(); ++t) {
            grokkit::rng draws(key, temperature_purpose(t), s);
            double sum = 0.0;
            for (std::size_t j = 0; j < samples; ++j)
                sum += value(grokkit::sample_action(logits.data() + s * classes, classes, mask, s,
                                                    configs[t], draws));
            out[t].rewards.push_back(sum / static_cast<double>(samples));
        }
        const grokkit::observation state{grokkit::slice_batch(states, s, 1), {}};
        for (std::size_t k = 0; k < n_experts; ++k) {
            double sum = 0.0;
            for (std::size_t j = 0; j < samples; ++j)
                sum += value(experts[k]->act(state));
            out[configs.size() + k].rewards.push_back(sum / static_cast<double>(samples));
        }
        if (s % 256 == 0 || s + 1 == n)
            ctx.progress("states", static_cast<std::int64_t>(s + 1), static_cast<std::int64_t>(n));
    }
    return out;
}

// Every player's episodes, as committed items (player * n_episodes + episode: reward,
// aborted), the ones a killed session committed taken back; `workers` episodes are played side
// by side, each worker with its own copy of the model on one BLAS thread. Each episode's draws
// are keyed by its player and index, so the values do not depend on `workers`.
std::vector<scores> episode_scores(grokkit::analysis_context& ctx,
                                   const grokkit::episode_environment& env,
                                   const grokkit::expert_panel* panel,
                                   const std::vector<grokkit::sampling_config>& configs,
                                   std::uint64_t key, std::uint64_t env_seed, std::size_t workers) {
    const std::size_t n = env.episode_count(ctx.data());
    const std::size_t n_experts = panel ? panel->expert_names(ctx.data()).size() : 0;
    const std::size_t players = configs.size() + n_experts, total = players * n;
    std::map<std::int64_t, std::vector<double>> done = ctx.committed_items();
    // What a killed session committed must be this evaluation's, before anything is played.
    for (const auto& [item, values] : done)
        if (item < 0 || static_cast<std::size_t>(item) >= total || values.size() != 2)
            throw grokkit::error("low_temperature.run",
                                 "a committed episode item " + std::to_string(item) + " of " +
                                     std::to_string(values.size()) + " values",
                                 "one of the " + std::to_string(total) +
                                     " items (reward, aborted) of this pipeline's episodes");
    std::vector<std::size_t> pending;
    for (std::size_t item = 0; item < total; ++item)
        if (!done.count(static_cast<std::int64_t>(item)))
            pending.push_back(item);
    const std::size_t classes = ctx.spec().n_classes;
    std::map<std::int64_t, std::string> texts = ctx.committed_item_texts();
    std::vector<std::string> records(total); // handed from the workers to the committing thread
    std::mutex record_lock;
    std::vector<std::unique_ptr<grokkit::model>> nets;
    for (std::size_t w = 0; w < std::min(workers, pending.size()); ++w)
        nets.push_back(ctx.copy_model());
    const grokkit::scoped_blas_threads one(1, ctx.threads());
    grokkit::run_items(
        nets.size(), pending,
        [&](std::size_t worker, std::size_t item) {
            const std::size_t player = item / n, episode = item % n;
            std::unique_ptr<grokkit::actor> actor;
            if (player < configs.size())
                actor = std::make_unique<grokkit::model_actor>(
                    *nets[worker], classes, configs[player],
                    grokkit::rng(key, temperature_purpose(player), episode));
            else
                actor = panel->expert(
                    ctx.data(), player - configs.size(),
                    grokkit::rng(key, expert_purpose(player - configs.size()), episode).next_u64());
            grokkit::episode_result r = env.play(ctx.data(), episode, *actor, env_seed);
            const std::lock_guard<std::mutex> hold(record_lock);
            records[item] = std::move(r.record);
            return std::vector<double>{r.reward, r.aborted ? 1.0 : 0.0};
        },
        [&](std::size_t item, const std::vector<double>& values) {
            std::string record;
            {
                const std::lock_guard<std::mutex> hold(record_lock);
                record = std::move(records[item]);
            }
            ctx.commit_item(static_cast<std::int64_t>(item), values, record);
            done[static_cast<std::int64_t>(item)] = values;
            texts[static_cast<std::int64_t>(item)] = std::move(record);
            ctx.progress("episodes", static_cast<std::int64_t>(done.size()),
                         static_cast<std::int64_t>(total));
        });
    std::vector<scores> out(players);
    for (auto& s : out)
        s.records.resize(n);
    for (const auto& [item, values] : done) {
        const auto i = static_cast<std::size_t>(item);
        scores& s = out[i / n];
        s.records[i % n] = texts[item];
        if (values[1] != 0.0) {
            ++s.aborted;
        } else {
            s.rewards.push_back(values[0]);
            s.opponents.push_back(env.episode_opponent(ctx.data(), i % n));
        }
    }
    return out;
}

// Writes every output from the players' scores (the model at each temperature, then experts).
void write_outputs(grokkit::analysis_context& ctx, const std::string& how,
                   const std::vector<double>& temperatures, const std::vector<scores>& players,
                   const std::vector<grokkit::interval_estimate>& model,
                   const std::vector<grokkit::interval_estimate>& experts, const verdict& v) {
    const std::size_t n_t = temperatures.size();
    std::vector<double> mean, lower, upper;
    std::vector<std::int64_t> scored, aborted;
    for (std::size_t t = 0; t < n_t; ++t) {
        mean.push_back(model[t].mean);
        lower.push_back(model[t].lower);
        upper.push_back(model[t].upper);
        scored.push_back(static_cast<std::int64_t>(model[t].n));
        aborted.push_back(players[t].aborted);
    }
    std::vector<double> e_mean, e_lower, e_upper;
    for (const auto& e : experts) {
        e_mean.push_back(e.mean);
        e_lower.push_back(e.lower);
        e_upper.push_back(e.upper);
    }
    // The dataset's closed forms at each temperature, over the oracle's states.
    std::vector<std::string> names;
    std::vector<std::vector<double>> curves;
    if (const auto* oracle = dynamic_cast<const grokkit::reward_oracle*>(&ctx.source());
        oracle && how == "oracle")
        for (std::size_t t = 0; t < n_t; ++t) {
            const auto refs = oracle->reference_rewards(ctx.data(), temperatures[t]);
            curves.resize(refs.size(), std::vector<double>(n_t, nan));
            for (std::size_t r = 0; r < refs.size(); ++r) {
                if (t == 0)
                    names.push_back(refs[r].name);
                curves[r][t] = refs[r].reward;
            }
        }
    xt::xarray<double> reference = xt::xarray<double>::from_shape({curves.size(), n_t});
    for (std::size_t r = 0; r < curves.size(); ++r)
        std::copy(curves[r].begin(), curves[r].end(), reference.data() + r * n_t);
    const auto* panel = dynamic_cast<const grokkit::expert_panel*>(&ctx.source());
    ctx.write("mode", how);
    ctx.write("temperature", temperatures);
    ctx.write("reward", mean);
    ctx.write("reward_lower", lower);
    ctx.write("reward_upper", upper);
    ctx.write("scored", scored);
    ctx.write("aborted", aborted);
    ctx.write("expert",
              experts.empty() ? std::vector<std::string>{} : panel->expert_names(ctx.data()));
    ctx.write("expert_reward", e_mean);
    ctx.write("expert_lower", e_lower);
    ctx.write("expert_upper", e_upper);
    ctx.write("reference", names);
    ctx.write("reference_reward", reference);
    ctx.write("above_experts", grokkit::output_value::booleans(v.above));
    ctx.write("transcends", v.transcends);
    const bool any = v.best < n_t, any_expert = v.best_expert < experts.size();
    ctx.write("best_temperature", any ? temperatures[v.best] : nan);
    ctx.write("best_reward", any ? model[v.best].mean : nan);
    ctx.write("best_expert_reward", any_expert ? experts[v.best_expert].mean : nan);
    ctx.write("margin", v.margin);
    if (how != "episodes")
        return;
    const std::size_t n_episodes = players.front().records.size();
    std::vector<std::string> records;
    for (const auto& p : players)
        records.insert(records.end(), p.records.begin(), p.records.end());
    const grokkit::output_value flat(records); // one row of strings, reshaped (players, episodes)
    ctx.write("episode_record",
              grokkit::output_value(grokkit::dtype::string, {players.size(), n_episodes},
                                    flat.values(), flat.offsets()));
    const auto& env = dynamic_cast<const grokkit::episode_environment&>(ctx.source());
    const auto opponents = env.opponents(ctx.data());
    if (!opponents.empty())
        write_ratings(ctx, players, n_t, opponents);
}

} // namespace

void analysis_impl::run(grokkit::analysis_context& ctx) {
    const std::string how = mode(ctx.source());
    const auto* panel = panel_of(ctx.source(), m_params.experts);
    std::vector<grokkit::sampling_config> configs;
    for (std::size_t t = 0; t < m_params.temperatures.size(); ++t)
        configs.push_back(sampling(t));
    const auto step = static_cast<std::uint64_t>(ctx.step());
    const std::uint64_t key = grokkit::rng(ctx.seed(), "low_temperature", step).next_u64();
    const std::vector<scores> players =
        how == "oracle"
            ? oracle_scores(ctx, dynamic_cast<const grokkit::reward_oracle&>(ctx.source()), panel,
                            configs, static_cast<std::size_t>(m_params.samples), key)
            : episode_scores(ctx, dynamic_cast<const grokkit::episode_environment&>(ctx.source()),
                             panel, configs, key,
                             grokkit::rng(ctx.seed(), "low_temperature episodes", step).next_u64(),
                             static_cast<std::size_t>(m_params.workers > 0 ? m_params.workers
                                                                           : ctx.threads()));
    const std::size_t n_t = configs.size();
    std::vector<grokkit::interval_estimate> model, experts;
    for (std::size_t i = 0; i < players.size(); ++i)
        (i < n_t ? model : experts).push_back(reward_interval(players[i].rewards));
    const verdict v = judge(model, experts);
    write_outputs(ctx, how, m_params.temperatures, players, model, experts, v);
    if (how == "episodes" && !m_params.records_file.empty())
        write_records_file(m_params.records_file, ctx.step(), players);
}

} // namespace low_temperature
