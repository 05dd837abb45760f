// A strict little HTML reader for the status page tests: every element must be closed
// (void elements excepted) and properly nested, which the pages promise and Chromium's
// serialised DOM keeps. Enough to check structure: elements, attributes, text.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kpid::testing {

struct HtmlElement {
  std::string tag;                                // lower case
  std::map<std::string, std::string> attributes;  // values with entities decoded
  std::string text;                               // the decoded text inside, descendants included
  int parent = -1;
  std::vector<int> children;

  [[nodiscard]] std::string Attribute(const std::string& name) const;
  [[nodiscard]] bool HasClass(std::string_view cls) const;
};

class HtmlDocument {
 public:
  explicit HtmlDocument(std::string_view html);

  // Nesting problems, unclosed elements, duplicate ids; empty when well formed.
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  [[nodiscard]] const std::vector<HtmlElement>& elements() const { return elements_; }

  [[nodiscard]] const HtmlElement* ById(const std::string& id) const;
  [[nodiscard]] std::vector<const HtmlElement*> ByTag(std::string_view tag) const;
  [[nodiscard]] std::vector<const HtmlElement*> ByClass(std::string_view cls) const;
  // Descendants of `root` (by index) with `tag`.
  [[nodiscard]] std::vector<const HtmlElement*> Within(const HtmlElement& root,
                                                       std::string_view tag) const;

 private:
  void Parse(std::string_view html);

  std::vector<HtmlElement> elements_;
  std::vector<std::string> errors_;
};

// Decodes the entities the pages and Chromium write (&amp; &lt; &gt; &quot; &#39; &#NN;
// &#xNN; &nbsp;).
[[nodiscard]] std::string DecodeEntities(std::string_view text);

}  // namespace kpid::testing
