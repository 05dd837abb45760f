#include "daemon/backtest.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <variant>

#include <date/date.h>
#include <nlohmann/json.hpp>

#include "daemon/api.hpp"
#include "daemon/config/duration.hpp"
#include "daemon/engine.hpp"
#include "daemon/notify/figures.hpp"
#include "daemon/notify/message.hpp"
#include "daemon/notify/notifier.hpp"
#include "daemon/store/store.hpp"
#include "rules/annotation.hpp"
#include "rules/time_spec.hpp"

namespace kpid {
namespace {

using Json = nlohmann::ordered_json;

// Samples a year of 15-minute data needs, with room; more are cut from the oldest end.
constexpr std::size_t kMaxSamples = 10'000'000;

std::string_view EventName(rules::AlertEvent event) {
  switch (event) {
    case rules::AlertEvent::kFiring:
      return "firing";
    case rules::AlertEvent::kChanged:
      return "changed";
    case rules::AlertEvent::kResolved:
      return "resolved";
    default:
      return "";
  }
}

std::vector<std::string> Receivers(const config::Config& config, const rules::Labels& labels) {
  std::vector<std::string> out;
  for (std::size_t r : notify::MatchRoutes(config.routes, labels)) {
    for (const std::string& name : config.routes[r].receivers) {
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  }
  return out;
}

// A collected KPI's samples: those before `since` seed its windows, the rest are
// recorded as the replay reaches them.
struct Feed {
  std::string kpi;
  TimePoint from;  // where its history is read from
  std::vector<rules::Sample> samples;
  std::size_t next = 0;
  bool loaded = false;  // `samples` holds the history; else it is read again when replayed
};

// The histories read to plan the replay are kept for it up to this many samples (256 MB);
// beyond, each is read again when its KPI's turn comes and dropped after, so that memory
// stays bounded whatever the config and the time span.
constexpr std::size_t kKeptSamples = 16'000'000;

// A replay block holds at most this many KPIs (more when KPIs that read one another need
// more): its state stays in the CPU's caches while it steps through the whole history.
constexpr std::size_t kBlockKpis = 2;

// The KPIs that must step together (positions in config.kpis, ascending per group): each
// group holds every KPI that one of its KPIs reads, a derived KPI's inputs and KPIs named
// in its rules' expressions and templates. Names are found as rules::Expression finds
// variables: every word and each of its suffixes that could start an identifier, a
// superset.
std::vector<std::vector<std::size_t>> ReplayGroups(const config::Config& config) {
  const std::vector<config::Kpi>& kpis = config.kpis;
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < kpis.size(); ++i) index.emplace(kpis[i].name, i);
  std::vector<std::size_t> parent(kpis.size());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  auto scan = [&](std::size_t i, std::string_view text) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
    auto start = [](char c) {
      return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
    };
    for (std::size_t b = 0; b < text.size();) {
      if (!word(text[b])) {
        ++b;
        continue;
      }
      std::size_t e = b;
      while (e < text.size() && word(text[e])) ++e;
      for (std::size_t k = b; k < e; ++k) {
        if (!start(text[k])) continue;
        if (auto it = index.find(text.substr(k, e - k)); it != index.end()) {
          parent[root(it->second)] = root(i);
        }
      }
      b = e;
    }
  };
  for (std::size_t i = 0; i < kpis.size(); ++i) {
    if (kpis[i].expr) scan(i, kpis[i].expr->text);
    for (const config::Rule& rule : kpis[i].rules) {
      scan(i, rule.when.text);
      for (const auto* text : {&rule.recover_when, &rule.summary, &rule.description}) {
        if (*text) scan(i, (*text)->text);
      }
    }
  }
  std::map<std::size_t, std::vector<std::size_t>> groups;  // by root
  for (std::size_t i = 0; i < kpis.size(); ++i) groups[root(i)].push_back(i);
  std::vector<std::vector<std::size_t>> out;
  out.reserve(groups.size());
  for (auto& [r, members] : groups) out.push_back(std::move(members));
  return out;
}

// Groups packed into replay blocks of at most kBlockKpis KPIs (a larger group is a block of
// its own), each ascending.
std::vector<std::vector<std::size_t>> ReplayBlocks(const config::Config& config) {
  std::vector<std::vector<std::size_t>> blocks;
  for (const std::vector<std::size_t>& members : ReplayGroups(config)) {
    if (blocks.empty() || blocks.back().size() + members.size() > kBlockKpis) blocks.emplace_back();
    blocks.back().insert(blocks.back().end(), members.begin(), members.end());
  }
  for (auto& block : blocks) std::sort(block.begin(), block.end());
  return blocks;
}

// One alert of a replayed KPI: the receivers its routes give, per severity (info, warning,
// critical) and status (none, or one of kAllStatuses), on which alone its labels depend; and
// the escalation receivers told it fires, who hear its resolve too.
struct AlertRouting {
  static constexpr std::size_t kSeverities = 3;
  std::array<std::optional<std::vector<std::string>>, kSeverities*(rules::kAllStatuses.size() + 1)>
      receivers;
  std::vector<std::string> told;
};

// The median time between consecutive samples; nullopt with fewer than 2.
std::optional<rules::Duration> MedianGap(const std::vector<rules::Sample>& samples) {
  if (samples.size() < 2) return std::nullopt;
  std::vector<rules::Duration> gaps;
  gaps.reserve(samples.size() - 1);
  for (std::size_t i = 1; i < samples.size(); ++i)
    gaps.push_back(samples[i].at - samples[i - 1].at);
  auto middle = gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2);
  std::nth_element(gaps.begin(), middle, gaps.end());
  return *middle;
}

