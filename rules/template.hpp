// Text templates for alert `summary` and `description`: "Churn jumped to {{value}}".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/parse_error.hpp"

namespace kpid::rules {

// Literal text with {{name}} placeholders. Blanks inside the braces are allowed
// ("{{ value }}"); a name is letters, digits and "_", starting with a letter or "_", and
// may have "."-separated parts ("labels.team"). Single braces and a "}}" outside a
// placeholder are literal text; there is no escape for a literal "{{". Immutable.
class Template {
 public:
  [[nodiscard]] static ParseResult<Template> Parse(std::string_view text);

  // Returns the value for a name, or nullopt if there is none.
  using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

  // Distinct placeholder names in order of first appearance; for checking them at load.
  [[nodiscard]] const std::vector<std::string>& Names() const { return names_; }

  // The text with each placeholder replaced by its value. A placeholder whose name has no
  // value is left as written, so a missing value shows instead of vanishing.
  [[nodiscard]] std::string Render(const Lookup& lookup) const;

 private:
  struct Piece {
    std::string text;      // literal text, or the placeholder as written
    std::size_t name = 0;  // index into names_ if placeholder
    bool placeholder = false;
  };

  Template() = default;

  std::vector<Piece> pieces_;
  std::vector<std::string> names_;
};

}  // namespace kpid::rules
