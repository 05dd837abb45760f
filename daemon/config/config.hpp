// The typed configuration (DESIGN.md "Config"). Built only by Load(); every value in it has
// been validated, references resolved and defaults filled in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/config/diagnostics.hpp"
#include "daemon/config/duration.hpp"
#include "daemon/config/expand.hpp"
#include "daemon/config/secret.hpp"
#include "rules/active_time.hpp"
#include "rules/cron.hpp"
#include "rules/goal.hpp"
#include "rules/status.hpp"
#include "rules/time_spec.hpp"

namespace date {
class time_zone;
}

namespace kpid::config {

using namespace std::chrono_literals;

using Labels = std::vector<std::pair<std::string, std::string>>;
using StringPairs = std::vector<std::pair<std::string, std::string>>;

// Keys a plugin (collector kind, receiver kind) parsed from its own table. Each plugin
// derives its own settings type and downcasts in its factory.
struct KindSettings {
  virtual ~KindSettings() = default;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:9464";
  std::string host = "127.0.0.1";
  std::uint16_t port = 9464;
  std::string auth_token_file;
  std::optional<Secret> auth_token;  // read from auth_token_file at load
  std::string external_url;          // base of links in notifications; default http://listen
  // PEM files; both or neither. Checked (readable, key matches) at load.
  std::string tls_cert_file;
  std::string tls_key_file;
  // [server.basic_auth_users]: user -> bcrypt hash, each checked at load.
  std::map<std::string, std::string, std::less<>> basic_auth_users;
};

struct StorageConfig {
  std::string path = "/var/lib/kpid/kpid.db";
  Duration retention = 400 * 24h;
};

struct EvaluationConfig {
  Duration interval = 1min;
  std::string timezone = "UTC";
  const date::time_zone* zone = nullptr;  // resolved from tzdata; never null after Load()
};

struct Source {
  std::string name;
  std::string type;  // a registered collector kind: sql, http, csv
  Location where;
  Duration timeout = 10s;
  int max_concurrency = 4;
  std::shared_ptr<const KindSettings> settings;
};

struct Milestone {
  rules::TimeSpec at;
  double value = 0;
  Location where;
};

// [[kpi.goal.escalate]]: while the goal is off_track or missed and the deadline is at most
// `within` away (or past), the KPI's alerts also go to `receivers`, repeated every
// `repeat_interval` (the shortest of the active entries naming a receiver).
struct Escalation {
  Duration within = 0s;
  std::vector<std::string> receivers;
  Duration repeat_interval = 1h;
  Location where;
};

struct DeadlineGoal {
  double baseline = 0;
  double target = 0;
  rules::TimeSpec start;
  rules::TimeSpec deadline;
  double at_risk = 0.05;
  double off_track = 0.15;
  Duration forecast_window = 30 * 24h;
  bool use_forecast = false;
  std::vector<Milestone> milestones;  // in time order
  // notify_when_likelihood_below: the loader adds a rule named "likelihood" that fires
  // while the likelihood of reaching the target in time is below this.
  std::optional<double> likelihood_below;
  Location likelihood_below_where;
  // A recurring goal (period = "month", ...): start and deadline are the current period's,
  // not configured, and there are no milestones.
  std::optional<rules::PeriodKind> period;
  rules::MonthDay fiscal_year_start;
  // baseline = "carry": each period starts from the previous period's closing value.
  bool carry_baseline = false;
  std::vector<Escalation> escalations;
  // progress_events: the fractions of the goal whose first crossing is told, each once (per
  // period); strictly increasing, each in (0, 1]. Empty: none.
  std::vector<double> progress_events = {0.25, 0.5, 0.75, 1.0};
};

struct BandGoal {
  std::optional<double> min;
  std::optional<double> max;
  std::optional<double> warn_min;
  std::optional<double> warn_max;
};

struct Goal {
  std::variant<DeadlineGoal, BandGoal> kind;
  std::vector<rules::Status> notify_on;
  Duration for_duration = 0s;
  Location where;
};

// Text of an expression or template with the place of its first character in the file.
struct Located {
  std::string text;
  Location where;
};

struct Rule {
  std::string name;
  Located when;
  std::optional<Located> recover_when;
  Duration for_duration = 0s;
  rules::Severity severity = rules::Severity::kWarning;
  std::optional<Located> summary;
  std::optional<Located> description;
  Location where;
};

struct Kpi {
  std::string name;
  std::string title;  // defaults to name
  std::string unit;
  std::string owner;
  Labels labels;
  std::string source;           // empty for a derived KPI
  std::optional<Located> expr;  // derived KPI
  Duration interval = 1min;     // collection interval
  Duration stale_after = 3min;  // default 3 x interval
  // How often the history is re-read; zero ("never"): only at start and at each reload.
  Duration history_interval = 1h;
  std::optional<Goal> goal;
  std::vector<Rule> rules;
  std::shared_ptr<const KindSettings> collect;  // the source kind's per-KPI keys
  Location where;
};

struct Matcher {
  std::string label;
  std::string value;                // exact value, or the regex source for match_re
  std::optional<std::regex> regex;  // anchored, set for match_re