void FindFlaps(BacktestKpi& kpi) {
  const std::vector<BacktestStatus>& t = kpi.timeline;
  // The first entry starts with the replay, not with a change: it cannot be short-lived.
  for (std::size_t i = 1; i + 1 < t.size(); ++i) {
    const rules::Duration lasted = t[i + 1].at - t[i].at;
    if (!t[i].status.empty() && lasted < kpi.flap_window) {
      kpi.flaps.push_back({t[i].at, t[i].status, lasted});
    }
  }
}

std::string Time(TimePoint t) {
  return date::format("%F %R UTC", std::chrono::floor<std::chrono::seconds>(t));
}

std::string DurationText(rules::Duration d) {
  return config::FormatDuration(std::chrono::duration_cast<config::Duration>(d));
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Adds a goal event the daemon would tell (not a silent one) to its KPI's notifications.
void AddEvent(BacktestReport& report,
              const std::map<std::string, std::size_t, std::less<>>& reported, const Engine& engine,
              const config::Config& config, const GoalEvent& e, TimePoint t) {
  auto it = reported.find(e.kpi);
  const KpiView* view = engine.Find(e.kpi);
  if (e.silent || it == reported.end() || view == nullptr) return;
  const std::string alert = rules::GoalAlertId(e.kpi);
  rules::Labels labels;
  for (const AlertView& a : view->alerts) {
    if (a.id == alert) {
      labels =
          rules::AlertLabels(e.kpi, a.id, a.state.severity, a.state.status, view->config->labels);
    }
  }
  std::vector<std::string> receivers = Receivers(config, labels);
  std::vector<BacktestNotification>& list = report.kpis[it->second].notifications;
  if (e.kind == GoalEvent::Kind::kAchieved) {
    // The achieved message replaces the goal alert's resolve, to the same receivers.
    for (auto n = list.begin(); n != list.end(); ++n) {
      if (n->at != t || n->alert != alert || n->event != "resolved") continue;
      for (const std::string& r : n->receivers) {
        if (std::find(receivers.begin(), receivers.end(), r) == receivers.end()) {
          receivers.push_back(r);
        }
      }
      list.erase(n);
      break;
    }
  }
  const std::string status =
      view->evaluation.status ? std::string(rules::StatusName(*view->evaluation.status)) : "";
  list.push_back({t, alert, e.name, status, "info", e.value.value_or(std::nan("")),
                  notify::EventSummary(notify::GoalEventFacts(e, *view, config.evaluation.zone)),
                  std::move(receivers)});
}

}  // namespace

