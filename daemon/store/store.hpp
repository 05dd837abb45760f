// The state store (DESIGN.md "[storage]"): KPI samples with retention and alert states
// with their timers, in one SQLite database in WAL mode, so that a restart — also after
// kill -9 — resumes where the daemon was. Every write is one transaction. Not
// thread-safe: the daemon uses it from its io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/alert.hpp"
#include "rules/series.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kpid::store {

using TimePoint = std::chrono::system_clock::time_point;

// What went wrong, for logs, /-/ready and the API: names the database file and the
// operation, e.g. "store /var/lib/kpid/kpid.db: cannot open: the directory
// /var/lib/kpid does not exist".
struct Error {
  std::string message;
};

template <typename T>
using Result = std::variant<T, Error>;

struct SampleRow {
  std::string kpi;
  rules::Sample sample;
};

struct AlertRow {
  std::string id;   // "<kpi>/goal" or "<kpi>/<rule>"
  std::string kpi;  // for dropping the alerts of a removed KPI
  rules::AlertState state;
};

// A notification in the outbox: written before it is sent, deleted once delivered, failed
// for good, or expired. `payload` is the notification as JSON (notify::ToJson).
struct OutboxRow {
  std::int64_t id = 0;  // assigned by Enqueue(); never reused
  std::string receiver;
  std::string payload;
  TimePoint created;
  TimePoint expires;
  TimePoint next_attempt;
  int attempts = 0;
  std::string last_error;
};

// What a receiver was last told about an alert, so that a restart neither repeats nor
// forgets a notification.
struct NoticeRow {
  std::string receiver;
  std::string alert;  // alert id
  bool firing = false;
  std::string status;  // the goal status told, "" if none
  std::string severity;
  TimePoint at;  // when it was told (repeat_interval counts from here)
};

// A silence created through the API, as JSON (notify::Silences owns the format).
struct SilenceRow {
  std::string id;
  std::string body;
  TimePoint ends;  // for pruning expired ones
};

// One period of a recurring goal: the open (current) one, or a closed one with its result.
// A closed row is final: saving it again, or the open row of the same period, changes
// nothing, so a rollover recorded twice (a restart right at it) is still one row.
struct PeriodRow {
  std::string kpi;
  TimePoint start;
  TimePoint end;
  std::optional<double> baseline;  // nullopt: carried, and no value seen yet
  double target = 0;
  std::string result;                 // "achieved" or "missed"; "" while the period is open
  std::optional<double> final_value;  // the last sample at or before the end
  std::optional<double> progress;     // of final_value
};

// A goal event (a progress threshold reached, a milestone date passed, the goal achieved)
// that has been told, or that was already past when kpid first judged the goal: each
// happens once per goal and period, also across restarts.
struct EventRow {
  std::string kpi;
  std::string period;  // a recurring goal's period label ("2026-Q3"); "" for other goals
  std::string event;   // "progress_50", "milestone@2026-11-15T23:59:59Z", "achieved", ...
  TimePoint at;        // when it was recorded
};

// A value that a history read again changed: what the store held and what the source says.
struct RestatedValue {
  TimePoint at;
  double before = 0;
  double after = 0;
};

// A span of evaluations over which a KPI's status, replayed over its history, differs
// before and after a restatement.
struct StatusChange {
  std::string kpi;  // the restated KPI, or one that reads it
  TimePoint from;
  TimePoint until;     // the first evaluation where they agree again, or the replay's end
  std::string before;  // status names, "" for none
  std::string after;
};

// A period of a recurring goal judged again after a restatement: a closed one's closing
// value, progress and result (and, with a carried baseline, its baseline), or the open
// one's carried baseline.
struct RestatedPeriod {
  PeriodRow before;  // as the store held it
  PeriodRow after;   // replaces it
};

// A history read again changed values the store held (README "Restated data").
struct RestatementRow {
  std::int64_t id = 0;  // assigned by RecordRestatement()
  std::string kpi;
  TimePoint detected;
  std::size_t values = 0;  // how many changed
  TimePoint first;         // the oldest and the newest of them
  TimePoint last;
  std::vector<RestatedValue> changes;   // oldest first, at most kMaxRestatedValues
  std::vector<StatusChange> statuses;   // in KPI order, then by time
  std::vector<RestatedPeriod> periods;  // of the restated KPI's recurring goal, oldest first
};

