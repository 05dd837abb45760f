// Load(): TOML++ parse, then one pass per top-level section. Each section reports all of
// its problems; cross-references (sources, receivers, KPI names in expressions) are
// checked once every name is known.
#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include <date/tz.h>
#include <toml++/toml.h>

#include "daemon/config/config.hpp"
#include "daemon/config/reader.hpp"
#include "daemon/http/basic_auth.hpp"
#include "daemon/http/listen_address.hpp"
#include "daemon/http/tls_files.hpp"
#include "rules/expression.hpp"
#include "rules/template.hpp"

namespace kpid::config {
namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "MM-DD" with a day from 1 to 28.
std::optional<rules::MonthDay> ParseMonthDay(std::string_view text) {
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != '-' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return std::nullopt;
  }
  auto number = [&](std::size_t i) {
    return static_cast<unsigned>((text[i] - '0') * 10 + (text[i + 1] - '0'));
  };
  const rules::MonthDay day{number(0), number(3)};
  if (day.month < 1 || day.month > 12 || day.day < 1 || day.day > 28) return std::nullopt;
  return day;
}

bool IsValidObjectName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// Labels every alert carries; a KPI may not redefine them.
constexpr std::array<std::string_view, 4> kReservedLabels = {"kpi", "alert", "severity", "status"};

// The column of `offset` inside a single-line string value whose opening quote is at `at`.
Location InsideString(Location at, std::size_t offset) {
  return {at.line, at.column + 1 + static_cast<int>(offset)};
}

class Loader {
 public:
  Loader(const toml::table& root, Diagnostics& diags, const Extensions& ext, const EnvLookup& env)
      : root_(root), diags_(diags), ext_(ext), env_(env) {}

  Config Run() {
    TableReader top(root_, "the top level", diags_, env_);
    if (const toml::table* t = top.Table("server")) Server(*t);
    if (const toml::table* t = top.Table("storage")) Storage(*t);
    if (const toml::table* t = top.Table("evaluation")) Evaluation(*t);
    if (config_.evaluation.zone == nullptr) config_.evaluation.zone = date::locate_zone("UTC");
    for (const toml::table* t : top.Tables("source")) SourceTable(*t);
    for (const toml::table* t : top.Tables("receiver")) ReceiverTable(*t);
    std::vector<const toml::table*> kpi_tables = top.Tables("kpi");
    for (const toml::table* t : kpi_tables) KpiNames(*t);
    for (const toml::table* t : kpi_tables) KpiTable(*t);
    for (const toml::table* t : top.Tables("route")) RouteTable(*t);
    for (const toml::table* t : top.Tables("digest")) DigestTable(*t);
    for (const toml::table* t : top.Tables("silence")) SilenceTable(*t);
    top.Finish();
    OrderDerivedKpis();
    if (config_.server.external_url.empty()) {
      const std::string& host = config_.server.host;
      bool wildcard = host.empty() || host == "0.0.0.0" || host == "::";
      std::string shown = wildcard                              ? "localhost"
                          : host.find(':') != std::string::npos ? "[" + host + "]"
                                                                : host;
      const char* scheme = config_.server.tls_cert_file.empty() ? "http://" : "https://";
      config_.server.external_url = scheme + shown + ":" + std::to_string(config_.server.port);
    }
    return std::move(config_);
  }

 private:
  // --- [server], [storage], [evaluation] ---------------------------------------------

  void Server(const toml::table& t) {
    TableReader r(t, "[server]", diags_, env_);
    ServerConfig& s = config_.server;
    if (auto listen = r.String("listen")) {
      if (auto error = http::ParseListenAddress(*listen, &s.host, &s.port)) {
        r.Error("listen", "\"listen\": " + *error);
      } else {
        s.listen = *listen;
      }
    }
    if (auto file = r.String("auth_token_file")) {
      s.auth_token_file = *file;
      auto content = ReadSecretFile(*file);
      if (content.index() == 1) {
        r.Error("auth_token_file", "\"auth_token_file\": " + std::get<1>(content));
      } else if (std::get<0>(content).empty()) {
        r.Error("auth_token_file", "\"auth_token_file\": file \"" + *file + "\" is empty");
      } else {
        s.auth_token = Secret(std::move(std::get<0>(content)));
      }
    }
    if (auto url = r.String("external_url")) {
      if (!url->starts_with("http://") && !url->starts_with("https://")) {
        r.Error("external_url", "\"external_url\" must start with http:// or https://");
      } else {
        while (!url->empty() && url->back() == '/') url->pop_back();
        s.external_url = *url;
      }
    }
    ServerTls(r);
    if (const toml::table* users = r.Table("basic_auth_users")) BasicAuthUsers(*users);
    r.Finish();
  }