BacktestOptions ResolveBacktestOptions(const std::string& since, const std::string& until,
                                       const std::string& step, const std::string& only_kpi,
                                       const config::Config& config, TimePoint now) {
  auto at = [&](const std::string& text, TimePoint fallback) {
    auto parsed = rules::ParseTimeSpec(text);
    const auto* spec = std::get_if<rules::TimeSpec>(&parsed);
    if (spec == nullptr) return fallback;
    return TimePoint(rules::Resolve(*spec, config.evaluation.zone, rules::DayBound::kStart));
  };
  BacktestOptions options;
  options.until = until.empty() ? now : at(until, now);
  if (auto back = config::ParseDuration(since)) {
    options.since = options.until - *back;
  } else {
    options.since = at(since, options.until);
  }
  options.step = config.evaluation.interval;
  if (auto d = config::ParseDuration(step); d && *d > config::Duration::zero()) options.step = *d;
  if (!only_kpi.empty()) options.kpis = {only_kpi};
  return options;
}

std::vector<std::string> ReplayGroup(const config::Config& config, std::string_view kpi) {
  std::vector<std::string> out;
  for (const std::vector<std::size_t>& group : ReplayGroups(config)) {
    if (std::none_of(group.begin(), group.end(),
                     [&](std::size_t i) { return config.kpis[i].name == kpi; })) {
      continue;
    }
    for (std::size_t i : group) out.push_back(config.kpis[i].name);
  }
  return out;
}

