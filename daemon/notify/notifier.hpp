// From alert states to delivered messages (DESIGN.md "Notifications"). After every
// evaluation the notifier compares each alert's state with what each of its receivers was
// last told (the notices, kept in the store) and, for what differs, builds grouped
// notifications per route and receiver with Alertmanager's timing (group_wait,
// group_interval, repeat_interval, send_resolved, active_time). A notification is written
// to the outbox together with the notices it settles, in one transaction, and only then
// sent; it is retried with exponential backoff and jitter until delivered, refused for good,
// or expired. Comparing states rather than reacting to transitions makes it restart-safe:
// after a crash, whatever was not queued is still different and gets queued; whatever was
// queued is in the outbox. Silences (config and API) keep matching alerts out.
//
// Everything runs on the io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "collectors/http/curl_multi.hpp"
#include "daemon/config/config.hpp"
#include "daemon/engine.hpp"
#include "daemon/notify/digest.hpp"
#include "daemon/notify/notification.hpp"
#include "daemon/notify/receiver.hpp"
#include "daemon/notify/silences.hpp"
#include "daemon/persistence.hpp"

namespace kpid::notify {

// The routes (indexes into `routes`) an alert with `labels` goes to: the first that
// matches, then, while each matched route has `continue`, the next matching ones. A route
// without matchers matches every alert; a matcher on a label the alert lacks sees "".
[[nodiscard]] std::vector<std::size_t> MatchRoutes(const std::vector<config::Route>& routes,
                                                   const Labels& labels);

// A KPI's [[kpi.goal.escalate]] entries in force at `now`: the goal is off_track or missed
// and its deadline (a recurring goal's: the current period's end) is at most an entry's
// `within` away, or past. Maps each receiver of the entries in force to the shortest
// repeat_interval among those naming it; empty when none is in force.
struct ActiveEscalation {
  std::map<std::string, std::chrono::system_clock::duration, std::less<>> repeat;
  std::string text;  // what the messages say: "Escalated: 12 days to the deadline"
};
[[nodiscard]] ActiveEscalation EscalationAt(const KpiView& view, TimePoint now);

// Every receiver a KPI's escalation entries name, once each, in config order.
[[nodiscard]] std::vector<std::string> EscalationReceivers(const config::Kpi& kpi);

// Builds the receivers of a config; the registry's by default, tests inject their own.
using ReceiverFactory =
    std::function<std::unique_ptr<Receiver>(const config::Receiver&, const ReceiverContext&)>;

class Notifier {
 public:
  struct Options {
    std::chrono::system_clock::duration expiry = std::chrono::hours(24);
    std::chrono::system_clock::duration min_backoff = std::chrono::seconds(1);
    std::chrono::system_clock::duration max_backoff = std::chrono::minutes(5);
    std::size_t max_in_flight_per_receiver = 4;
  };

