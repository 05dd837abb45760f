#include "daemon/metrics.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

#include <dirent.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

namespace kpid {
namespace {

prometheus::MetricFamily Single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

int OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int count = 0;
  // readdir on a DIR* of our own is safe; the check means readdir's shared-stream case.
  while (readdir(dir) != nullptr) ++count;  // NOLINT(concurrency-mt-unsafe)
  closedir(dir);
  return count - 3;  // ".", ".." and the descriptor of the listing itself
}

}  // namespace

void VersionedCollectable::RenderText(std::vector<std::string>& pieces) const {
  pieces.assign(1, prometheus::TextSerializer().Serialize(Collect()));
}

namespace exposition {
namespace {

// Backslash and line feed, and in label values the double quote, as the format escapes them.
void AppendEscaped(std::string& out, std::string_view text, bool quotes) {
  if (text.find_first_of(quotes ? "\\\n\"" : "\\\n") == std::string_view::npos) {
    out += text;  // the common case
    return;
  }
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quotes && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  prometheus::MetricType type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  switch (type) {
    case prometheus::MetricType::Counter:
      out += " counter\n";
      break;
    case prometheus::MetricType::Gauge:
      out += " gauge\n";
      break;
    case prometheus::MetricType::Histogram:
      out += " histogram\n";
      break;
    case prometheus::MetricType::Summary:
      out += " summary\n";
      break;
    case prometheus::MetricType::Untyped:
      out += " untyped\n";
      break;
  }
}

void AppendLabel(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  AppendEscaped(out, value, true);
  out += '"';
}

void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out.append(buffer.data(), result.ptr);
  }
}

}  // namespace exposition

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return out;
  // Fields after the command name, which may contain spaces: start past the last ')'.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
  if (f.size() < 22) return out;
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Indices are the proc(5) field numbers minus 3 (pid and comm are gone).
  double utime = std::stod(f[11]);
  double stime = std::stod(f[12]);
  double start_ticks = std::stod(f[19]);
  double vsize = std::stod(f[20]);
  double rss_pages = std::stod(f[21]);
  out.push_back(Single("process_cpu_seconds_total",
                       "Total user and system CPU time spent in seconds.",
                       prometheus::MetricType::Counter, (utime + stime) / ticks));
  out.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.",
                       prometheus::MetricType::Gauge, rss_pages * page));
  out.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                       prometheus::MetricType::Gauge, vsize));
  out.push_back(Single("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.",
                       prometheus::MetricType::Gauge, BootTimeSeconds() + start_ticks / ticks));
  out.push_back(Single("process_open_fds", "Number of open file descriptors.",
                       prometheus::MetricType::Gauge, OpenFds()));
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(Single("process_max_fds", "Maximum number of open file descriptors.",
                         prometheus::MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      reload_successful_(prometheus::BuildGauge()
                             .Name("kpid_config_last_reload_successful")
                             .Help("Whether the last configuration load or reload succeeded.")
                             .Register(*registry_)
                             .Add({})),
      reload_success_timestamp_(
          prometheus::BuildGauge()
              .Name("kpid_config_last_reload_success_timestamp_seconds")
              .Help("Timestamp of the last successful configuration load or reload.")
              .Register(*registry_)
              .Add({})),
      evaluation_duration_(
          prometheus::BuildHistogram()
              .Name("kpid_evaluation_duration_seconds")
              .Help("Time taken by one evaluation pass over every goal and rule.")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                               0.05, 0.1, 0.5, 1, 5})),
      // time() minus this, against evaluation.interval, shows a stalled or late daemon.
      last_evaluation_(prometheus::BuildGauge()
                           .Name("kpid_last_evaluation_timestamp_seconds")
                           .Help("When the last evaluation pass started.")
                           .Register(*registry_)
                           .Add({})),
      restatements_(prometheus::BuildCounter()
                        .Name("kpid_history_restatements_total")
                        .Help("History reads that changed values the store held, by KPI.")
                        .Register(*registry_)),
      restated_values_(prometheus::BuildCounter()
                           .Name("kpid_history_restated_values_total")
                           .Help("Stored values that a history read changed, by KPI.")
                           .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("kpid_build_info")
      .Help("A metric with a constant 1 value labelled by the kpid version.")
      .Register(*registry_)
      .Add({{"version", KPID_VERSION}})
      .Set(1);
}

void Metrics::ConfigLoaded(bool ok, std::chrono::system_clock::time_point when) {
  reload_successful_.Set(ok ? 1 : 0);
  if (ok) {
    reload_success_timestamp_.Set(std::chrono::duration<double>(when.time_since_epoch()).count());
  }
}

void Metrics::EvaluationDone(std::chrono::duration<double> took,
                             std::chrono::system_clock::time_point at) {
  evaluation_duration_.Observe(took.count());
  last_evaluation_.Set(std::chrono::duration<double>(at.time_since_epoch()).count());
}

void Metrics::Restated(const std::string& kpi, std::size_t values) {
  restatements_.Add({{"kpi", kpi}}).Increment();
  restated_values_.Add({{"kpi", kpi}}).Increment(static_cast<double>(values));
}

void Metrics::Add(std::weak_ptr<prometheus::Collectable> collectable) {
  extra_.push_back(std::move(collectable));
  rendered_.emplace_back();
}

std::string Metrics::Render() const {
  const prometheus::TextSerializer serializer;
  std::string out = serializer.Serialize(registry_->Collect());
  for (std::size_t i = 0; i < extra_.size(); ++i) {
    auto collectable = extra_[i].lock();
    if (!collectable) continue;
    const auto* versioned = dynamic_cast<const VersionedCollectable*>(collectable.get());
    Rendered& rendered = rendered_[i];
    if (versioned == nullptr) {
      out += serializer.Serialize(collectable->Collect());
      continue;
    }
    if (rendered.version != versioned->Version()) {
      versioned->RenderText(rendered.pieces);
      rendered.version = versioned->Version();
    }
    std::size_t size = out.size() + 16384;  // and the process metrics after these
    for (const std::string& piece : rendered.pieces) size += piece.size();
    out.reserve(size);
    for (const std::string& piece : rendered.pieces) out += piece;
  }
  out += serializer.Serialize(process_->Collect());
  return out;
}

}  // namespace kpid