BacktestReport Backtest(const std::shared_ptr<const config::Config>& config,
                        const HistoryReader& history, const BacktestOptions& options) {
  BacktestReport report;
  report.since = options.since;
  report.until = options.until;
  report.step = options.step;
  const auto reports = [&](std::string_view kpi) {
    return options.kpis.empty() ||
           std::find(options.kpis.begin(), options.kpis.end(), kpi) != options.kpis.end();
  };
  // The blocks to replay: those with a KPI to report. Others are not even read.
  std::vector<std::vector<std::size_t>> blocks = ReplayBlocks(*config);
  std::erase_if(blocks, [&](const std::vector<std::size_t>& block) {
    return std::none_of(block.begin(), block.end(),
                        [&](std::size_t i) { return reports(config->kpis[i].name); });
  });
  std::vector<bool> replayed(config->kpis.size());
  for (const auto& block : blocks) {
    for (std::size_t i : block) replayed[i] = true;
  }
  // The histories first: they decide the stale_after the replay uses.
  std::vector<Feed> feeds;
  std::map<std::string, rules::Duration, std::less<>> raised;  // KPI -> stale_after
  {
    Engine planner;
    planner.Apply(config);
    std::size_t kept = 0;
    for (std::size_t k = 0; k < config->kpis.size(); ++k) {
      const config::Kpi& kpi = config->kpis[k];
      // A derived KPI is computed from the others; one outside the blocks is not replayed.
      if (kpi.expr || !replayed[k]) continue;
      Feed& feed = feeds.emplace_back();
      feed.kpi = kpi.name;
      feed.from = planner.HistoryStart(kpi.name, options.since);
      feed.samples = history(kpi.name, feed.from, options.until);
      if (const auto gap = MedianGap(feed.samples); gap && *gap > kpi.stale_after) {
        raised[kpi.name] = 3 * *gap;
      }
      kept += feed.samples.size();
      feed.loaded = kept <= kKeptSamples;
      if (!feed.loaded) std::vector<rules::Sample>().swap(feed.samples);
    }
  }
  auto adjusted = std::make_shared<config::Config>(*config);
  rules::Duration largest{};
  for (const auto& [kpi, stale_after] : raised) largest = std::max(largest, stale_after);
  for (config::Kpi& kpi : adjusted->kpis) {
    if (auto it = raised.find(kpi.name); it != raised.end()) {
      kpi.stale_after = std::chrono::duration_cast<config::Duration>(it->second);
    } else if (kpi.expr && largest > kpi.stale_after) {
      kpi.stale_after = std::chrono::duration_cast<config::Duration>(largest);
      raised[kpi.name] = largest;
    }
  }
  Engine engine;
  engine.Apply(adjusted);
  // Rollovers of recurring goals read the history replayed so far, as the daemon reads its
  // store. `feeds` is complete: the lookups may point into it.
  engine.SetHistorySource([&feeds](const std::string& kpi) {
    SampleLookup lookup;
    auto it = std::find_if(feeds.begin(), feeds.end(), [&](const Feed& f) { return f.kpi == kpi; });
    if (it == feeds.end()) return lookup;
    const Feed* feed = &*it;
    auto fed = [feed] { return std::span<const rules::Sample>(feed->samples.data(), feed->next); };
    lookup.at_or_before = [fed](TimePoint t) -> std::optional<rules::Sample> {
      const std::span<const rules::Sample> s = fed();
      auto after = std::upper_bound(s.begin(), s.end(), t,
                                    [](TimePoint v, const rules::Sample& x) { return v < x.at; });
      if (after == s.begin()) return std::nullopt;
      return *(after - 1);
    };
    lookup.first_from = [fed](TimePoint t) -> std::optional<rules::Sample> {
      const std::span<const rules::Sample> s = fed();
      auto first = std::lower_bound(s.begin(), s.end(), t,
                                    [](const rules::Sample& x, TimePoint v) { return x.at < v; });
      if (first == s.end()) return std::nullopt;
      return *first;
    };
    return lookup;
  });

  std::map<std::string, std::size_t, std::less<>> reported;  // KPI -> index in report.kpis
  for (const config::Kpi& kpi : config->kpis) {
    if (!reports(kpi.name)) continue;
    reported.emplace(kpi.name, report.kpis.size());
    BacktestKpi& out = report.kpis.emplace_back();
    out.kpi = kpi.name;
    const rules::Duration goal_for = kpi.goal ? kpi.goal->for_duration : rules::Duration::zero();
    out.flap_window = goal_for > rules::Duration::zero() ? goal_for : 3 * options.step;
    if (auto it = raised.find(kpi.name); it != raised.end()) out.stale_after = it->second;
  }

  const std::vector<KpiView>& views = engine.kpis();
  std::vector<std::optional<std::size_t>> report_of(views.size());  // by view, in config order
  std::vector<Feed*> feed_of(views.size());
  {
    std::map<std::string_view, Feed*> by_name;
    for (Feed& feed : feeds) by_name.emplace(feed.kpi, &feed);
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (auto it = reported.find(views[i].config->name); it != reported.end()) {
        report_of[i] = it->second;
      }
      if (auto it = by_name.find(views[i].config->name); it != by_name.end()) {
        feed_of[i] = it->second;
      }
    }
  }
  for (TimePoint t = options.since; t <= options.until; t += options.step) ++report.evaluations;
  // Each block steps through the whole history on its own: the KPIs of one never read
  // those of another, so this judges each as stepping all together would, and a block
  // without a reported KPI cannot change the report.
  for (const std::vector<std::size_t>& block : blocks) {
    for (const std::size_t i : block) {
      Feed* feed = feed_of[i];
      if (feed == nullptr) continue;
      if (!feed->loaded) {
        feed->samples = history(feed->kpi, feed->from, options.until);
        feed->loaded = true;
      }
      const auto first_new =
          std::partition_point(feed->samples.begin(), feed->samples.end(),
                               [&](const rules::Sample& s) { return s.at <= options.since; });
      const std::span<const rules::Sample> seed(feed->samples.begin(), first_new);
      if (!seed.empty()) {
        engine.Seed(feed->kpi, seed, options.since);
        // Counts as collected from the start: the daemon would have been running.
        (void)engine.Record(feed->kpi, collectors::Sample{seed.back().value, seed.back().at});
      }
      feed->next = static_cast<std::size_t>(first_new - feed->samples.begin());
      if (report_of[i]) report.kpis[*report_of[i]].samples = feed->samples.size() - feed->next;
    }
    std::vector<std::optional<rules::Status>> last_status(block.size());
    std::vector<std::vector<AlertRouting>> routing(block.size());
    for (std::size_t b = 0; b < block.size(); ++b) routing[b].resize(views[block[b]].alerts.size());
    for (TimePoint t = options.since; t <= options.until; t += options.step) {
      for (const std::size_t i : block) {
        Feed* feed = feed_of[i];
        if (feed == nullptr) continue;
        while (feed->next < feed->samples.size() && feed->samples[feed->next].at <= t) {
          engine.RecordReplayed(i, feed->samples[feed->next++]);
        }
      }
      const Engine::Cycle cycle = engine.Evaluate(t, block);
      for (std::size_t b = 0; b < block.size(); ++b) {
        const std::size_t i = block[b];
        if (!report_of[i]) continue;
        BacktestKpi& out = report.kpis[*report_of[i]];
        const std::optional<rules::Status> status = views[i].evaluation.status;
        if (out.timeline.empty() || last_status[b] != status) {
          out.timeline.push_back({t, status ? std::string(rules::StatusName(*status)) : ""});
          last_status[b] = status;
        }
      }
      for (const AlertChange& change : cycle.changes) {
        if (!rules::Notifies(change.transition.event)) continue;
        std::size_t b = 0;
        while (b < block.size() && views[block[b]].config->name != change.kpi) ++b;
        if (b == block.size() || !report_of[block[b]]) continue;
        const KpiView& view = views[block[b]];
        std::size_t a = 0;
        while (a < view.alerts.size() && view.alerts[a].id != change.alert) ++a;
        if (a == view.alerts.size()) continue;
        AlertRouting& how = routing[b][a];
        const rules::Transition& tr = change.transition;
        auto& routed =
            how.receivers[static_cast<std::size_t>(tr.severity) * (rules::kAllStatuses.size() + 1) +
                          (tr.status ? static_cast<std::size_t>(*tr.status) + 1 : 0)];
        if (!routed) routed = Receivers(*config, change.labels);
        std::vector<std::string> receivers = *routed;
        // Escalation receivers in force at the transition; a resolve goes to those told.
        std::vector<std::string>& told = how.told;
        if (tr.event == rules::AlertEvent::kResolved) {
          for (const std::string& r : told) {
            if (std::find(receivers.begin(), receivers.end(), r) == receivers.end()) {
              receivers.push_back(r);
            }
          }
          told.clear();
        } else {
          for (const auto& [r, repeat] : notify::EscalationAt(view, t).repeat) {
            if (std::find(told.begin(), told.end(), r) == told.end()) told.push_back(r);
            if (std::find(receivers.begin(), receivers.end(), r) == receivers.end()) {
              receivers.push_back(r);
            }
          }
        }
        report.kpis[*report_of[block[b]]].notifications.push_back(
            {t, change.alert, std::string(EventName(tr.event)),
             tr.status ? std::string(rules::StatusName(*tr.status)) : "",
             std::string(rules::SeverityName(tr.severity)), change.variables.value, change.summary,
             std::move(receivers)});
      }
      for (const GoalEvent& e : cycle.events) AddEvent(report, reported, engine, *config, e, t);
    }
    // Replayed: the block's KPIs are not judged again.
    for (const std::size_t i : block) {
      if (Feed* feed = feed_of[i]) {
        std::vector<rules::Sample>().swap(feed->samples);
        feed->next = 0;
      }
    }
  }
  for (BacktestKpi& kpi : report.kpis) FindFlaps(kpi);
  return report;
}

