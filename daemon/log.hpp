// Process-wide logger: one line per event on stderr. Text (logfmt-like), JSON, or, under
// systemd (JOURNAL_STREAM names our stderr), text with sd-daemon priority prefixes and no
// timestamp, since journald adds its own. Safe to call from any thread.
#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace kpid::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

std::optional<Level> ParseLevel(std::string_view name);
std::optional<Format> ParseFormat(std::string_view name);

// A structured field: key=value. Values are quoted in text output when needed.
struct Field {
  std::string_view key;
  std::string value;
};

// Call once at start, before other threads exist. Detects journald from JOURNAL_STREAM.
void Configure(Level level, Format format);

bool Enabled(Level level);
void Write(Level level, std::string_view message, std::span<const Field> fields);
inline void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(level, message, std::span<const Field>(fields.begin(), fields.size()));
}

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, m, f);
}

// Formats one line without writing it (for tests). `journal` selects the systemd form.
std::string FormatLine(Level level, Format format, bool journal, std::string_view timestamp,
                       std::string_view message, std::span<const Field> fields);
inline std::string FormatLine(Level level, Format format, bool journal, std::string_view timestamp,
                              std::string_view message, std::initializer_list<Field> fields) {
  return FormatLine(level, format, journal, timestamp, message,
                    std::span<const Field>(fields.begin(), fields.size()));
}

}  // namespace kpid::log