  Notifier(boost::asio::io_context& io, prometheus::Registry& registry, Persistence& persistence,
           ReceiverFactory factory, Options options);
  Notifier(boost::asio::io_context& io, prometheus::Registry& registry, Persistence& persistence,
           ReceiverFactory factory);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Takes a (new) config: routes, receivers (rebuilt; attempts in flight finish on the
  // replaced ones), silences, external URL. `engine` must outlive the notifier.
  void Apply(std::shared_ptr<const config::Config> config, const Engine& engine);

  // Loads the outbox and the notices from the store, once it is open; sends what is due.
  void Restore();

  // Tells the goal events of an evaluation pass (Engine::Cycle::events), before
  // Reconcile(): each to the receivers the KPI's goal alert routes to, one notification per
  // receiver, not grouped or delayed; a silenced goal alert keeps them from everyone. Each
  // event is recorded in the store with its notifications in one transaction (silent ones
  // and untold ones alone). "achieved" also goes to every receiver told that the goal alert
  // fires, instead of its resolve: the notices it settles are part of that transaction.
  void Announce(std::span<const GoalEvent> events, TimePoint now);

  // Announce() in two steps, for a caller that writes more in the same transaction (a
  // restatement): Prepare() finds the receivers and builds the store's rows; the caller
  // writes them (Store::RecordEvents, or with what it records) and hands the outbox ids to
  // Send(), nullopt when the write failed: the notifications then go from memory.
  struct Announcement {
    std::vector<store::EventRow> events;  // restatements are recorded as such, not here
    std::vector<store::OutboxRow> outbox;
    std::vector<store::NoticeRow> settled;
    std::vector<Notification> notifications;  // parallel to outbox
  };
  [[nodiscard]] Announcement Prepare(std::span<const GoalEvent> events, TimePoint now) const;
  void Send(Announcement announcement, const std::optional<std::vector<std::int64_t>>& ids);

  // Queues what the alert states call for as of `now` and sends what is due.
  void Reconcile(TimePoint now);

  // Abandons attempts in flight (they stay in the outbox) and stops the timers.
  void Stop();

  [[nodiscard]] std::size_t queue_length() const { return outbox_.size(); }

  // The silences it applies; the API adds and expires them.
  [[nodiscard]] Silences& silences() { return silences_; }
  [[nodiscard]] const Silences& silences() const { return silences_; }

 private:
  struct Notice {
    bool firing = false;
    std::string status;
    std::string severity;
    TimePoint at;
  };
  struct Group {
    std::optional<TimePoint> due_since;  // something in it changed and is not sent yet
    std::optional<TimePoint> last_sent;
  };
  struct Entry {
    store::OutboxRow row;
    bool in_flight = false;
    std::uint64_t generation = 0;  // of the receiver its attempt in flight went to
  };
  struct PendingAlert;
  struct Batch;

  void Flush(Batch& batch, TimePoint now);
  // Writes `n` to the outbox with the notices it settles (one transaction), then queues it.
  void Queue(const Notification& n, std::span<const store::NoticeRow> notices, TimePoint now);
  // The outbox row that sends `n`, due at once; its id is the store's or a memory one.
  [[nodiscard]] store::OutboxRow OutboxRowOf(const Notification& n, TimePoint now) const;
  // Takes `row` (with its id) into the outbox and logs it as queued.
  void Admit(store::OutboxRow row, const Notification& n, std::string_view status);
  void Pump();
  void OnDelivery(std::int64_t id, std::uint64_t generation, const Delivery& delivery);
  // Destroys the receivers of `generation` that Apply() replaced, once no attempt of
  // theirs is in flight any more.
  void ReleaseRetired(std::uint64_t generation);
  void Drop(std::int64_t id, std::string_view result, std::string_view why);
  void WakeAt(std::optional<TimePoint> reconcile_at);
  // Whether some receiver was last told that `alert` fires.
  [[nodiscard]] bool ToldFiring(const std::string& alert) const;
  [[nodiscard]] std::chrono::system_clock::duration RepeatInterval(const config::Route& route,
                                                                   std::string_view receiver) const;
  [[nodiscard]] Alert MakeAlert(const KpiView& view, const AlertView& alert, bool firing,
                                TimePoint now) const;
  // The alert that tells a goal event: labels kpi, alert (the goal alert's id), event,
  // severity "info", status (the current one) and the KPI's labels.
  [[nodiscard]] Alert MakeEventAlert(const KpiView& view, const GoalEvent& event,
                                     TimePoint now) const;

  boost::asio::io_context& io_;
  Persistence& persistence_;
  ReceiverFactory factory_;
  Options options_;
  std::shared_ptr<const config::Config> config_;
  const Engine* engine_ = nullptr;
  collectors::http::CurlMulti curl_;
  // Rebuilt by Apply(); `generation_` tells callbacks of replaced receivers apart.
  std::map<std::string, std::unique_ptr<Receiver>, std::less<>> receivers_;
  std::uint64_t generation_ = 0;
  // Receivers replaced by Apply() while attempts were in flight, by generation: kept until
  // those attempts answer, so that a reload neither abandons nor repeats a delivery.
  std::map<std::uint64_t, std::map<std::string, std::unique_ptr<Receiver>, std::less<>>> retired_;
  // Orders (alert id, receiver) keys and finds an alert's first one by its id alone, so that
  // asking about a quiet alert on every pass builds no key.
  struct NoticeKeyLess {
    using is_transparent = void;
    using Key = std::pair<std::string, std::string>;
    bool operator()(const Key& a, const Key& b) const { return a < b; }
    bool operator()(const Key& a, std::string_view alert) const { return a.first < alert; }
    bool operator()(std::string_view alert, const Key& b) const { return alert < b.first; }
  };
  std::map<std::pair<std::string, std::string>, Notice, NoticeKeyLess>
      notices_;  // (alert id, receiver)
  // Per KPI in engine order, from Apply(): EscalationReceivers(), so that Reconcile() neither
  // rebuilds it nor asks EscalationAt() of a KPI without escalations.
  std::vector<std::vector<std::string>> escalation_receivers_;
  Silences silences_;
  Digests digests_;
  std::optional<TimePoint> last_silence_prune_;
  std::map<std::string, Group> groups_;   // by group key
  std::map<std::int64_t, Entry> outbox_;  // by id, oldest first
  std::int64_t next_memory_id_ = -1;      // ids of rows the store could not take
  std::set<std::string> unrouted_logged_;
  // Timing of escalated messages for an alert that no route matches: the route defaults.
  const config::Route default_timing_{};
  boost::asio::steady_timer reconcile_timer_;
  boost::asio::steady_timer pump_timer_;
  bool stopped_ = false;

  prometheus::Family<prometheus::Counter>& notifications_;
  prometheus::Counter& unrouted_;
  prometheus::Gauge& queue_length_;
  prometheus::Gauge& oldest_pending_;
};

}  // namespace kpid::notify