void PrintBacktestText(const BacktestReport& report, std::ostream& out) {
  out << "kpid backtest: " << Time(report.since) << " to " << Time(report.until) << ", every "
      << DurationText(report.step) << ": " << report.evaluations
      << " evaluations; nothing was sent\n";
  for (const BacktestKpi& kpi : report.kpis) {
    out << '\n' << kpi.kpi << ": " << kpi.samples << (kpi.samples == 1 ? " sample" : " samples");
    if (kpi.stale_after) {
      out << " (history sparser than stale_after: judged with stale_after "
          << DurationText(*kpi.stale_after) << ")";
    }
    out << "\n  status:\n";
    for (const BacktestStatus& s : kpi.timeline) {
      out << "    " << Time(s.at) << "  " << (s.status.empty() ? "(not judged)" : s.status) << '\n';
    }
    out << "  would notify:" << (kpi.notifications.empty() ? " nothing" : "") << '\n';
    for (const BacktestNotification& n : kpi.notifications) {
      out << "    " << Time(n.at) << "  " << n.event << "  " << n.alert;
      if (!n.status.empty()) out << "  " << n.status;
      out << "  " << n.severity << "  value " << rules::FormatNumber(n.value) << "  -> "
          << (n.receivers.empty() ? "(no route matches)" : Joined(n.receivers)) << '\n';
      if (!n.summary.empty()) out << "      " << n.summary << '\n';
    }
    out << "  flaps (a status that lasted less than " << DurationText(kpi.flap_window)
        << "): " << kpi.flaps.size() << '\n';
    for (const BacktestFlap& f : kpi.flaps) {
      out << "    " << Time(f.at) << "  " << f.status << " for " << DurationText(f.lasted) << '\n';
    }
  }
}

