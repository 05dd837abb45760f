#include "tests/web/html_check.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

namespace kpid::testing {
namespace {

constexpr std::array<std::string_view, 14> kVoid = {"area",  "base",   "br",    "col",  "embed",
                                                    "hr",    "img",    "input", "link", "meta",
                                                    "param", "source", "track", "wbr"};

bool IsVoid(std::string_view tag) {
  return std::find(kVoid.begin(), kVoid.end(), tag) != kVoid.end();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void AppendUtf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; }

}  // namespace

std::string DecodeEntities(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const std::size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += '&';
      continue;
    }
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    if (name == "amp")
      out += '&';
    else if (name == "lt")
      out += '<';
    else if (name == "gt")
      out += '>';
    else if (name == "quot")
      out += '"';
    else if (name == "nbsp")
      AppendUtf8(out, 0xa0);
    else if (name.starts_with("#x") || name.starts_with("#X")) {
      AppendUtf8(out, std::stoul(std::string(name.substr(2)), nullptr, 16));
    } else if (name.starts_with("#")) {
      AppendUtf8(out, std::stoul(std::string(name.substr(1))));
    } else {
      out += '&';
      continue;
    }
    i = semi;
  }
  return out;
}

std::string HtmlElement::Attribute(const std::string& name) const {
  auto it = attributes.find(name);
  return it == attributes.end() ? "" : it->second;
}

bool HtmlElement::HasClass(std::string_view cls) const {
  const std::string classes = " " + Attribute("class") + " ";
  return classes.find(" " + std::string(cls) + " ") != std::string::npos;
}

HtmlDocument::HtmlDocument(std::string_view html) { Parse(html); }

void HtmlDocument::Parse(std::string_view html) {
  std::vector<int> open;
  std::set<std::string> ids;
  auto add_text = [&](std::string_view raw) {
    const std::string text = DecodeEntities(raw);
    for (const int i : open) elements_[static_cast<std::size_t>(i)].text += text;
  };
  std::size_t pos = 0;
  while (pos < html.size()) {
    const std::size_t lt = html.find('<', pos);
    if (lt == std::string_view::npos) {
      add_text(html.substr(pos));
      break;
    }
    add_text(html.substr(pos, lt - pos));
    if (html.substr(lt, 4) == "<!--") {
      const std::size_t end = html.find("-->", lt);
      pos = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    if (html.substr(lt, 2) == "<!") {
      pos = html.find('>', lt) + 1;
      continue;
    }
    const std::size_t gt = html.find('>', lt);
    if (gt == std::string_view::npos) {
      errors_.push_back("unterminated tag at " + std::to_string(lt));
      break;
    }
    if (html[lt + 1] == '/') {
      const std::string tag = Lower(html.substr(lt + 2, gt - lt - 2));
      if (open.empty() || elements_[static_cast<std::size_t>(open.back())].tag != tag) {
        errors_.push_back(
            "unexpected </" + tag + "> at " + std::to_string(lt) + " (open: " +
            (open.empty() ? "none" : elements_[static_cast<std::size_t>(open.back())].tag) + ")");
      } else {
        open.pop_back();
      }
      pos = gt + 1;
      continue;
    }
    // A start tag: name, then attributes up to '>' (quoted values may hold '>').
    std::size_t i = lt + 1;
    while (i < html.size() && !IsSpace(html[i]) && html[i] != '>' && html[i] != '/') ++i;
    HtmlElement element;
    element.tag = Lower(html.substr(lt + 1, i - lt - 1));
    bool self_closing = false;
    while (i < html.size() && html[i] != '>') {
      if (IsSpace(html[i])) {
        ++i;
        continue;
      }
      if (html[i] == '/') {
        self_closing = true;
        ++i;
        continue;
      }
      std::size_t name_end = i;
      while (name_end < html.size() && !IsSpace(html[name_end]) && html[name_end] != '=' &&
             html[name_end] != '>' && html[name_end] != '/') {
        ++name_end;
      }
      const std::string name = Lower(html.substr(i, name_end - i));
      i = name_end;
      std::string value;
      if (i < html.size() && html[i] == '=') {
        ++i;
        if (html[i] == '"' || html[i] == '\'') {
          const char quote = html[i];
          const std::size_t end = html.find(quote, i + 1);
          value = DecodeEntities(html.substr(i + 1, end - i - 1));
          i = end + 1;
        } else {
          std::size_t end = i;
          while (end < html.size() && !IsSpace(html[end]) && html[end] != '>') ++end;
          value = DecodeEntities(html.substr(i, end - i));
          i = end;
        }
      }
      if (element.attributes.contains(name)) {
        errors_.push_back("duplicate attribute " + name + " on <" + element.tag + ">");
      }
      element.attributes[name] = value;
      self_closing = false;
    }
    pos = i + 1;
    if (const std::string id = element.Attribute("id"); !id.empty()) {
      if (!ids.insert(id).second) errors_.push_back("duplicate id " + id);
    }
    element.parent = open.empty() ? -1 : open.back();
    const int index = static_cast<int>(elements_.size());
    if (element.parent >= 0)
      elements_[static_cast<std::size_t>(element.parent)].children.push_back(index);
    const std::string tag = element.tag;
    elements_.push_back(std::move(element));
    if (tag == "script" || tag == "style") {
      const std::size_t end = html.find("</" + tag, pos);
      if (end == std::string_view::npos) {
        errors_.push_back("unclosed <" + tag + ">");
        return;
      }
      elements_.back().text = std::string(html.substr(pos, end - pos));
      pos = html.find('>', end) + 1;
      continue;
    }
    if (!IsVoid(tag) && !self_closing) open.push_back(index);
  }
  for (const int i : open) {
    errors_.push_back("unclosed <" + elements_[static_cast<std::size_t>(i)].tag + ">");
  }
}

const HtmlElement* HtmlDocument::ById(const std::string& id) const {
  for (const HtmlElement& e : elements_) {
    if (e.Attribute("id") == id) return &e;
  }
  return nullptr;
}

std::vector<const HtmlElement*> HtmlDocument::ByTag(std::string_view tag) const {
  std::vector<const HtmlElement*> out;
  for (const HtmlElement& e : elements_) {
    if (e.tag == tag) out.push_back(&e);
  }
  return out;
}

std::vector<const HtmlElement*> HtmlDocument::ByClass(std::string_view cls) const {
  std::vector<const HtmlElement*> out;
  for (const HtmlElement& e : elements_) {
    if (e.HasClass(cls)) out.push_back(&e);
  }
  return out;
}

std::vector<const HtmlElement*> HtmlDocument::Within(const HtmlElement& root,
                                                     std::string_view tag) const {
  std::vector<const HtmlElement*> out;
  std::vector<int> stack(root.children.rbegin(), root.children.rend());
  while (!stack.empty()) {
    const HtmlElement& e = elements_[static_cast<std::size_t>(stack.back())];
    stack.pop_back();
    if (tag.empty() || e.tag == tag) out.push_back(&e);
    stack.insert(stack.end(), e.children.rbegin(), e.children.rend());
  }
  return out;
}

}  // namespace kpid::testing