  bool Matches(const std::string& actual) const;
};

// Whether every matcher holds on `labels` (routes, digests, silences); a label that
// `labels` lacks reads as "".
[[nodiscard]] bool MatchesAll(const std::vector<Matcher>& matchers, const Labels& labels);

struct Route {
  std::vector<Matcher> matchers;
  std::vector<std::string> receivers;
  bool continue_matching = false;
  std::vector<std::string> group_by;
  Duration group_wait = 30s;
  Duration group_interval = 5min;
  Duration repeat_interval = 4h;  // zero: "never"
  bool send_resolved = true;
  std::optional<rules::ActiveTime> active_time;
  std::string active_time_text;
  Location where;
};

struct Receiver {
  std::string name;
  std::string type;  // a registered receiver kind
  Duration timeout = 10s;
  std::shared_ptr<const KindSettings> settings;
  Location where;
};

struct Digest {
  std::string name;
  std::string schedule_text;
  std::optional<rules::CronSchedule> schedule;  // set by Load()
  std::vector<std::string> receivers;
  std::vector<Matcher> matchers;
  std::string title;
  Location where;
};

struct Silence {
  std::vector<Matcher> matchers;
  rules::TimeSpec starts;
  rules::TimeSpec ends;
  std::string comment;
  std::string created_by;
  Location where;
};

struct Config {
  std::string path;
  ServerConfig server;
  StorageConfig storage;
  EvaluationConfig evaluation;
  std::vector<Source> sources;
  std::vector<Kpi> kpis;  // derived KPIs after the KPIs they use
  std::vector<Route> routes;
  std::vector<Receiver> receivers;
  std::vector<Digest> digests;
  std::vector<Silence> silences;

  const Source* FindSource(std::string_view name) const;
  const Kpi* FindKpi(std::string_view name) const;
  const Receiver* FindReceiver(std::string_view name) const;
};

class TableReader;

// A collector kind parses its own keys of [[source]] and of each [[kpi]] using it. The
// parsers validate (no network, no blocking I/O besides reading secret files) and
// report problems through the reader.
struct SourceKind {
  std::function<std::shared_ptr<const KindSettings>(TableReader&)> parse_source;
  std::function<std::shared_ptr<const KindSettings>(TableReader&, const Source&)> parse_kpi;
};

struct ReceiverKind {
  std::function<std::shared_ptr<const KindSettings>(TableReader&)> parse;
};

// The plugin kinds the loader accepts, injected by the daemon so that this library
// depends on no plugin.
struct Extensions {
  std::vector<std::pair<std::string, SourceKind>> sources;
  std::vector<std::pair<std::string, ReceiverKind>> receivers;
};

struct LoadResult {
  std::optional<Config> config;  // set when there are no errors
  std::vector<Diagnostic> errors;
};

// Loads and validates a config file. Never throws; every problem found is in `errors`.
LoadResult Load(const std::string& path, const Extensions& extensions,
                const EnvLookup& env = ProcessEnvironment());
// Same, for config text held in memory (`path` is used in messages only).
LoadResult LoadFromString(std::string_view text, const std::string& path,
                          const Extensions& extensions,
                          const EnvLookup& env = ProcessEnvironment());

// Label names: [a-zA-Z_][a-zA-Z0-9_]*. KPI names: [a-z_][a-z0-9_]*.
bool IsValidLabelName(std::string_view name);
bool IsValidKpiName(std::string_view name);

}  // namespace kpid::config