void PrintBacktestJson(const BacktestReport& report, std::ostream& out) {
  auto seconds = [](rules::Duration d) { return std::chrono::duration<double>(d).count(); };
  Json kpis = Json::array();
  for (const BacktestKpi& kpi : report.kpis) {
    Json timeline = Json::array();
    for (const BacktestStatus& s : kpi.timeline) {
      timeline.push_back({{"at", api::FormatTime(s.at)},
                          {"status", s.status.empty() ? Json(nullptr) : Json(s.status)}});
    }
    Json notifications = Json::array();
    for (const BacktestNotification& n : kpi.notifications) {
      notifications.push_back({{"at", api::FormatTime(n.at)},
                               {"alert", n.alert},
                               {"event", n.event},
                               {"status", n.status.empty() ? Json(nullptr) : Json(n.status)},
                               {"severity", n.severity},
                               {"value", std::isfinite(n.value) ? Json(n.value) : Json(nullptr)},
                               {"summary", n.summary},
                               {"receivers", n.receivers}});
    }
    Json flaps = Json::array();
    for (const BacktestFlap& f : kpi.flaps) {
      flaps.push_back({{"at", api::FormatTime(f.at)},
                       {"status", f.status},
                       {"lasted_seconds", seconds(f.lasted)}});
    }
    kpis.push_back(
        {{"kpi", kpi.kpi},
         {"samples", kpi.samples},
         {"timeline", std::move(timeline)},
         {"notifications", std::move(notifications)},
         {"stale_after_seconds", kpi.stale_after ? Json(seconds(*kpi.stale_after)) : Json(nullptr)},
         {"flap_window_seconds", seconds(kpi.flap_window)},
         {"flaps", std::move(flaps)}});
  }
  out << Json{{"since", api::FormatTime(report.since)},
              {"until", api::FormatTime(report.until)},
              {"step_seconds", seconds(report.step)},
              {"evaluations", report.evaluations},
              {"kpis", std::move(kpis)}}
             .dump(2)
      << '\n';
}

int RunBacktest(const config::Config& config, const BacktestOptions& options, bool json,
                std::ostream& out, std::ostream& err) {
  for (const std::string& kpi : options.kpis) {
    if (config.FindKpi(kpi) != nullptr) continue;
    err << "kpid backtest: no KPI named \"" << kpi << "\" in " << config.path << '\n';
    return 1;
  }
  const std::string& path = config.storage.path;
  if (path == ":memory:" || !std::filesystem::exists(path)) {
    err << "kpid backtest: no stored history: [storage] path " << path
        << (path == ":memory:" ? " keeps nothing" : " does not exist") << '\n';
    return 1;
  }
  auto opened = store::Store::Open(path, store::Mode::kReadOnly);
  if (auto* error = std::get_if<store::Error>(&opened)) {
    err << "kpid backtest: cannot read the store: " << error->message << '\n';
    return 1;
  }
  const auto& store = std::get<std::unique_ptr<store::Store>>(opened);
  std::optional<std::string> failure;
  const HistoryReader history = [&](const std::string& kpi, TimePoint from, TimePoint until) {
    auto rows = store->Samples(kpi, from, until + std::chrono::milliseconds(1), kMaxSamples);
    if (auto* error = std::get_if<store::Error>(&rows)) {
      if (!failure) failure = error->message;
      return std::vector<rules::Sample>{};
    }
    return std::move(std::get<std::vector<rules::Sample>>(rows));
  };
  const BacktestReport report =
      Backtest(std::make_shared<const config::Config>(config), history, options);
  if (failure) {
    err << "kpid backtest: cannot read the store: " << *failure << '\n';
    return 1;
  }
  if (json) {
    PrintBacktestJson(report, out);
  } else {
    PrintBacktestText(report, out);
  }
  return 0;
}

}  // namespace kpid
