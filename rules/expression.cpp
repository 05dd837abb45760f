#include "rules/expression.hpp"

#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include <muParser.h>

#include "rules/parse_text.hpp"

namespace kpid::rules {
namespace {

using internal::DescribeCharAt;
using internal::IsAlpha;
using internal::IsBlank;
using internal::IsDigit;

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

double Not(double x) { return x == 0.0 ? 1.0 : 0.0; }

bool IsNameChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }

// What muParser accepts but a config expression must not contain, found before muParser
// sees the text so the message can say what to write instead.
std::optional<ParseError> CheckUnsupported(std::string_view text) {
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    switch (c) {
      case '"':
        return ParseError{i, "strings are not supported"};
      case '(':
        ++depth;
        break;
      case ')':
        if (depth > 0) --depth;
        break;
      case ',':
        if (depth == 0) {
          return ParseError{i, "unexpected \",\" outside a function call; expected one expression"};
        }
        break;
      case '<':
      case '>':
      case '!':
        if (next == '=') ++i;
        break;
      case '=':
        if (next == '=') {
          ++i;
          break;
        }
        return ParseError{i, "assignment is not supported; use \"==\" to compare"};
      default:
        break;
    }
  }
  return std::nullopt;
}

std::size_t LastUnclosed(std::string_view text, char open, char close) {
  std::vector<std::size_t> stack;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == open) stack.push_back(i);
    if (text[i] == close && !stack.empty()) stack.pop_back();
  }
  return stack.empty() ? text.size() : stack.back();
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

ParseError Translate(const mu::ParserError& e, std::string_view text, const mu::Parser& parser) {
  const int raw_pos = e.GetPos();
  std::size_t pos = raw_pos < 0 ? text.size() : static_cast<std::size_t>(raw_pos);
  if (pos > text.size()) pos = text.size();
  const std::string& token = e.GetToken();
  switch (e.GetCode()) {
    case mu::ecUNASSIGNABLE_TOKEN: {
      if (pos >= text.size()) break;
      if (IsAlpha(text[pos]) || text[pos] == '_') {
        std::size_t end = pos;
        while (end < text.size() && IsNameChar(text[end])) ++end;
        const std::string name(text.substr(pos, end - pos));
        while (end < text.size() && IsBlank(text[end])) ++end;
        if (end < text.size() && text[end] == '(') {
          return {pos, "unknown function " + Quote(name)};
        }
        if (parser.GetFunDef().contains(name)) {
          return {pos, "function " + Quote(name) + " needs arguments, e.g. " + name + "(x, y)"};
        }
        return {pos, "unknown variable " + Quote(name)};
      }
      if (IsDigit(text[pos]) || text[pos] == '.') {
        std::size_t end = pos;
        while (end < text.size() && !IsBlank(text[end]) && text[end] != ')') ++end;
        return {pos, "invalid number " + Quote(text.substr(pos, end - pos))};
      }
      return {pos, "unexpected " + DescribeCharAt(text, pos)};
    }
    case mu::ecUNEXPECTED_EOF:
      return {text.size(), "unexpected end of expression"};
    case mu::ecMISSING_PARENS:
      return {LastUnclosed(text, '(', ')'), "unclosed \"(\"; expected \")\""};
    case mu::ecUNEXPECTED_PARENS:
      return {pos, "unexpected " + Quote(token)};
    case mu::ecUNEXPECTED_OPERATOR:
      return {pos, "unexpected operator " + Quote(token)};
    case mu::ecUNEXPECTED_VAL:
      return {pos, "unexpected value " + Quote(token) + "; expected an operator"};
    case mu::ecUNEXPECTED_VAR:
      return {pos, "unexpected variable " + Quote(token) + "; expected an operator"};
    case mu::ecUNEXPECTED_FUN:
      return {pos, "unexpected function " + Quote(token) + "; expected an operator"};
    case mu::ecUNEXPECTED_ARG_SEP:
      return {pos, "unexpected \",\""};
    case mu::ecTOO_MANY_PARAMS:
    case mu::ecTOO_FEW_PARAMS: {
      // muParser points past the call; point at the function name instead.
      const std::size_t name_pos = text.rfind(token, pos);
      return {name_pos == std::string_view::npos ? pos : name_pos,
              std::string(e.GetCode() == mu::ecTOO_MANY_PARAMS ? "too many" : "too few") +
                  " arguments for " + Quote(token)};
    }
    case mu::ecEMPTY_EXPRESSION:
      return {0, "empty expression"};
    case mu::ecMISSING_ELSE_CLAUSE:
      return {LastUnclosed(text, '?', ':'), "\"?\" without \":\"; expected cond ? a : b"};
    case mu::ecMISPLACED_COLON: {
      // muParser points just past the colon.
      const std::size_t colon = text.rfind(':', pos);
      return {colon == std::string_view::npos ? pos : colon, "unexpected \":\""};
    }
    case mu::ecUNEXPECTED_CONDITIONAL:
      return {pos, "unexpected \"?\""};
    case mu::ecUNEXPECTED_STR:
    case mu::ecSTR_RESULT:
    case mu::ecSTRING_EXPECTED:
    case mu::ecUNTERMINATED_STRING:
      return {pos, "strings are not supported"};
    case mu::ecEXPRESSION_TOO_LONG:
      return {0, "expression too long"};
    default:
      break;
  }
  // Anything else: muParser's message without its own position, in our style.
  std::string message = e.GetMsg();
  for (const char* suffix : {" at position", " found at position", " at expression position"}) {
    if (const auto at = message.find(suffix); at != std::string::npos) message.resize(at);
  }
  while (!message.empty() && (message.back() == '.' || message.back() == ' ')) message.pop_back();
  if (!message.empty()) message[0] = internal::ToLower(message[0]);
  if (message.empty()) message = "invalid expression";
  return {pos, std::move(message)};
}