  void ServerTls(TableReader& r) {
    ServerConfig& s = config_.server;
    auto cert = r.String("tls_cert_file");
    auto key = r.String("tls_key_file");
    if (cert.has_value() != key.has_value()) {
      const char* given = cert ? "tls_cert_file" : "tls_key_file";
      const char* missing = cert ? "tls_key_file" : "tls_cert_file";
      r.Error(given, "\"" + std::string(given) + "\" needs \"" + missing +
                         "\" too: TLS takes a certificate and its private key");
      return;
    }
    if (!cert) return;
    if (cert->empty() || key->empty()) {
      r.Error(cert->empty() ? "tls_cert_file" : "tls_key_file", "TLS file path must not be empty");
      return;
    }
    if (auto bad = http::CheckTlsFiles(*cert, *key)) {
      const char* at =
          bad->file == http::TlsFileError::File::kCert ? "tls_cert_file" : "tls_key_file";
      r.Error(at, "\"" + std::string(at) + "\": " + bad->message);
      return;
    }
    s.tls_cert_file = *cert;
    s.tls_key_file = *key;
  }

  void BasicAuthUsers(const toml::table& t) {
    TableReader r(t, "[server.basic_auth_users]", diags_, env_);
    for (const auto& [name, node] : t) {
      const std::string user(name.str());
      std::optional<std::string> hash = r.Raw(user);
      if (!hash) continue;
      if (user.find(':') != std::string::npos) {
        r.Error(user,
                "user name " + Quote(user) + " must not contain ':' (basic auth splits there)");
      } else if (auto error = http::CheckBcryptHash(*hash)) {
        // The hash itself is not echoed: it is as good as a password to an offline attack.
        r.Error(user, "user " + Quote(user) + ": " + *error);
      } else {
        config_.server.basic_auth_users.emplace(user, std::move(*hash));
      }
    }
    r.Finish();
  }

  void Storage(const toml::table& t) {
    TableReader r(t, "[storage]", diags_, env_);
    if (auto path = r.String("path")) {
      if (path->empty()) {
        r.Error("path", "\"path\" must not be empty (use \":memory:\" for no persistence)");
      } else {
        config_.storage.path = *path;
      }
    }
    if (auto d = r.Dur("retention", Need::kOptional, 1h)) config_.storage.retention = *d;
    r.Finish();
  }

  void Evaluation(const toml::table& t) {
    TableReader r(t, "[evaluation]", diags_, env_);
    if (auto d = r.Dur("interval", Need::kOptional, 1s)) config_.evaluation.interval = *d;
    if (auto tz = r.Raw("timezone")) {
      try {
        const date::time_zone* zone = date::locate_zone(*tz);
        // The zone's rules load lazily from tzdata: load them here, where a broken
        // tzdata is a config error rather than a failure at evaluation time.
        (void)zone->get_info(std::chrono::system_clock::now());
        config_.evaluation.zone = zone;
        config_.evaluation.timezone = *tz;
      } catch (const std::exception&) {
        r.Error("timezone", "\"timezone\": unknown time zone " + Quote(*tz) +
                                "; expected an IANA name like \"Europe/Berlin\" or \"UTC\"");
      }
    }
    r.Finish();
  }

  // --- names -----------------------------------------------------------------------

  // Reads "name", checks its syntax and uniqueness among `seen`.
  std::optional<std::string> Name(TableReader& r, std::string_view what,
                                  std::map<std::string, Location, std::less<>>& seen,
                                  bool (*valid)(std::string_view), std::string_view rule) {
    std::optional<std::string> name = r.Raw("name", Need::kRequired);
    if (!name) return std::nullopt;
    if (!valid(*name)) {
      r.Error("name", std::string(what) + " name " + Quote(*name) + " is invalid; expected " +
                          std::string(rule));
      return std::nullopt;
    }
    auto [it, inserted] = seen.emplace(*name, r.Where("name"));
    if (!inserted) {
      r.Error("name", "duplicate " + std::string(what) + " name " + Quote(*name) +
                          " (first defined at line " + std::to_string(it->second.line) + ")");
      return std::nullopt;
    }
    return name;
  }

  template <typename Kind>
  const Kind* FindKind(const std::vector<std::pair<std::string, Kind>>& kinds,
                       std::string_view type) {
    for (const auto& [name, kind] : kinds) {
      if (name == type) return &kind;
    }
    return nullptr;
  }

  template <typename Kind>
  std::string KindList(const std::vector<std::pair<std::string, Kind>>& kinds) {
    std::string out;
    for (const auto& [name, kind] : kinds) {
      if (!out.empty()) out += ", ";
      out += name;
    }
    return out;
  }

  // --- [[source]] --------------------------------------------------------------------

  void SourceTable(const toml::table& t) {
    TableReader r(t, "[[source]]", diags_, env_);
    Source s;
    s.where = r.Here();
    std::optional<std::string> name =
        Name(r, "source", source_names_, IsValidObjectName, "letters, digits, _ . -");
    if (name) s.name = *name;
    if (auto d = r.Dur("timeout", Need::kOptional, 1ms)) s.timeout = *d;
    if (auto n = r.Integer("max_concurrency", Need::kOptional, 1, 1024)) {
      s.max_concurrency = static_cast<int>(*n);
    }
    std::optional<std::string> type = r.Raw("type", Need::kRequired);
    const SourceKind* kind = nullptr;
    if (type) {
      kind = FindKind(ext_.sources, *type);
      if (kind == nullptr) {
        r.Error("type", "unknown source type " + Quote(*type) + "; expected one of " +
                            KindList(ext_.sources));
      }
    }
    if (kind == nullptr) {
      r.ConsumeAll();
      return;
    }
    s.type = *type;
    s.settings = kind->parse_source(r);
    r.Finish();
    if (name) config_.sources.push_back(std::move(s));
  }