// What LoadPeriods() finds for a KPI.
struct StoredPeriods {
  std::optional<PeriodRow> open;
  std::vector<PeriodRow> closed;  // newest first
  std::uint64_t achieved = 0;     // closed periods, all of them
  std::uint64_t missed = 0;
};

enum class Mode {
  kReadWrite,  // creates the file and migrates the schema as needed
  kReadOnly,   // `kpid eval`: never writes; a missing file is an error
};

class Store {
 public:
  // The schema this build writes. Older databases are migrated forward on open (in one
  // transaction); a newer one is refused rather than misread.
  static constexpr int kSchemaVersion = 7;
  // Changed values kept per restatement; the count says how many there were.
  static constexpr std::size_t kMaxRestatedValues = 10'000;

  // Opens (and in kReadWrite creates) the database at `path`; ":memory:" is a private
  // in-memory database. Sets WAL mode, synchronous=NORMAL (a committed transaction
  // survives a crash of the process; a power loss may lose the last ones, never corrupt
  // the file), a busy timeout and foreign keys.
  [[nodiscard]] static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                                           Mode mode = Mode::kReadWrite);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  [[nodiscard]] const std::string& path() const { return path_; }

  // Inserts samples in one transaction; a sample for an existing (kpi, timestamp, to the
  // millisecond) replaces it. Timestamps are stored in milliseconds since the epoch.
  [[nodiscard]] std::optional<Error> AppendSamples(std::span<const SampleRow> rows);

  // A KPI's samples with timestamp >= since, oldest first, at most `limit` (the oldest
  // ones are dropped first when there are more: the result always ends at the newest).
  [[nodiscard]] Result<std::vector<rules::Sample>> Samples(std::string_view kpi, TimePoint since,
                                                           std::size_t limit) const;
  // The same, for timestamps in [since, until).
  [[nodiscard]] Result<std::vector<rules::Sample>> Samples(std::string_view kpi, TimePoint since,
                                                           TimePoint until,
                                                           std::size_t limit) const;

  // The stored samples of a KPI at `times` (to the millisecond), oldest first: one index
  // lookup each, so that comparing a history with the store costs what the history has,
  // not what the store collected in between.
  [[nodiscard]] Result<std::vector<rules::Sample>> SamplesAt(
      std::string_view kpi, std::span<const TimePoint> times) const;
  // The oldest sample of a KPI with timestamp >= since, if any.
  [[nodiscard]] Result<std::optional<rules::Sample>> FirstSample(std::string_view kpi,
                                                                 TimePoint since) const;

  // The newest sample of a KPI, if any.
  [[nodiscard]] Result<std::optional<rules::Sample>> LatestSample(std::string_view kpi) const;

  // Deletes every sample older than `before` (all KPIs), and the restatements detected
  // before it. Returns how many samples were deleted.
  [[nodiscard]] Result<std::size_t> Prune(TimePoint before);

  // Upserts alert states in one transaction.
  [[nodiscard]] std::optional<Error> SaveAlerts(std::span<const AlertRow> rows);
  // Every saved alert state.
  [[nodiscard]] Result<std::vector<AlertRow>> LoadAlerts() const;
  // Deletes the alert states whose id is not in `keep` (alerts of removed KPIs and rules),
  // and their notices, in one transaction. Returns how many alert states were deleted.
  [[nodiscard]] Result<std::size_t> RetainAlerts(std::span<const std::string> keep);

  // Adds `row` to the outbox and upserts `notices` (what it tells), in one transaction, so
  // that a notification is either queued and recorded or neither. Returns the row's id.
  [[nodiscard]] Result<std::int64_t> Enqueue(const OutboxRow& row,
                                             std::span<const NoticeRow> notices);
  // Upserts notices alone (e.g. a resolve its route does not send).
  [[nodiscard]] std::optional<Error> SaveNotices(std::span<const NoticeRow> notices);
  // Saves a row's attempts, next_attempt and last_error after a failed attempt.
  [[nodiscard]] std::optional<Error> UpdateOutbox(const OutboxRow& row);
  // Removes a delivered, failed or expired notification.
  [[nodiscard]] std::optional<Error> DeleteOutbox(std::int64_t id);
  // Every queued notification, oldest first; every notice.
  [[nodiscard]] Result<std::vector<OutboxRow>> LoadOutbox() const;
  [[nodiscard]] Result<std::vector<NoticeRow>> LoadNotices() const;

  // Upserts a silence by id.
  [[nodiscard]] std::optional<Error> SaveSilence(const SilenceRow& row);
  [[nodiscard]] Result<std::vector<SilenceRow>> LoadSilences() const;
  // Deletes the silences that ended before `ended_before`. Returns how many.
  [[nodiscard]] Result<std::size_t> PruneSilences(TimePoint ended_before);

  // When each digest last ran, so that a restart neither skips nor repeats one.
  [[nodiscard]] std::optional<Error> SaveDigestRun(std::string_view name, TimePoint at);
  [[nodiscard]] Result<std::map<std::string, TimePoint, std::less<>>> LoadDigestRuns() const;

  // Saves periods of recurring goals in one transaction. An open row replaces the KPI's
  // other open row, if any (there is one current period); a closed row closes its period
  // unless that is closed already (see PeriodRow).
  [[nodiscard]] std::optional<Error> SavePeriods(std::span<const PeriodRow> rows);
  // A KPI's open period, its newest `closed_limit` closed ones and the counts of all.
  [[nodiscard]] Result<StoredPeriods> LoadPeriods(std::string_view kpi,
                                                  std::size_t closed_limit) const;

  // Records `events` (one already recorded stays as it is), adds `outbox` rows and upserts
  // `notices`, in one transaction: an event is either recorded with the notifications that
  // tell it or not at all, so a crash neither loses nor repeats one. Returns the outbox
  // rows' ids, in order.
  [[nodiscard]] Result<std::vector<std::int64_t>> RecordEvents(std::span<const EventRow> events,
                                                               std::span<const OutboxRow> outbox,
                                                               std::span<const NoticeRow> notices);
  // Every recorded goal event.
  [[nodiscard]] Result<std::vector<EventRow>> LoadEvents() const;

  // Records a restatement with the samples of the history that restated them (replacing
  // the stored values), its periods judged again (replacing the stored rows), the
  // notifications that tell it and the notices they settle, in one transaction: a restart after a
  // crash reads the history again and finds the same restatement, or none because it was recorded
  // and told. Returns the outbox rows' ids.
  [[nodiscard]] Result<std::vector<std::int64_t>> RecordRestatement(
      const RestatementRow& restatement, std::span<const SampleRow> samples,
      std::span<const OutboxRow> outbox, std::span<const NoticeRow> notices);
  // A KPI's newest `limit` restatements, newest first, each with at most `values_limit` of
  // its changed values.
  [[nodiscard]] Result<std::vector<RestatementRow>> LoadRestatements(
      std::string_view kpi, std::size_t limit, std::size_t values_limit) const;

  // The schema version of the open database (kSchemaVersion after a kReadWrite open).
  [[nodiscard]] int SchemaVersion() const;

 private:
  Store(sqlite3* db, std::string path);

  // Sets the pragmas, checks or migrates the schema and prepares the statements.
  [[nodiscard]] std::optional<Error> Initialize(Mode mode, bool in_memory);
  // "store <path>: <operation>: <SQLite's message for the last error>".
  [[nodiscard]] Error Fail(std::string_view operation) const;
  [[nodiscard]] Error ReadOnly(std::string_view operation) const;
  // Steps `select` (bound, reset by the caller) once for a (timestamp ms, value) row.
  [[nodiscard]] Result<std::optional<rules::Sample>> StepSample(sqlite3_stmt* select,
                                                                const std::string& operation) const;
  // Parts of a write; the caller holds the transaction.
  [[nodiscard]] std::optional<Error> UpsertNotices(std::span<const NoticeRow> notices,
                                                   std::string_view operation);
  [[nodiscard]] std::optional<Error> InsertSamples(std::span<const SampleRow> rows,
                                                   std::string_view operation);
  [[nodiscard]] Result<std::int64_t> InsertOutbox(const OutboxRow& row, std::string_view operation);

  sqlite3* db_;
  std::string path_;
  int schema_version_ = 0;
  bool optimize_on_close_ = false;
  // Prepared statements are private to the implementation.
  struct Statements;
  std::unique_ptr<Statements> statements_;
};

}  // namespace kpid::store