// Every word in `text` that could be a variable: each run of letters, digits and "_", and
// each of its suffixes that starts with a letter or "_" (so "2e3x" yields "e3x" and "x").
// A superset is harmless; missing a name is not.
std::set<std::string, std::less<>> IdentifierCandidates(std::string_view text) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  auto start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  std::set<std::string, std::less<>> names;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!word(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && word(text[end])) ++end;
    for (std::size_t k = i; k < end; ++k) {
      if (start(text[k])) names.emplace(text.substr(k, end - k));
    }
    i = end;
  }
  return names;
}

}  // namespace

VariableSet::VariableSet(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (index_.emplace(name, names_.size()).second) names_.push_back(name);
  }
  values_ = std::make_unique<double[]>(names_.size());
  Clear();
}

double* VariableSet::Slot(std::string_view name) {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &values_[it->second];
}

bool VariableSet::Set(std::string_view name, double value) {
  double* slot = Slot(name);
  if (slot == nullptr) return false;
  *slot = value;
  return true;
}

std::optional<double> VariableSet::Get(std::string_view name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return values_[it->second];
}

void VariableSet::Clear() {
  for (std::size_t i = 0; i < names_.size(); ++i) values_[i] = kNoValue;
}

Expression::Expression(std::unique_ptr<mu::Parser> parser, std::vector<std::string> used,
                       std::vector<const double*> used_slots, std::string text)
    : parser_(std::move(parser)),
      used_(std::move(used)),
      used_slots_(std::move(used_slots)),
      text_(std::move(text)) {}

Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;
Expression::~Expression() = default;

ParseResult<Expression> Expression::Compile(std::string_view text, VariableSet& vars) {
  if (auto error = CheckUnsupported(text)) return std::move(*error);
  auto parser = std::make_unique<mu::Parser>();
  try {
    parser->DefineInfixOprt("!", Not);
  } catch (const mu::ParserError& e) {
    return ParseError{0, "internal error: " + e.GetMsg()};
  }
  // Only the names the text can refer to: a parser per expression that defined every KPI
  // of a large config would cost O(KPIs) memory and time each, O(KPIs^2) in all.
  for (const std::string& name : IdentifierCandidates(text)) {
    double* slot = vars.Slot(name);
    if (slot == nullptr) continue;
    try {
      parser->DefineVar(name, slot);
    } catch (const mu::ParserError&) {
      // Not a valid muParser name (or a constant's): expressions cannot refer to it, and
      // using it reports an unknown variable.
    }
  }
  std::vector<std::string> used;
  std::vector<const double*> used_slots;
  try {
    parser->SetExpr(std::string(text));
    // Parsing happens on the first evaluation; evaluating reads the variables only.
    parser->Eval();
    for (const auto& [name, slot] : parser->GetUsedVar()) {
      used.push_back(name);
      used_slots.push_back(slot);
    }
    // GetUsedVar() re-parses; evaluate again so Evaluate() runs the compiled bytecode.
    parser->Eval();
  } catch (const mu::ParserError& e) {
    return Translate(e, text, *parser);
  }
  return Expression(std::move(parser), std::move(used), std::move(used_slots), std::string(text));
}

std::variant<double, std::string> Expression::Evaluate() const {
  double result = 0;
  try {
    result = parser_->Eval();
  } catch (const mu::ParserError& e) {
    return "evaluation failed: " + e.GetMsg();
  }
  if (std::isnan(result)) {
    std::string missing;
    for (std::size_t i = 0; i < used_.size(); ++i) {
      if (!std::isnan(*used_slots_[i])) continue;
      missing += (missing.empty() ? "" : ", ") + Quote(used_[i]);
    }
    if (!missing.empty()) return "result is not a number; no value for " + missing;
    return std::string("result is not a number");
  }
  if (std::isinf(result)) return std::string("result is infinite (division by zero?)");
  return result;
}

}  // namespace kpid::rules