  // --- [[receiver]] ------------------------------------------------------------------

  void ReceiverTable(const toml::table& t) {
    TableReader r(t, "[[receiver]]", diags_, env_);
    Receiver rec;
    rec.where = r.Here();
    std::optional<std::string> name =
        Name(r, "receiver", receiver_names_, IsValidObjectName, "letters, digits, _ . -");
    if (name) rec.name = *name;
    if (auto d = r.Dur("timeout", Need::kOptional, 1ms)) rec.timeout = *d;
    std::optional<std::string> type = r.Raw("type", Need::kRequired);
    const ReceiverKind* kind = nullptr;
    if (type) {
      kind = FindKind(ext_.receivers, *type);
      if (kind == nullptr) {
        r.Error("type", "unknown receiver type " + Quote(*type) + "; expected one of " +
                            KindList(ext_.receivers));
      }
    }
    if (kind == nullptr) {
      r.ConsumeAll();
      return;
    }
    rec.type = *type;
    rec.settings = kind->parse(r);
    r.Finish();
    if (name) config_.receivers.push_back(std::move(rec));
  }

  // --- [[kpi]] -----------------------------------------------------------------------

  // First pass: every KPI name is known before any expression is checked.
  void KpiNames(const toml::table& t) {
    const toml::node* n = t.get("name");
    if (n != nullptr && n->is_string()) kpi_names_.insert(n->as_string()->get());
  }

  void KpiTable(const toml::table& t) {
    TableReader r(t, "[[kpi]]", diags_, env_);
    Kpi k;
    k.where = r.Here();
    std::optional<std::string> name =
        Name(r, "kpi", seen_kpis_, IsValidKpiName, "[a-z_][a-z0-9_]*");
    if (name) k.name = *name;
    if (name &&
        std::find(rules::kExpressionVariableNames.begin(), rules::kExpressionVariableNames.end(),
                  *name) != rules::kExpressionVariableNames.end()) {
      r.Error("name", "KPI name " + Quote(*name) +
                          " is an expression variable (value, delta, ...); choose another name");
    }
    k.title = r.String("title").value_or(k.name);
    k.unit = r.String("unit").value_or("");
    k.owner = r.String("owner").value_or("");
    if (auto labels = r.StringTable("labels", false)) {
      for (auto& [label, value] : *labels) {
        if (!IsValidLabelName(label) || label.starts_with("__")) {
          r.Error("labels",
                  "label name " + Quote(label) +
                      " is invalid; expected [a-zA-Z_][a-zA-Z0-9_]* not starting with __");
        } else if (std::find(kReservedLabels.begin(), kReservedLabels.end(), label) !=
                   kReservedLabels.end()) {
          r.Error("labels", "label " + Quote(label) + " is reserved (kpid sets it on every alert)");
        } else {
          k.labels.emplace_back(std::move(label), std::move(value));
        }
      }
    }
    k.interval = config_.evaluation.interval;
    if (auto d = r.Dur("interval", Need::kOptional, 1s)) k.interval = *d;
    k.stale_after = 3 * k.interval;
    if (auto d = r.Dur("stale_after", Need::kOptional, 1s)) k.stale_after = *d;

    std::optional<std::string> source = r.Raw("source");
    if (r.Has("expr")) {
      std::optional<std::string> expr = r.Raw("expr");
      if (source) {
        r.Error("expr", "a KPI has either \"source\" or \"expr\", not both");
        source.reset();
        r.ConsumeAll();
      } else if (expr) {
        k.expr = Located{*expr, r.Where("expr")};
        CheckExpression(*k.expr, name.value_or(""), /*derived=*/true);
      }
    } else if (!source) {
      r.ErrorHere("[[kpi]] " + Quote(k.name) +
                  " needs \"source\" (a [[source]] name) or \"expr\" (a derived KPI)");
    }
    bool kind_parsed = true;
    if (source) {
      const Source* s = config_.FindSource(*source);
      if (s == nullptr) {
        if (source_names_.contains(*source)) {
          // The source exists but is itself invalid; its error is already reported.
        } else {
          r.Error("source",
                  "unknown source " + Quote(*source) + "; define it in a [[source]] table");
        }
        kind_parsed = false;
      } else {
        k.source = *source;
        // Read only here, like the kind's keys: on a derived KPI it is an unknown key.
        // "never": the history is read only at start and at each reload.
        if (const toml::node* h = t.get("history_interval");
            h != nullptr && h->value<std::string_view>() == "never") {
          r.Raw("history_interval");
          k.history_interval = Duration::zero();
        } else if (auto d = r.Dur("history_interval", Need::kOptional, 1s)) {
          k.history_interval = *d;
        }
        const SourceKind* kind = FindKind(ext_.sources, s->type);
        k.collect = kind->parse_kpi(r, *s);
      }
    }
    if (const toml::table* goal = r.Table("goal")) GoalTable(*goal, k);
    std::map<std::string, Location, std::less<>> rule_names;
    for (const toml::table* rt : r.Tables("rule")) RuleTable(*rt, k, rule_names);
    LikelihoodRule(k, rule_names);
    if (kind_parsed) {
      r.Finish();
    } else {
      r.ConsumeAll();
    }
    if (name) config_.kpis.push_back(std::move(k));
  }

