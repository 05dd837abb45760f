#include "rules/template.hpp"

#include <algorithm>
#include <utility>

#include "rules/parse_text.hpp"

namespace kpid::rules {
namespace {

using internal::DescribeCharAt;
using internal::IsAlpha;
using internal::IsBlank;
using internal::IsDigit;

bool IsNameStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsNameChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }

}  // namespace

ParseResult<Template> Template::Parse(std::string_view text) {
  Template result;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      result.pieces_.push_back({std::string(text.substr(pos)), 0, false});
      break;
    }
    if (open > pos) result.pieces_.push_back({std::string(text.substr(pos, open - pos)), 0, false});
    const std::size_t close = text.find("}}", open + 2);
    const std::size_t nested = text.find("{{", open + 2);
    if (close == std::string_view::npos || nested < close) {
      return ParseError{open, "unclosed \"{{\"; expected a name and \"}}\""};
    }

    std::size_t i = open + 2;
    while (i < close && IsBlank(text[i])) ++i;
    if (i == close) {
      return ParseError{i, "empty placeholder; expected a name, e.g. {{value}}"};
    }
    const std::size_t name_start = i;
    while (true) {
      if (IsDigit(text[i])) {
        return ParseError{i, "name starts with a digit; expected a letter or \"_\" first"};
      }
      if (!IsNameStart(text[i])) {
        return ParseError{
            i, "unexpected " + DescribeCharAt(text, i) + " in placeholder; expected a name"};
      }
      while (i < close && IsNameChar(text[i])) ++i;
      if (i < close && text[i] == '.') {
        ++i;
        if (i == close) {
          return ParseError{i, "unexpected \"}}\" after \".\"; expected the rest of the name"};
        }
        continue;
      }
      break;
    }
    const std::string name(text.substr(name_start, i - name_start));
    while (i < close && IsBlank(text[i])) ++i;
    if (i != close) {
      return ParseError{
          i, "unexpected " + DescribeCharAt(text, i) + " after \"" + name + "\"; expected \"}}\""};
    }

    const auto known = std::find(result.names_.begin(), result.names_.end(), name);
    const auto index = static_cast<std::size_t>(known - result.names_.begin());
    if (known == result.names_.end()) result.names_.push_back(name);
    result.pieces_.push_back({std::string(text.substr(open, close + 2 - open)), index, true});
    pos = close + 2;
  }
  return result;
}

std::string Template::Render(const Lookup& lookup) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    if (!piece.placeholder) {
      out += piece.text;
      continue;
    }
    if (auto value = lookup(names_[piece.name])) {
      out += *value;
    } else {
      out += piece.text;
    }
  }
  return out;
}

}  // namespace kpid::rules
