#include "daemon/log.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <date/date.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

namespace kpid::log {
namespace {

struct State {
  std::atomic<Level> level{Level::kInfo};
  Format format = Format::kText;
  bool journal = false;
  std::mutex mu;
};

State& GetState() {
  static State state;
  return state;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

// sd-daemon(3) priorities: <3> err, <4> warning, <6> info, <7> debug.
std::string_view JournalPrefix(Level level) {
  switch (level) {
    case Level::kDebug:
      return "<7>";
    case Level::kInfo:
      return "<6>";
    case Level::kWarn:
      return "<4>";
    case Level::kError:
      return "<3>";
  }
  return "<6>";
}

bool NeedsQuotes(std::string_view v) {
  return v.empty() || std::any_of(v.begin(), v.end(), [](char c) {
           return c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20;
         });
}

void AppendQuoted(std::string& out, std::string_view v) {
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // NOLINT(concurrency-mt-unsafe)
  if (stream == nullptr) return false;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

std::string Now() {
  auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return date::format("%FT%TZ", now);
}

}  // namespace

std::optional<Level> ParseLevel(std::string_view name) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (LevelName(l) == name) return l;
  }
  return std::nullopt;
}

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

void Configure(Level level, Format format) {
  State& s = GetState();
  s.level = level;
  s.format = format;
  s.journal = StderrIsJournal();
}

bool Enabled(Level level) { return level >= GetState().level.load(std::memory_order_relaxed); }

std::string FormatLine(Level level, Format format, bool journal, std::string_view timestamp,
                       std::string_view message, std::span<const Field> fields) {
  std::string out;
  if (format == Format::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = timestamp;
    j["level"] = LevelName(level);
    j["msg"] = message;
    for (const Field& f : fields) j[std::string(f.key)] = f.value;
    out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    if (journal) {
      out += JournalPrefix(level);
    } else {
      out += timestamp;
      out += ' ';
    }
    out += LevelName(level);
    out += ' ';
    if (NeedsQuotes(message) && message.find_first_of("\n\r") != std::string_view::npos) {
      AppendQuoted(out, message);
    } else {
      out += message;
    }
    for (const Field& f : fields) {
      out += ' ';
      out += f.key;
      out += '=';
      if (NeedsQuotes(f.value)) {
        AppendQuoted(out, f.value);
      } else {
        out += f.value;
      }
    }
  }
  out += '\n';
  return out;
}

void Write(Level level, std::string_view message, std::span<const Field> fields) {
  State& s = GetState();
  if (level < s.level.load(std::memory_order_relaxed)) return;
  std::string line = FormatLine(level, s.format, s.journal, Now(), message, fields);
  std::lock_guard lock(s.mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace kpid::log