  void GoalTable(const toml::table& t, Kpi& k) {
    TableReader r(t, "[kpi.goal]", diags_, env_);
    Goal goal;
    goal.where = r.Here();
    bool deadline = r.Has("target") || r.Has("deadline") || r.Has("baseline") || r.Has("start") ||
                    r.Has("period");
    bool band = r.Has("min") || r.Has("max") || r.Has("warn_min") || r.Has("warn_max");
    if (deadline && band) {
      r.ErrorHere(
          "[kpi.goal] mixes a deadline goal (baseline, target, start, deadline) with a band "
          "goal (min, max, warn_min, warn_max); use one kind");
      r.ConsumeAll();
      return;
    }
    if (!deadline && !band) {
      r.ErrorHere(
          "[kpi.goal] needs either target, baseline, start and deadline (a deadline goal) or "
          "min and/or max (a band goal)");
      r.ConsumeAll();
      return;
    }
    bool ok = true;
    if (deadline) {
      DeadlineGoal g;
      const bool periodic = r.Has("period");
      if (periodic) {
        if (auto text = r.Raw("period")) {
          g.period = rules::ParsePeriodKind(*text);
          if (!g.period) {
            r.Error("period", "\"period\": " + Quote(*text) +
                                  " is not a period; expected week, month, quarter or year");
          }
        }
        ok = g.period.has_value();
      }
      if (r.Has("fiscal_year_start")) {
        if (auto text = r.Raw("fiscal_year_start")) {
          if (auto day = ParseMonthDay(*text)) {
            g.fiscal_year_start = *day;
          } else {
            r.Error("fiscal_year_start",
                    "\"fiscal_year_start\" must be MM-DD with a day from 01 to 28 (so that "
                    "every fiscal quarter starts on a date each month has), e.g. \"04-01\"");
            ok = false;
          }
          if (!periodic) {
            r.Error("fiscal_year_start", "\"fiscal_year_start\" needs \"period\"");
            ok = false;
          }
        } else {
          ok = false;
        }
      }
      std::optional<double> baseline;
      if (const toml::node* b = t.get("baseline"); b != nullptr && b->is_string()) {
        const std::optional<std::string> text = r.Raw("baseline");
        if (text != "carry") {
          r.Error("baseline", "\"baseline\" must be a number or \"carry\"");
        } else if (!periodic) {
          r.Error("baseline",
                  "baseline = \"carry\" needs \"period\": it carries the previous period's "
                  "closing value");
        } else {
          g.carry_baseline = true;
          baseline = 0;  // not used: each period's baseline comes from the data
        }
      } else {
        baseline = r.Number("baseline", Need::kRequired);
      }
      auto target = r.Number("target", Need::kRequired);
      std::optional<rules::TimeSpec> start;
      std::optional<rules::TimeSpec> end;
      if (periodic) {
        for (std::string_view key : {"start", "deadline"}) {
          if (!r.Has(key)) continue;
          (void)r.Time(key);
          r.Error(key, Quote(key) +
                           " cannot be used with \"period\": a recurring goal's start and "
                           "deadline are those of its current period");
          ok = false;
        }
      } else {
        start = r.Time("start", Need::kRequired);
        end = r.Time("deadline", Need::kRequired);
      }
      ok = ok && baseline && target && (periodic || (start && end));
      if (baseline && target && !g.carry_baseline && *baseline == *target) {
        r.Error("target",
                "\"target\" must differ from \"baseline\" (progress is measured between them)");
        ok = false;
      }
      if (start && end &&
          !(Instant(*start, rules::DayBound::kStart) < Instant(*end, rules::DayBound::kEnd))) {
        r.Error("deadline", "\"deadline\" must be after \"start\"");
        ok = false;
      }
      if (auto v = r.Number("at_risk")) g.at_risk = *v;
      if (auto v = r.Number("off_track")) g.off_track = *v;
      if (g.at_risk < 0 || g.off_track < 0) {
        r.Error(r.Has("at_risk") ? "at_risk" : "off_track",
                "\"at_risk\" and \"off_track\" must not be negative");
        ok = false;
      } else if (g.at_risk > g.off_track) {
        r.Error("at_risk", "\"at_risk\" (" + FormatNumber(g.at_risk) +
                               ") must not exceed \"off_track\" (" + FormatNumber(g.off_track) +
                               ")");
        ok = false;
      }
      if (auto d = r.Dur("forecast_window", Need::kOptional, 1s)) g.forecast_window = *d;
      if (auto b = r.Bool("use_forecast")) g.use_forecast = *b;
      if (auto v = r.Number("notify_when_likelihood_below")) {
        if (*v > 0 && *v <= 1) {
          g.likelihood_below = *v;
          g.likelihood_below_where = r.Where("notify_when_likelihood_below");
        } else {
          r.Error("notify_when_likelihood_below",
                  "\"notify_when_likelihood_below\" must be a probability in (0, 1], e.g. 0.5");
          ok = false;
        }
      }
      if (ok) {
        g.baseline = *baseline;
        g.target = *target;
        if (!periodic) {
          g.start = *start;
          g.deadline = *end;
        }
      }
      if (auto events = r.NumberList("progress_events")) {
        const toml::array* array = t.get("progress_events")->as_array();
        bool events_ok = true;
        for (std::size_t i = 0; i < events->size() && events_ok; ++i) {
          const double v = (*events)[i];
          const Location where = LocationOf(array->get(i)->source());
          if (!(v > 0 && v <= 1)) {
            diags_.Error(where, "\"progress_events\": " + FormatNumber(v) +
                                    " is not a fraction of the goal in (0, 1], e.g. 0.5 for 50 %");
            events_ok = false;
          } else if (i > 0 && !(v > (*events)[i - 1])) {
            diags_.Error(where, "\"progress_events\" must be strictly increasing: " +
                                    FormatNumber(v) + " follows " + FormatNumber((*events)[i - 1]));
            events_ok = false;
          }
        }
        if (events_ok) {
          g.progress_events = std::move(*events);
        } else {
          ok = false;
        }
      } else if (r.Has("progress_events")) {
        ok = false;
      }
      for (const toml::table* mt : r.Tables("milestone")) {
        TableReader m(*mt, "[[kpi.goal.milestone]]", diags_, env_);
        if (periodic) {
          m.ErrorHere(
              "a recurring goal (\"period\") cannot have milestones: they name fixed dates");
          m.ConsumeAll();
          ok = false;
          continue;
        }
        auto at = m.Time("at", Need::kRequired);
        auto value = m.Number("value", Need::kRequired);
        m.Finish();
        if (!at || !value || !ok) continue;
        auto when = Instant(*at, rules::DayBound::kEnd);
        if (!(Instant(g.start, rules::DayBound::kStart) < when &&
              when < Instant(g.deadline, rules::DayBound::kEnd))) {
          m.Error("at", "milestone \"at\" must lie strictly between the goal's start and deadline");
          continue;
        }
        if (!g.milestones.empty() &&
            !(Instant(g.milestones.back().at, rules::DayBound::kEnd) < when)) {
          m.Error("at", "milestones must be in time order, each after the one before");
          continue;
        }
        g.milestones.push_back({*at, *value, m.Here()});
      }
      for (const toml::table* et : r.Tables("escalate")) {
        TableReader e(*et, "[[kpi.goal.escalate]]", diags_, env_);
        Escalation esc;
        esc.where = e.Here();
        auto within = e.Dur("within", Need::kRequired, 1s);
        bool entry_ok = within.has_value();
        entry_ok = Receivers(e, esc.receivers) && entry_ok;
        if (auto d = e.Dur("repeat_interval", Need::kOptional, 1s)) {
          esc.repeat_interval = *d;
        } else if (e.Has("repeat_interval")) {
          entry_ok = false;
        }
        e.Finish();
        if (!entry_ok) {
          ok = false;
          continue;
        }
        esc.within = *within;
        g.escalations.push_back(std::move(esc));
      }
      goal.kind = std::move(g);
      goal.notify_on = {rules::Status::kOffTrack, rules::Status::kMissed, rules::Status::kNoData};
    } else {
      BandGoal g;
      g.min = r.Number("min");
      g.max = r.Number("max");
      g.warn_min = r.Number("warn_min");
      g.warn_max = r.Number("warn_max");
      if (!g.min && !g.max) {
        r.ErrorHere("a band goal needs \"min\", \"max\" or both");
        ok = false;
      }
      // Bounds must nest: min <= warn_min <= warn_max <= max.
      std::vector<std::pair<std::string_view, std::optional<double>>> order = {
          {"min", g.min}, {"warn_min", g.warn_min}, {"warn_max", g.warn_max}, {"max", g.max}};
      std::optional<std::pair<std::string_view, double>> prev;
      for (const auto& [key, value] : order) {
        if (!value) continue;
        if (prev && *value < prev->second) {
          r.Error(key, Quote(key) + " (" + FormatNumber(*value) + ") must not be below " +
                           Quote(prev->first) + " (" + FormatNumber(prev->second) + ")");
          ok = false;
        }
        prev = std::make_pair(key, *value);
      }
      for (const toml::table* et : r.Tables("escalate")) {
        TableReader e(*et, "[[kpi.goal.escalate]]", diags_, env_);
        e.ErrorHere(
            "a band goal has no deadline to escalate before; [[kpi.goal.escalate]] needs a "
            "deadline goal (target and deadline, or period)");
        e.ConsumeAll();
        ok = false;
      }
      goal.kind = g;
      goal.notify_on = {rules::Status::kOffTrack, rules::Status::kNoData};
    }
    if (auto statuses = r.StringList("notify_on")) {
      goal.notify_on.clear();
      for (const std::string& s : *statuses) {
        std::optional<rules::Status> status = rules::ParseStatus(s);
        if (!status || *status == rules::Status::kOnTrack || *status == rules::Status::kAchieved) {
          r.Error("notify_on", "\"notify_on\": " + Quote(s) +
                                   " is not a status that alerts; expected at_risk, off_track, "
                                   "missed or no_data");
          ok = false;
        } else if (std::find(goal.notify_on.begin(), goal.notify_on.end(), *status) ==
                   goal.notify_on.end()) {
          goal.notify_on.push_back(*status);
        }
      }
    }
    if (auto d = r.Dur("for")) goal.for_duration = *d;
    r.Finish();
    if (ok) k.goal = std::move(goal);
  }

