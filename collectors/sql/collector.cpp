#include "collectors/sql/collector.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "collectors/sql/connect_string.hpp"
#include "collectors/sql/connection.hpp"
#include "collectors/sql/settings.hpp"
#include "collectors/sql/values.hpp"
#include "daemon/config/duration.hpp"

namespace kpid::collectors::sql {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A history larger than this is refused rather than held in memory.
constexpr std::size_t kMaxHistoryRows = 1'000'000;
// A history with this many unreadable rows in a row fails as a whole.
constexpr std::size_t kMaxBadRowsInARow = 1000;
// Driver messages are cut to this many characters in errors.
constexpr std::size_t kMaxDetail = 300;

std::string_view What(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kConnect:
      return "cannot connect";
    case ErrorKind::kAuth:
      return "authentication failed";
    case ErrorKind::kQuery:
      return "query failed";
    case ErrorKind::kParse:
      return "not a number";
    case ErrorKind::kEmpty:
      return "no value";
    case ErrorKind::kTooLarge:
      return "too large";
    case ErrorKind::kInternal:
      break;
  }
  return "internal error";
}

// One line, without SOCI's boilerplate, at most kMaxDetail characters.
std::string Tidy(std::string text) {
  constexpr std::string_view kBoilerplate[] = {"Cannot establish connection to the database.",
                                               "Cannot execute query.", "Cannot prepare statement.",
                                               "Fatal error."};
  for (bool again = true; again;) {
    again = false;
    text.erase(0, std::min(text.size(), text.find_first_not_of(" \t\r\n")));
    for (std::string_view prefix : kBoilerplate) {
      if (text.starts_with(prefix)) {
        text.erase(0, prefix.size());
        again = true;
      }
    }
    // "sqlite3_statement_backend::loadOne: interrupted"
    if (std::size_t colon = text.find(": ");
        text.starts_with("sqlite3_") && colon != std::string::npos && text.find("::") < colon) {
      text.erase(0, colon + 2);
      again = true;
    }
  }
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > kMaxDetail) out = out.substr(0, kMaxDetail) + "...";
  return out;
}

std::chrono::seconds ConnectTimeout(milliseconds timeout) {
  auto s = std::chrono::ceil<std::chrono::seconds>(timeout);
  return std::clamp(s, std::chrono::seconds(2), std::chrono::seconds(10));
}

template <typename T>
using Outcome = std::variant<T, Failure>;

class SqlCollector final : public Collector {
 public:
  SqlCollector(const config::Source& source, const SourceSettings& settings,
               boost::asio::io_context& io)
      : name_(source.name),
        driver_(settings.driver),
        io_(io),
        pool_(static_cast<std::size_t>(std::max(1, source.max_concurrency))) {
    std::optional<std::string> password;
    if (settings.password) password = settings.password->Reveal();
    connect_string_ = BuildConnectString(driver_, settings.connection.Reveal(), password,
                                         ConnectTimeout(source.timeout));
    if (driver_ == Driver::kSqlite3 &&
        settings.connection.Reveal().find('"') != std::string::npos) {
      open_error_ = "the database path contains '\"', which the sqlite3 backend cannot open";
    }
    if (password) redactor_.Add(*password);
    redactor_.AddConnection(settings.connection.Reveal());
    redactor_.AddConnection(connect_string_);
  }

  ~SqlCollector() override {
    Stop();
    pool_.join();
  }

  SqlCollector(const SqlCollector&) = delete;
  SqlCollector& operator=(const SqlCollector&) = delete;

  void Collect(const Target& target, milliseconds timeout, Done done) override {
    const auto* kpi = dynamic_cast<const KpiSettings*>(target.settings.get());
    std::string query = kpi != nullptr ? kpi->query : std::string();
    Submit<CollectResult>(target.kpi, timeout, std::move(done),
                          [query](Connection& c) { return QueryValue(c, query); });
  }

  bool HasHistory(const Target& target) const override {
    const auto* kpi = dynamic_cast<const KpiSettings*>(target.settings.get());
    return kpi != nullptr && !kpi->history_query.empty();
  }

  void CollectHistory(const Target& target, milliseconds timeout, HistoryDone done) override {
    const auto* kpi = dynamic_cast<const KpiSettings*>(target.settings.get());
    std::string query = kpi != nullptr ? kpi->history_query : std::string();
    Submit<HistoryResult>(target.kpi, timeout, std::move(done),
                          [query](Connection& c) { return QueryHistory(c, query); });
  }

