#include "tests/deploy/promql_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>

namespace kpid::testing {
namespace {

bool IdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}

bool IdentChar(char c) { return IdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

bool IsKeyword(std::string_view word) {
  static constexpr std::array<std::string_view, 16> kKeywords = {
      "and",         "or",     "unless", "by",  "without", "on",    "ignoring", "group_left",
      "group_right", "offset", "bool",   "inf", "nan",     "atan2", "start",    "end"};
  std::string lower(word);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::ranges::find(kKeywords, lower) != kKeywords.end();
}

// Keywords whose parenthesised list holds label names, not expressions.
bool TakesLabelList(std::string_view word) {
  return word == "by" || word == "without" || word == "on" || word == "ignoring" ||
         word == "group_left" || word == "group_right";
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::set<std::string> Names() {
    std::set<std::string> names;
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        SkipString();
      } else if (c == '#') {
        while (i_ < text_.size() && text_[i_] != '\n') ++i_;
      } else if (c == '[') {
        SkipUntil(']');
      } else if (c == '{') {
        SkipUntil('}');
      } else if (c == '$') {
        SkipVariable();
      } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
                 (c == '.' && i_ + 1 < text_.size() &&
                  std::isdigit(static_cast<unsigned char>(text_[i_ + 1])) != 0)) {
        // A number or a duration (1e3, 0x1f, 15m, 1h30m).
        while (i_ < text_.size() && (IdentChar(text_[i_]) || text_[i_] == '.')) ++i_;
      } else if (IdentStart(c)) {
        const std::size_t start = i_;
        while (i_ < text_.size() && IdentChar(text_[i_])) ++i_;
        const std::string_view word = text_.substr(start, i_ - start);
        // An aggregation may put its modifier first: sum by (le) (...).
        const std::string_view next = NextWord();
        const bool call = NextNonSpace() == '(';
        if (TakesLabelList(word)) {
          if (call) SkipUntil(')');
        } else if (!call && !IsKeyword(word) && next != "by" && next != "without") {
          names.emplace(word);
        }
      } else {
        ++i_;
      }
    }
    return names;
  }

 private:
  char NextNonSpace() {
    std::size_t j = i_;
    while (j < text_.size() && std::isspace(static_cast<unsigned char>(text_[j])) != 0) ++j;
    if (j < text_.size() && text_[j] == '(') i_ = j;
    return j < text_.size() ? text_[j] : '\0';
  }

  std::string_view NextWord() const {
    std::size_t j = i_;
    while (j < text_.size() && std::isspace(static_cast<unsigned char>(text_[j])) != 0) ++j;
    const std::size_t start = j;
    while (j < text_.size() && IdentChar(text_[j])) ++j;
    return text_.substr(start, j - start);
  }

  void SkipString() {
    const char quote = text_[i_++];
    while (i_ < text_.size() && text_[i_] != quote) {
      if (text_[i_] == '\\' && quote != '`') ++i_;
      ++i_;
    }
    ++i_;
  }

  // From an opening bracket to its closing one, across strings and nested brackets.
  void SkipUntil(char close) {
    const char open = text_[i_++];
    int depth = 1;
    while (i_ < text_.size() && depth > 0) {
      const char c = text_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        SkipString();
        continue;
      }
      if (c == open) ++depth;
      if (c == close) --depth;
      ++i_;
    }
  }

  void SkipVariable() {
    ++i_;
    if (i_ < text_.size() && text_[i_] == '{') {
      SkipUntil('}');
      return;
    }
    while (i_ < text_.size() && IdentChar(text_[i_])) ++i_;
  }

  std::string_view text_;
  std::size_t i_ = 0;
};

}  // namespace

std::set<std::string> PromQlMetricNames(std::string_view expr) { return Scanner(expr).Names(); }

std::set<std::string> ExposedMetricNames(std::string_view exposition) {
  std::set<std::string> names;
  std::istringstream in{std::string(exposition)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name;
      std::string type;
      words >> name >> type;
      names.insert(name);
      if (type == "histogram" || type == "summary") {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
      }
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::size_t end = 0;
    while (end < line.size() && IdentChar(line[end])) ++end;
    if (end > 0) names.insert(line.substr(0, end));
  }
  return names;
}

}  // namespace kpid::testing