  // The rule a deadline goal's notify_when_likelihood_below stands for.
  void LikelihoodRule(Kpi& k, const std::map<std::string, Location, std::less<>>& rule_names) {
    if (!k.goal) return;
    const auto* g = std::get_if<DeadlineGoal>(&k.goal->kind);
    if (g == nullptr || !g->likelihood_below) return;
    if (auto taken = rule_names.find("likelihood"); taken != rule_names.end()) {
      diags_.Error(taken->second,
                   "rule name \"likelihood\" is taken by the goal's "
                   "\"notify_when_likelihood_below\"; rename the rule");
      return;
    }
    Rule rule;
    rule.name = "likelihood";
    rule.where = g->likelihood_below_where;
    rule.when = {"likelihood < " + FormatNumber(*g->likelihood_below), rule.where};
    rule.for_duration = k.goal->for_duration;
    rule.severity = rules::Severity::kWarning;
    rule.summary = Located{
        "{{title}} is unlikely to reach its target by the deadline (likelihood {{likelihood}}, "
        "forecast {{forecast}})",
        rule.where};
    k.rules.push_back(std::move(rule));
  }

  void RuleTable(const toml::table& t, Kpi& k,
                 std::map<std::string, Location, std::less<>>& names) {
    TableReader r(t, "[[kpi.rule]]", diags_, env_);
    Rule rule;
    rule.where = r.Here();
    auto name = Name(r, "rule", names, IsValidKpiName, "[a-z_][a-z0-9_]*");
    if (name && *name == "goal") {
      r.Error("name", "rule name \"goal\" is reserved for the goal's own alert");
      name.reset();
    }
    bool ok = name.has_value();
    if (auto when = r.Raw("when", Need::kRequired)) {
      rule.when = {*when, r.Where("when")};
      ok = CheckExpression(rule.when, k.name, false) && ok;
    } else {
      ok = false;
    }
    if (auto recover = r.Raw("recover_when")) {
      rule.recover_when = Located{*recover, r.Where("recover_when")};
      ok = CheckExpression(*rule.recover_when, k.name, false) && ok;
    }
    if (auto d = r.Dur("for")) rule.for_duration = *d;
    if (auto severity = r.Raw("severity")) {
      if (auto s = rules::ParseSeverity(*severity)) {
        rule.severity = *s;
      } else {
        r.Error("severity",
                "unknown severity " + Quote(*severity) + "; expected info, warning or critical");
        ok = false;
      }
    }
    for (std::string_view key : {"summary", "description"}) {
      auto text = r.Raw(key);
      if (!text) continue;
      Located located{*text, r.Where(key)};
      ok = CheckTemplate(located, k) && ok;
      (key == "summary" ? rule.summary : rule.description) = std::move(located);
    }
    r.Finish();
    if (ok) {
      rule.name = *name;
      k.rules.push_back(std::move(rule));
    }
  }

