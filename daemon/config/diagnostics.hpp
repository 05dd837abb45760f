// Config errors with their place in the file, reported all at once as PATH:LINE:COL: message.
#pragma once

#include <string>
#include <vector>

namespace toml {
inline namespace v3 {
struct source_region;
}
}  // namespace toml

namespace kpid::config {

// A place in a config file; line and column are 1-based, 0 when unknown.
struct Location {
  int line = 0;
  int column = 0;
};

Location LocationOf(const toml::source_region& region);

struct Diagnostic {
  std::string file;
  Location where;
  std::string message;

  std::string ToString() const;  // "PATH:LINE:COL: message"
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void Error(Location where, std::string message);
  const std::string& file() const { return file_; }
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  // Errors in file order (line, then column), so output reads top to bottom.
  std::vector<Diagnostic> Sorted() const;

 private:
  std::string file_;
  std::vector<Diagnostic> errors_;
};

}  // namespace kpid::config
