#include "tests/deploy/deploy_files.hpp"

#include <fstream>
#include <regex>
#include <sstream>

namespace kpid::testing {
namespace {

void PanelExpressions(const nlohmann::json& panel, std::vector<Expression>* out) {
  const std::string title = panel.value("title", "");
  for (const nlohmann::json& target : panel.value("targets", nlohmann::json::array())) {
    if (target.contains("expr")) out->push_back({"panel \"" + title + "\"", target["expr"]});
  }
  for (const nlohmann::json& inner : panel.value("panels", nlohmann::json::array())) {
    PanelExpressions(inner, out);
  }
}

std::size_t Indent(const std::string& line) { return line.find_first_not_of(' '); }

}  // namespace

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<Expression> DashboardExpressions(const nlohmann::json& dashboard) {
  std::vector<Expression> out;
  for (const nlohmann::json& panel : dashboard.value("panels", nlohmann::json::array())) {
    PanelExpressions(panel, &out);
  }
  for (const nlohmann::json& a : dashboard["annotations"].value("list", nlohmann::json::array())) {
    if (a.contains("expr"))
      out.push_back({"annotation \"" + a.value("name", "") + "\"", a["expr"]});
  }
  // label_values(selector, label): the selector is PromQL, the label is not.
  static const std::regex kLabelValues(R"(label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\))");
  for (const nlohmann::json& v : dashboard["templating"].value("list", nlohmann::json::array())) {
    if (v.value("type", "") != "query") continue;
    const nlohmann::json& q = v["query"];
    const std::string text = q.is_object() ? q.value("query", "") : q.get<std::string>();
    std::smatch m;
    if (std::regex_search(text, m, kLabelValues)) {
      out.push_back({"templating " + v.value("name", ""), m[1].str()});
    }
  }
  return out;
}

std::vector<Expression> RuleExpressions(const std::string& yaml) {
  std::vector<Expression> out;
  std::vector<std::string> lines;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  static const std::regex kExpr(R"(^(\s*)(?:- )?expr:\s*(.*)$)");
  static const std::regex kAlert(R"(^\s*- alert:\s*(\S+))");
  std::string alert;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, kAlert)) alert = m[1].str();
    if (!std::regex_match(lines[i], m, kExpr)) continue;
    std::string expr = m[2].str();
    if (expr.empty() || expr[0] == '|' || expr[0] == '>') {
      // A block scalar: the following lines indented deeper than the key.
      const auto key_indent = static_cast<std::size_t>(m[1].length());
      std::size_t block_indent = std::string::npos;
      expr.clear();
      while (i + 1 < lines.size() &&
             (Indent(lines[i + 1]) == std::string::npos || Indent(lines[i + 1]) > key_indent)) {
        const std::string& line = lines[++i];
        if (block_indent == std::string::npos) block_indent = Indent(line);
        expr += (line.size() > block_indent ? line.substr(block_indent) : "") + "\n";
      }
    } else if (expr.front() == '\'' || expr.front() == '"') {
      expr = expr.substr(1, expr.size() - 2);
    }
    out.push_back({"rule " + alert, expr});
  }
  static const std::regex kQuery(R"|(printf\s+"([^"]*)")|");
  for (auto it = std::sregex_iterator(yaml.begin(), yaml.end(), kQuery);
       it != std::sregex_iterator(); ++it) {
    out.push_back({"annotation query", std::regex_replace((*it)[1].str(), std::regex("%s"), "x")});
  }
  return out;
}

}  // namespace kpid::testing