  // --- expressions and templates -------------------------------------------------------

  bool CheckExpression(const Located& expr, const std::string& self, bool derived) {
    // One set per kind, built once: a config can have 100,000 KPIs.
    std::optional<rules::VariableSet>& cached = derived ? derived_vars_ : rule_vars_;
    if (!cached) {
      std::vector<std::string> names(kpi_names_.begin(), kpi_names_.end());
      if (!derived) {
        for (std::string_view v : rules::kExpressionVariableNames) names.emplace_back(v);
      }
      cached.emplace(names);
    }
    auto compiled = rules::Expression::Compile(expr.text, *cached);
    if (auto* error = std::get_if<rules::ParseError>(&compiled)) {
      diags_.Error(InsideString(expr.where, error->offset), "expression: " + error->message);
      return false;
    }
    if (derived) {
      const std::vector<std::string>& used = std::get<rules::Expression>(compiled).UsedVariables();
      if (std::find(used.begin(), used.end(), self) != used.end()) {
        diags_.Error(expr.where,
                     "expression: derived KPI " + Quote(self) + " cannot use its own value");
        return false;
      }
      derived_uses_[self] = used;
    }
    return true;
  }

  bool CheckTemplate(const Located& text, const Kpi& k) {
    auto parsed = rules::Template::Parse(text.text);
    if (auto* error = std::get_if<rules::ParseError>(&parsed)) {
      diags_.Error(InsideString(text.where, error->offset), "template: " + error->message);
      return false;
    }
    static constexpr std::array<std::string_view, 9> kFields = {
        "kpi", "title", "unit", "owner", "status", "severity", "alert", "rule", "labels"};
    bool ok = true;
    for (const std::string& name : std::get<rules::Template>(parsed).Names()) {
      auto vars = rules::kExpressionVariableNames;
      bool known = std::find(vars.begin(), vars.end(), name) != vars.end() ||
                   std::find(kFields.begin(), kFields.end(), name) != kFields.end() ||
                   kpi_names_.contains(name) ||
                   std::any_of(k.labels.begin(), k.labels.end(),
                               [&](const auto& l) { return l.first == name; });
      if (!known) {
        std::size_t offset = text.text.find(name);
        diags_.Error(InsideString(text.where, offset == std::string::npos ? 0 : offset),
                     "template: unknown placeholder {{" + name +
                         "}}; expected an expression variable, a KPI name, a label of this KPI "
                         "or one of kpi, title, unit, owner, status, severity, alert, rule");
        ok = false;
      }
    }
    return ok;
  }