  void Stop() override {
    alive_->store(false);
    std::vector<std::unique_ptr<Connection>> idle;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      for (Connection* c : busy_) c->Interrupt();
      idle.swap(idle_);
    }
  }

 private:
  // Runs `work` on a pooled connection on a worker thread and delivers its result on the
  // io thread. Result is CollectResult or HistoryResult.
  template <typename Result, typename Work>
  void Submit(const std::string& kpi, milliseconds timeout, std::function<void(Result)> done,
              Work work) {
    if (!alive_->load()) return;
    auto deadline = steady_clock::now() + timeout;
    boost::asio::post(pool_, [this, kpi, timeout, deadline, done = std::move(done),
                              work = std::move(work)]() mutable {
      std::optional<Result> result = Execute<Result>(kpi, timeout, deadline, work);
      if (!result) return;
      boost::asio::post(
          io_, [alive = alive_, done = std::move(done), result = std::move(*result)]() mutable {
            if (alive->load()) done(std::move(result));
          });
    });
  }

  // On a worker thread. nullopt when the collector was stopped (nothing is delivered).
  template <typename Result, typename Work>
  std::optional<Result> Execute(const std::string& kpi, milliseconds timeout,
                                steady_clock::time_point deadline, Work& work) {
    if (!alive_->load()) return std::nullopt;
    if (steady_clock::now() >= deadline) {
      return Error(kpi, {ErrorKind::kTimeout, "no connection became free in time"}, timeout);
    }
    // A kept connection may have died with a server restart: one retry on a new one.
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      std::unique_ptr<Connection> conn = TakeIdle();
      if (conn) {
        reused = true;
      } else {
        Opened opened = Open();
        if (auto* failure = std::get_if<Failure>(&opened)) return Error(kpi, *failure, timeout);
        conn = std::move(std::get<std::unique_ptr<Connection>>(opened));
      }
      if (!MarkBusy(conn.get())) return std::nullopt;
      std::optional<Failure> broken;
      std::optional<decltype(work(*conn))> outcome;
      try {
        conn->LimitTime(timeout);
        outcome = work(*conn);
      } catch (const std::exception& e) {
        broken = conn->Classify(e);
      }
      if (!MarkIdle(conn.get())) return std::nullopt;
      if (broken) {
        conn.reset();
        if (reused && attempt == 0 && broken->kind == ErrorKind::kConnect) continue;
        return Error(kpi, *broken, timeout);
      }
      Release(std::move(conn));
      if (auto* failure = std::get_if<Failure>(&*outcome)) return Error(kpi, *failure, timeout);
      return Result(std::move(std::get<0>(*outcome)));
    }
  }

  Opened Open() const {
    if (!open_error_.empty()) return Failure{ErrorKind::kConnect, open_error_};
    switch (driver_) {
      case Driver::kPostgresql:
        return OpenPostgresql(connect_string_);
      case Driver::kMysql:
        return OpenMysql(connect_string_);
      case Driver::kSqlite3:
        return OpenSqlite3(connect_string_);
      case Driver::kOdbc:
        return OpenOdbc(connect_string_);
    }
    return Failure{ErrorKind::kInternal, "unknown driver"};
  }

  std::unique_ptr<Connection> TakeIdle() {
    std::lock_guard lock(mu_);
    if (idle_.empty()) return nullptr;
    std::unique_ptr<Connection> c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }

  void Release(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu_);
    if (!stopped_) idle_.push_back(std::move(conn));
  }

  // Registers `c` as running a statement, so that Stop() can interrupt it. False once
  // stopped.
  bool MarkBusy(Connection* c) {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    busy_.insert(c);
    return true;
  }

  // Unregisters `c`; after this Stop() no longer touches it. False once stopped.
  bool MarkIdle(Connection* c) {
    std::lock_guard lock(mu_);
    busy_.erase(c);
    return !stopped_;
  }

  CollectError Error(const std::string& kpi, const Failure& failure, milliseconds timeout) const {
    std::string message = "source \"" + name_ + "\" (" + std::string(DriverName(driver_)) +
                          "): kpi \"" + kpi + "\": " + std::string(What(failure.kind));
    if (failure.kind == ErrorKind::kTimeout) message += " after " + config::FormatDuration(timeout);
    std::string detail = Tidy(redactor_.Scrub(failure.detail));
    if (!detail.empty()) message += ": " + detail;
    // Cutting may have split a secret: scrub the final text again.
    return {failure.kind, redactor_.Scrub(message)};
  }

  // Prepares `query` into `row` on `st`, ready to execute.
  static void Prepare(Connection& c, soci::statement& st, soci::row& row,
                      const std::string& query) {
    st.exchange(soci::into(row));
    st.alloc();
    st.prepare(query, soci::details::st_one_time_query);
    st.define_and_bind();
    c.BeforeExecute(st);
  }

  // Runs `step` (execute or fetch). A value SOCI could not convert (a malformed date) is a
  // bad row, not a failed query: it lands in `bad` and the statement can go on.
  template <typename Step>
  static bool Advance(Step step, std::optional<std::string>* bad) {
    bad->reset();
    try {
      return step();
    } catch (const std::exception& e) {
      if (!IsConversionError(e)) throw;
      *bad = ErrorText(e);
      return true;
    }
  }

  static Outcome<Sample> QueryValue(Connection& c, const std::string& query) {
    if (query.empty()) return Failure{ErrorKind::kInternal, "the KPI has no sql query"};
    soci::row row;
    soci::statement st(c.session());
    Prepare(c, st, row, query);
    std::optional<std::string> bad;
    if (!Advance([&] { return st.execute(true); }, &bad)) {
      return Failure{ErrorKind::kEmpty, "the query returned no rows"};
    }
    if (bad) return Failure{ErrorKind::kParse, *bad};
    if (row.size() == 0) return Failure{ErrorKind::kEmpty, "the query returned no columns"};
    auto value = ToNumber(c.Read(st, row, 0));
    if (auto* failure = std::get_if<Failure>(&value)) return *failure;
    return Sample{std::get<double>(value), Clock::now()};
  }

  static Outcome<History> QueryHistory(Connection& c, const std::string& query) {
    if (query.empty()) return Failure{ErrorKind::kInternal, "the KPI has no history_query"};
    soci::row row;
    soci::statement st(c.session());
    Prepare(c, st, row, query);
    History history;
    std::optional<std::string> bad;
    std::size_t bad_in_a_row = 0;
    bool got_data = Advance([&] { return st.execute(true); }, &bad);
    for (std::size_t n = 1; got_data; ++n) {
      if (n > kMaxHistoryRows) {
        return Failure{ErrorKind::kTooLarge, "history_query returned more than " +
                                                 std::to_string(kMaxHistoryRows) + " rows"};
      }
      if (!bad && row.size() < 2) {
        return Failure{ErrorKind::kParse,
                       "history_query must return two columns: timestamp, value"};
      }
      if (!bad) {
        auto t = ToTimestamp(c.Read(st, row, 0));
        auto v = ToNumber(c.Read(st, row, 1));
        if (auto* f = std::get_if<Failure>(&t)) {
          bad = f->detail;
        } else if (auto* g = std::get_if<Failure>(&v)) {
          bad = g->detail;
        } else {
          history.samples.push_back({std::get<double>(v), std::get<Clock::time_point>(t)});
        }
      }
      if (bad) {
        if (history.bad_rows++ == 0)
          history.first_bad_row = "row " + std::to_string(n) + ": " + *bad;
        // A statement that fails the same way without moving on is not a bad row.
        if (++bad_in_a_row >= kMaxBadRowsInARow) {
          return Failure{ErrorKind::kParse, std::to_string(bad_in_a_row) +
                                                " rows in a row could not be read: " + *bad};
        }
      } else {
        bad_in_a_row = 0;
      }
      got_data = Advance([&] { return st.fetch(); }, &bad);
    }
    std::stable_sort(history.samples.begin(), history.samples.end(),
                     [](const Sample& a, const Sample& b) { return a.timestamp < b.timestamp; });
    return history;
  }

  const std::string name_;
  const Driver driver_;
  boost::asio::io_context& io_;
  std::string connect_string_;
  std::string open_error_;
  Redactor redactor_;
  // False after Stop(): queued work is skipped and results still in flight are dropped.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);

  std::mutex mu_;
  bool stopped_ = false;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::set<Connection*> busy_;  // running a statement

  boost::asio::thread_pool pool_;  // last: joined before the members above go away
};

}  // namespace

std::unique_ptr<Collector> Make(const config::Source& source, boost::asio::io_context& io) {
  const auto* settings = dynamic_cast<const SourceSettings*>(source.settings.get());
  if (settings == nullptr) return nullptr;
  return std::make_unique<SqlCollector>(source, *settings, io);
}

}  // namespace kpid::collectors::sql