  // Derived KPIs are evaluated in dependency order: sort them after the KPIs they use and
  // report cycles at the expression that closes them.
  void OrderDerivedKpis() {
    std::map<std::string, int, std::less<>> state;  // 0 new, 1 visiting, 2 done
    std::vector<Kpi> ordered;
    std::map<std::string, Kpi*, std::less<>> by_name;
    for (Kpi& k : config_.kpis) by_name[k.name] = &k;
    std::vector<std::string> stack;
    std::set<std::string, std::less<>> in_cycle;
    std::function<void(Kpi&)> visit = [&](Kpi& k) {
      int& s = state[k.name];
      if (s == 2) return;
      if (s == 1) {
        auto it = std::find(stack.begin(), stack.end(), k.name);
        std::string path;
        for (auto p = it; p != stack.end(); ++p) path += *p + " -> ";
        path += k.name;
        if (!in_cycle.contains(k.name)) {
          diags_.Error(k.expr ? k.expr->where : k.where, "derived KPIs form a cycle: " + path);
          for (auto p = it; p != stack.end(); ++p) in_cycle.insert(*p);
        }
        return;
      }
      s = 1;
      stack.push_back(k.name);
      if (auto uses = derived_uses_.find(k.name); uses != derived_uses_.end()) {
        for (const std::string& dep : uses->second) {
          if (auto d = by_name.find(dep); d != by_name.end()) visit(*d->second);
        }
      }
      stack.pop_back();
      state[k.name] = 2;
      ordered.push_back(k);
    };
    for (Kpi& k : config_.kpis) visit(k);
    config_.kpis = std::move(ordered);
  }

  // --- [[route]], [[digest]], [[silence]] ---------------------------------------------

  std::vector<Matcher> Matchers(TableReader& r, bool& ok) {
    std::vector<Matcher> out;
    if (auto match = r.StringTable("match", false)) {
      for (auto& [label, value] : *match) out.push_back({label, value, std::nullopt});
    }
    if (auto match = r.StringTable("match_re", false)) {
      for (auto& [label, value] : *match) {
        try {
          // Anchored like Alertmanager: the whole label value must match.
          out.push_back({label, value, std::regex("^(?:" + value + ")$", std::regex::ECMAScript)});
        } catch (const std::regex_error& e) {
          r.Error("match_re", "\"match_re\"." + label + ": invalid regular expression " +
                                  Quote(value) + ": " + e.what());
          ok = false;
        }
      }
    }
    for (const Matcher& m : out) {
      if (!IsValidLabelName(m.label)) {
        r.Error(m.regex ? "match_re" : "match", "label name " + Quote(m.label) + " is invalid");
        ok = false;
      }
    }
    return out;
  }

  bool Receivers(TableReader& r, std::vector<std::string>& out) {
    auto names = r.StringList("receivers", Need::kRequired);
    if (!names) return false;
    if (names->empty()) {
      r.Error("receivers", "\"receivers\" must name at least one [[receiver]]");
      return false;
    }
    bool ok = true;
    for (const std::string& n : *names) {
      if (!receiver_names_.contains(n)) {
        r.Error("receivers",
                "unknown receiver " + Quote(n) + "; define it in a [[receiver]] table");
        ok = false;
      }
    }
    out = std::move(*names);
    return ok;
  }

  void RouteTable(const toml::table& t) {
    TableReader r(t, "[[route]]", diags_, env_);
    Route route;
    route.where = r.Here();
    bool ok = true;
    route.matchers = Matchers(r, ok);
    ok = Receivers(r, route.receivers) && ok;
    if (auto b = r.Bool("continue")) route.continue_matching = *b;
    if (auto labels = r.StringList("group_by")) {
      for (const std::string& l : *labels) {
        if (l != "..." && !IsValidLabelName(l)) {
          r.Error("group_by", "label name " + Quote(l) + " is invalid");
          ok = false;
        }
      }
      route.group_by = std::move(*labels);
    }
    if (auto d = r.Dur("group_wait")) route.group_wait = *d;
    if (auto d = r.Dur("group_interval", Need::kOptional, 1s)) route.group_interval = *d;
    // "never": a firing alert is told once (and again only when its status changes).
    if (auto text = r.Raw("repeat_interval"); text && *text == "never") {
      route.repeat_interval = Duration::zero();
    } else if (text) {
      if (auto d = r.Dur("repeat_interval", Need::kOptional, 1s)) route.repeat_interval = *d;
    }
    if (auto b = r.Bool("send_resolved")) route.send_resolved = *b;
    if (auto text = r.Raw("active_time")) {
      auto parsed = rules::ActiveTime::Parse(*text);
      if (auto* error = std::get_if<rules::ParseError>(&parsed)) {
        diags_.Error(InsideString(r.Where("active_time"), error->offset),
                     "\"active_time\": " + error->message);
        ok = false;
      } else {
        route.active_time = std::get<rules::ActiveTime>(std::move(parsed));
        route.active_time_text = *text;
      }
    }
    r.Finish();
    if (ok) config_.routes.push_back(std::move(route));
  }

  void DigestTable(const toml::table& t) {
    TableReader r(t, "[[digest]]", diags_, env_);
    Digest d;
    d.where = r.Here();
    auto name = Name(r, "digest", digest_names_, IsValidObjectName, "letters, digits, _ . -");
    bool ok = name.has_value();
    if (auto text = r.Raw("schedule", Need::kRequired)) {
      auto parsed = rules::CronSchedule::Parse(*text);
      if (auto* error = std::get_if<rules::ParseError>(&parsed)) {
        diags_.Error(InsideString(r.Where("schedule"), error->offset),
                     "\"schedule\": " + error->message);
        ok = false;
      } else {
        d.schedule = std::get<rules::CronSchedule>(std::move(parsed));
        d.schedule_text = *text;
      }
    } else {
      ok = false;
    }
    ok = Receivers(r, d.receivers) && ok;
    for (const std::string& receiver_name : d.receivers) {
      // Alertmanager takes alerts; a status report has no place there.
      const Receiver* receiver = config_.FindReceiver(receiver_name);
      if (receiver != nullptr && receiver->type == "alertmanager") {
        r.Error("receivers", "receiver " + Quote(receiver_name) +
                                 " is an alertmanager receiver, which takes alerts, not digests; "
                                 "use an email, slack, webhook or file receiver");
        ok = false;
      }
    }
    d.matchers = Matchers(r, ok);
    d.title = r.String("title").value_or("");
    r.Finish();
    if (ok) {
      d.name = *name;
      config_.digests.push_back(std::move(d));
    }
  }

  void SilenceTable(const toml::table& t) {
    TableReader r(t, "[[silence]]", diags_, env_);
    Silence s;
    s.where = r.Here();
    bool ok = true;
    s.matchers = Matchers(r, ok);
    if (ok && s.matchers.empty()) {
      r.ErrorHere(
          "[[silence]] needs \"match\" or \"match_re\" (a silence must not match every alert)");
      ok = false;
    }
    auto starts = r.Time("starts", Need::kRequired);
    auto ends = r.Time("ends", Need::kRequired);
    if (starts && ends) {
      if (!(Instant(*starts, rules::DayBound::kStart) < Instant(*ends, rules::DayBound::kStart))) {
        r.Error("ends", "\"ends\" must be after \"starts\"");
        ok = false;
      }
      s.starts = *starts;
      s.ends = *ends;
    } else {
      ok = false;
    }
    s.comment = r.String("comment").value_or("");
    s.created_by = r.String("created_by").value_or("config");
    r.Finish();
    if (ok) config_.silences.push_back(std::move(s));
  }

  // --- helpers -----------------------------------------------------------------------

  std::chrono::sys_time<std::chrono::milliseconds> Instant(const rules::TimeSpec& spec,
                                                           rules::DayBound bound) const {
    return rules::Resolve(spec, config_.evaluation.zone, bound);
  }

  static std::string FormatNumber(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

  const toml::table& root_;
  Diagnostics& diags_;
  const Extensions& ext_;
  const EnvLookup& env_;
  Config config_;
  std::map<std::string, Location, std::less<>> source_names_, receiver_names_, digest_names_,
      seen_kpis_;
  std::set<std::string, std::less<>> kpi_names_;
  std::optional<rules::VariableSet> derived_vars_;  // KPI names
  std::optional<rules::VariableSet> rule_vars_;     // KPI names and the KPI variables
  std::map<std::string, std::vector<std::string>, std::less<>> derived_uses_;
};

LoadResult Finish(Diagnostics& diags, Config config) {
  LoadResult result;
  if (diags.empty()) {
    result.config = std::move(config);
  } else {
    result.errors = diags.Sorted();
  }
  return result;
}

}  // namespace

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsValidKpiName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = c == '_' || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool Matcher::Matches(const std::string& actual) const {
  if (regex) return std::regex_match(actual, *regex);
  return actual == value;
}

bool MatchesAll(const std::vector<Matcher>& matchers, const Labels& labels) {
  return std::all_of(matchers.begin(), matchers.end(), [&](const Matcher& m) {
    const auto it = std::find_if(labels.begin(), labels.end(),
                                 [&](const auto& label) { return label.first == m.label; });
    return m.Matches(it == labels.end() ? std::string() : it->second);
  });
}

const Source* Config::FindSource(std::string_view name) const {
  for (const Source& s : sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const Kpi* Config::FindKpi(std::string_view name) const {
  for (const Kpi& k : kpis) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const Receiver* Config::FindReceiver(std::string_view name) const {
  for (const Receiver& r : receivers) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

LoadResult LoadFromString(std::string_view text, const std::string& path,
                          const Extensions& extensions, const EnvLookup& env) {
  Diagnostics diags(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    diags.Error(LocationOf(e.source()), "invalid TOML: " + std::string(e.description()));
    return Finish(diags, Config{});
  }
  Loader loader(root, diags, extensions, env);
  Config config = loader.Run();
  config.path = path;
  return Finish(diags, std::move(config));
}

LoadResult Load(const std::string& path, const Extensions& extensions, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Diagnostics diags(path);
    diags.Error({0, 0},
                std::string("cannot read config file: ") + std::generic_category().message(errno));
    return Finish(diags, Config{});
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return LoadFromString(buf.str(), path, extensions, env);
}

}  // namespace kpid::config
