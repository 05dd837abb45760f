#include "daemon/notify/notifier.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <boost/asio/post.hpp>
#include <date/date.h>
#include <date/tz.h>

#include "daemon/log.hpp"
#include "daemon/notify/figures.hpp"
#include "rules/annotation.hpp"
#include "rules/time_spec.hpp"

namespace kpid::notify {
namespace {

using SysDuration = std::chrono::system_clock::duration;

constexpr auto kAlertmanagerResend = std::chrono::minutes(1);

std::string_view LabelValue(const Labels& labels, std::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string GroupLabelsText(const Labels& labels) {
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ",";
    out += k + "=" + Quote(v);
  }
  return out + "}";
}

}  // namespace

std::vector<std::size_t> MatchRoutes(const std::vector<config::Route>& routes,
                                     const Labels& labels) {
  std::vector<std::size_t> matched;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (!config::MatchesAll(routes[i].matchers, labels)) continue;
    matched.push_back(i);
    if (!routes[i].continue_matching) break;
  }
  return matched;
}

ActiveEscalation EscalationAt(const KpiView& view, TimePoint now) {
  ActiveEscalation out;
  if (view.config == nullptr || !view.config->goal || !view.spec.goal) return out;
  const auto* config = std::get_if<config::DeadlineGoal>(&view.config->goal->kind);
  const auto* goal = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind);
  if (config == nullptr || goal == nullptr || config->escalations.empty()) return out;
  const std::optional<rules::Status> status = view.evaluation.status;
  if (!view.evaluation.judged ||
      (status != rules::Status::kOffTrack && status != rules::Status::kMissed)) {
    return out;
  }
  // A recurring goal's deadline is known once its period is.
  if (config->period && !view.period) return out;
  const TimePoint deadline = goal->deadline;
  for (const config::Escalation& e : config->escalations) {
    if (now < deadline - e.within) continue;
    for (const std::string& receiver : e.receivers) {
      auto [it, inserted] = out.repeat.emplace(receiver, e.repeat_interval);
      if (!inserted) it->second = std::min<SysDuration>(it->second, e.repeat_interval);
    }
  }
  if (out.repeat.empty()) return out;
  if (now >= deadline) {
    out.text = "Escalated: the deadline has passed";
  } else {
    const auto days = std::chrono::ceil<std::chrono::days>(deadline - now).count();
    out.text =
        "Escalated: " + std::to_string(days) + (days == 1 ? " day" : " days") + " to the deadline";
  }
  return out;
}

std::vector<std::string> EscalationReceivers(const config::Kpi& kpi) {
  std::vector<std::string> out;
  if (!kpi.goal) return out;
  const auto* goal = std::get_if<config::DeadlineGoal>(&kpi.goal->kind);
  if (goal == nullptr) return out;
  for (const config::Escalation& e : goal->escalations) {
    for (const std::string& receiver : e.receivers) {
      if (std::find(out.begin(), out.end(), receiver) == out.end()) out.push_back(receiver);
    }
  }
  return out;
}

// One group's notification in the making.
// An alert of a batch, made into its message (MakeAlert) only when the batch is sent: most
// passes send nothing, and building every firing alert's labels and figures on every pass
// was a quarter of the daemon's CPU with 200 alerts firing.
struct Notifier::PendingAlert {
  const KpiView* view = nullptr;  // the engine's, unchanged during Reconcile()
  const AlertView* alert = nullptr;
  bool firing = false;
  std::string escalation;  // annotates the message when not empty
  bool ends_now = false;   // resolved for this receiver as of now, though still firing
};

struct Notifier::Batch {
  std::optional<std::size_t> route;       // nullopt: an escalation's
  const config::Route* timing = nullptr;  // group_wait, group_interval, active_time
  std::string receiver;
  std::string key;
  Labels group_labels;
  std::vector<PendingAlert> alerts;
  std::vector<store::NoticeRow> notices;  // what sending it settles
  bool due = false;
};

Notifier::Notifier(boost::asio::io_context& io, prometheus::Registry& registry,
                   Persistence& persistence, ReceiverFactory factory)
    : Notifier(io, registry, persistence, std::move(factory), Options{}) {}

Notifier::Notifier(boost::asio::io_context& io, prometheus::Registry& registry,
                   Persistence& persistence, ReceiverFactory factory, Options options)
    : io_(io),
      persistence_(persistence),
      factory_(std::move(factory)),
      options_(options),
      curl_(io),
      silences_(persistence),
      digests_(persistence),
      reconcile_timer_(io),
      pump_timer_(io),
      notifications_(prometheus::BuildCounter()
                         .Name("kpid_notifications_total")
                         .Help("Notification attempts by receiver and result: delivered, retry, "
                               "failed (refused for good), expired.")
                         .Register(registry)),
      unrouted_(prometheus::BuildCounter()
                    .Name("kpid_alerts_unrouted_total")
                    .Help("Alerts that fired without a route to any receiver.")
                    .Register(registry)
                    .Add({})),
      queue_length_(prometheus::BuildGauge()
                        .Name("kpid_notification_queue_length")
                        .Help("Notifications in the outbox, waiting or being sent.")
                        .Register(registry)
                        .Add({})),
      oldest_pending_(prometheus::BuildGauge()
                          .Name("kpid_notification_oldest_pending_seconds")
                          .Help("Age of the oldest notification in the outbox; 0 when empty.")
                          .Register(registry)
                          .Add({})) {}

Notifier::~Notifier() { Stop(); }

void Notifier::Stop() {
  stopped_ = true;
  reconcile_timer_.cancel();
  pump_timer_.cancel();
  receivers_.clear();  // abandons attempts in flight; they stay in the outbox
  retired_.clear();
  curl_.CancelAll();
}

void Notifier::Apply(std::shared_ptr<const config::Config> config, const Engine& engine) {
  config_ = std::move(config);
  engine_ = &engine;
  // Attempts in flight finish on the receivers they started with: resending them now would
  // deliver them twice (the peer may already have them). Their answers still count.
  const bool in_flight = std::any_of(outbox_.begin(), outbox_.end(), [this](const auto& e) {
    return e.second.in_flight && e.second.generation == generation_;
  });
  if (in_flight) retired_[generation_] = std::move(receivers_);
  ++generation_;
  receivers_.clear();
  for (const config::Receiver& r : config_->receivers) {
    // Every result from the start, so that rate() sees the first failure.
    for (const char* result : {"delivered", "retry", "failed", "expired"}) {
      notifications_.Add({{"receiver", r.name}, {"result", result}});
    }
    if (auto receiver = factory_(r, ReceiverContext{io_, curl_})) {
      receivers_.emplace(r.name, std::move(receiver));
    }
  }
  groups_.clear();
  escalation_receivers_.clear();
  for (const KpiView& view : engine.kpis()) {
    escalation_receivers_.push_back(EscalationReceivers(*view.config));
  }
  silences_.Apply(*config_);
  digests_.Apply(config_, engine);
  Pump();
}

void Notifier::Restore() {
  store::Store* store = persistence_.store();
  if (store == nullptr) return;
  silences_.Restore();
  auto outbox = store->LoadOutbox();
  if (auto* error = std::get_if<store::Error>(&outbox)) {
    log::Error("cannot load the notification outbox", {{"error", error->message}});
  } else {
    for (store::OutboxRow& row : std::get<std::vector<store::OutboxRow>>(outbox)) {
      const std::int64_t id = row.id;
      outbox_[id] = Entry{std::move(row), false};
    }
  }
  auto notices = store->LoadNotices();
  if (auto* error = std::get_if<store::Error>(&notices)) {
    log::Error("cannot load notification notices", {{"error", error->message}});
  } else {
    for (const store::NoticeRow& n : std::get<std::vector<store::NoticeRow>>(notices)) {
      notices_[{n.alert, n.receiver}] = Notice{n.firing, n.status, n.severity, n.at};
    }
  }
  if (!outbox_.empty()) {
    log::Info("notification outbox restored", {{"pending", std::to_string(outbox_.size())}});
  }
  Pump();
}

bool Notifier::ToldFiring(const std::string& alert) const {
  for (auto it = notices_.lower_bound(std::string_view(alert));
       it != notices_.end() && it->first.first == alert; ++it) {
    if (it->second.firing) return true;
  }
  return false;
}

Alert Notifier::MakeAlert(const KpiView& view, const AlertView& alert, bool firing,
                          TimePoint now) const {
  const config::Kpi& kpi = *view.config;
  const rules::AlertState& state = alert.state;
  Alert out;
  out.firing = firing;
  out.labels = rules::AlertLabels(kpi.name, alert.id, state.severity, state.status, kpi.labels);
  if (!alert.summary.empty()) out.annotations.emplace_back("summary", alert.summary);
  if (!alert.description.empty()) out.annotations.emplace_back("description", alert.description);
  out.starts_at = state.fired_at.value_or(state.active_since.value_or(now));
  if (!firing) out.ends_at = state.resolved_at.value_or(now);
  out.generator_url = config_->server.external_url + "/#" + kpi.name;
  out.fingerprint = Fingerprint(alert.id);
  out.figures = KpiFigures(view, config_->evaluation.zone);
  return out;
}

Alert Notifier::MakeEventAlert(const KpiView& view, const GoalEvent& event, TimePoint now) const {
  const config::Kpi& kpi = *view.config;
  const std::optional<rules::Status> status = view.evaluation.status;
  Alert out;
  out.firing = true;
  const std::string id = rules::GoalAlertId(kpi.name);
  out.labels = {{"kpi", kpi.name}, {"alert", id}, {"event", event.name}, {"severity", "info"}};
  if (status) out.labels.emplace_back("status", std::string(rules::StatusName(*status)));
  for (const auto& label : kpi.labels) out.labels.push_back(label);
  out.annotations.emplace_back("summary",
                               EventSummary(GoalEventFacts(event, view, config_->evaluation.zone)));
  // A point in time: firing, and over as it starts (see the webhook payload).
  out.starts_at = now;
  out.ends_at = now;
  out.generator_url = config_->server.external_url + "/#" + kpi.name;
  // Its own: the event must not merge with, or resolve, the goal alert downstream.
  out.fingerprint = Fingerprint(id + "/" + event.period + "/" + event.key);
  out.figures = KpiFigures(view, config_->evaluation.zone);
  if (event.value) out.figures.value = *event.value;
  return out;
}

void Notifier::Announce(std::span<const GoalEvent> events, TimePoint now) {
  if (events.empty()) return;
  Announcement a = Prepare(events, now);
  std::optional<std::vector<std::int64_t>> ids =
      persistence_.RecordEvents(a.events, a.outbox, a.settled);
  if (!ids) {
    log::Error("goal events not written to the store; sending them without a retry guarantee",
               {{"events", std::to_string(events.size())}});
  }
  Send(std::move(a), ids);
}

Notifier::Announcement Notifier::Prepare(std::span<const GoalEvent> events, TimePoint now) const {
  Announcement out;
  if (stopped_ || engine_ == nullptr || !config_) return out;
  for (const GoalEvent& event : events) {
    if (event.kind != GoalEvent::Kind::kRestated) {
      out.events.push_back({event.kpi, event.period, event.key, now});
    }
    const KpiView* view = engine_->Find(event.kpi);
    if (event.silent || event.kind == GoalEvent::Kind::kJudged || view == nullptr) continue;
    const std::string id = rules::GoalAlertId(event.kpi);
    const AlertView* goal_alert = nullptr;
    for (const AlertView& a : view->alerts) {
      if (a.id == id) goal_alert = &a;
    }
    if (goal_alert == nullptr) continue;
    // Routed and silenced like the goal alert.
    const Labels labels = rules::AlertLabels(event.kpi, id, goal_alert->state.severity,
                                             goal_alert->state.status, view->config->labels);
    if (silences_.Silenced(labels, now)) {
      log::Info("goal event silenced", {{"kpi", event.kpi}, {"event", event.name}});
      continue;
    }
    std::vector<std::string> receivers;
    const auto add_receiver = [&receivers](const std::string& r) {
      if (std::find(receivers.begin(), receivers.end(), r) == receivers.end()) {
        receivers.push_back(r);
      }
    };
    for (std::size_t r : MatchRoutes(config_->routes, labels)) {
      for (const std::string& receiver : config_->routes[r].receivers) add_receiver(receiver);
    }
    if (event.kind == GoalEvent::Kind::kAchieved &&
        goal_alert->state.phase != rules::AlertPhase::kFiring) {
      // Those told it fires hear this instead of its resolve.
      const std::string status =
          goal_alert->state.status ? std::string(rules::StatusName(*goal_alert->state.status)) : "";
      const std::string severity(rules::SeverityName(goal_alert->state.severity));
      for (auto it = notices_.lower_bound(std::string_view(id));
           it != notices_.end() && it->first.first == id; ++it) {
        if (!it->second.firing) continue;
        add_receiver(it->first.second);
        out.settled.push_back({it->first.second, id, false, status, severity, now});
      }
    }
    if (receivers.empty()) {
      log::Info("goal event has no route; nobody is told",
                {{"kpi", event.kpi}, {"event", event.name}});
      continue;
    }
    const Alert alert = MakeEventAlert(*view, event, now);
    for (const std::string& receiver : receivers) {
      Notification& n = out.notifications.emplace_back();
      n.receiver = receiver;
      n.group_key = "event/" + receiver + ":" + id + "/" + event.period + "/" + event.key;
      n.group_labels = {{"kpi", event.kpi}};
      n.external_url = config_->server.external_url;
      n.alerts.push_back(alert);
      n.ComputeCommon();
      out.outbox.push_back(OutboxRowOf(n, now));
    }
  }
  return out;
}

void Notifier::Send(Announcement announcement,
                    const std::optional<std::vector<std::int64_t>>& ids) {
  for (const store::NoticeRow& notice : announcement.settled) {
    notices_[{notice.alert, notice.receiver}] =
        Notice{notice.firing, notice.status, notice.severity, notice.at};
  }
  std::vector<store::OutboxRow>& outbox = announcement.outbox;
  for (std::size_t i = 0; i < outbox.size(); ++i) {
    outbox[i].id = ids && i < ids->size() ? (*ids)[i] : next_memory_id_--;
    Admit(std::move(outbox[i]), announcement.notifications[i], "event");
  }
  Pump();
}

SysDuration Notifier::RepeatInterval(const config::Route& route, std::string_view receiver) const {
  // Alertmanager resolves an alert it has not heard of for resolve_timeout (5 min by
  // default), so, like Prometheus, tell it about firing alerts every minute.
  const config::Receiver* r = config_->FindReceiver(receiver);
  if (r != nullptr && r->type == "alertmanager") {
    return route.repeat_interval == SysDuration::zero()
               ? kAlertmanagerResend
               : std::min<SysDuration>(route.repeat_interval, kAlertmanagerResend);
  }
  return route.repeat_interval;
}

void Notifier::Reconcile(TimePoint now) {
  if (stopped_ || engine_ == nullptr || !config_) return;
  if (!last_silence_prune_ || now - *last_silence_prune_ >= std::chrono::hours(1)) {
    silences_.Prune(now);
    last_silence_prune_ = now;
  }
  std::map<std::string, Batch> batches;
  const auto add = [&](const std::string& key, const config::Route& timing, Labels group_labels,
                       std::optional<std::size_t> route, const std::string& receiver,
                       PendingAlert alert, store::NoticeRow notice, bool due) {
    Batch& batch = batches[key];
    if (batch.key.empty()) {
      batch.route = route;
      batch.timing = &timing;
      batch.receiver = receiver;
      batch.key = key;
      batch.group_labels = std::move(group_labels);
    }
    batch.alerts.push_back(std::move(alert));
    batch.notices.push_back(std::move(notice));
    batch.due = batch.due || due;
  };
  const std::vector<KpiView>& views = engine_->kpis();
  // Apply() saw the engine's KPIs; a mismatch would be an engine applied alone.
  const bool cached = escalation_receivers_.size() == views.size();
  std::vector<std::string> computed;
  for (std::size_t k = 0; k < views.size(); ++k) {
    const KpiView& view = views[k];
    if (!cached) computed = EscalationReceivers(*view.config);
    const std::vector<std::string>& escalation_receivers =
        cached ? escalation_receivers_[k] : computed;
    // EscalationAt() holds only for these statuses; most KPIs are quiet or never escalate.
    const std::optional<rules::Status> kpi_status = view.evaluation.status;
    const ActiveEscalation escalation =
        !escalation_receivers.empty() &&
                (kpi_status == rules::Status::kOffTrack || kpi_status == rules::Status::kMissed)
            ? EscalationAt(view, now)
            : ActiveEscalation{};
    for (const AlertView& alert : view.alerts) {
      const bool firing = alert.state.phase == rules::AlertPhase::kFiring;
      // Most alerts are quiet and were never told: nothing to route.
      if (!firing && !ToldFiring(alert.id)) continue;
      const std::string status =
          alert.state.status ? std::string(rules::StatusName(*alert.state.status)) : "";
      const std::string severity(rules::SeverityName(alert.state.severity));
      const Labels labels = rules::AlertLabels(view.config->name, alert.id, alert.state.severity,
                                               alert.state.status, view.config->labels);
      if (firing && silences_.Silenced(labels, now)) continue;
      const std::vector<std::size_t> routes = MatchRoutes(config_->routes, labels);
      if (routes.empty() && escalation.repeat.empty()) {
        if (firing && unrouted_logged_.insert(alert.id).second) {
          unrouted_.Increment();
          log::Warn("alert fires but no route matches it; nobody is told", {{"alert", alert.id}});
        }
      }
      // Whether `receiver` is due a message about this alert, given what it was last told.
      const auto is_due = [&](const std::string& receiver, SysDuration repeat) {
        auto told = notices_.find({alert.id, receiver});
        const bool told_firing = told != notices_.end() && told->second.firing;
        return !firing || !told_firing || told->second.status != status ||
               told->second.severity != severity ||
               (repeat > SysDuration::zero() && now - told->second.at >= repeat);
      };
      const auto pending = [&](bool alert_firing, bool escalated) {
        return PendingAlert{&view, &alert, alert_firing, escalated ? escalation.text : "", false};
      };
      std::set<std::string, std::less<>> routed;
      for (std::size_t r : routes) {
        const config::Route& route = config_->routes[r];
        for (const std::string& receiver : route.receivers) {
          routed.insert(receiver);
          auto told = notices_.find({alert.id, receiver});
          const bool told_firing = told != notices_.end() && told->second.firing;
          if (!firing && !told_firing) continue;  // nothing to tell, nothing to take back
          SysDuration repeat = RepeatInterval(route, receiver);
          // A receiver the route and an active escalation both name: one message, repeated
          // as often as the escalation asks.
          const auto esc = escalation.repeat.find(receiver);
          const bool escalated = firing && esc != escalation.repeat.end();
          if (escalated) {
            repeat = repeat == SysDuration::zero() ? esc->second : std::min(repeat, esc->second);
          }
          Labels group_labels;
          for (const std::string& name : route.group_by) {
            group_labels.emplace_back(name, std::string(LabelValue(labels, name)));
          }
          const std::string key =
              std::to_string(r) + "/" + receiver + ":" + GroupLabelsText(group_labels);
          add(key, route, std::move(group_labels), r, receiver, pending(firing, escalated),
              {receiver, alert.id, firing, status, severity, now}, is_due(receiver, repeat));
        }
      }
      // Escalation receivers no route gave this alert: told while the escalation holds,
      // then told it is resolved (the alert resolved, the status eased, the window moved).
      // Grouped per KPI and receiver, timed like the alert's first route.
      const config::Route& timing = routes.empty() ? default_timing_ : config_->routes[routes[0]];
      for (const std::string& receiver : escalation_receivers) {
        if (routed.contains(receiver)) continue;
        const auto esc = escalation.repeat.find(receiver);
        const bool active = firing && esc != escalation.repeat.end();
        auto told = notices_.find({alert.id, receiver});
        const bool told_firing = told != notices_.end() && told->second.firing;
        if (!active && !told_firing) continue;
        Labels group_labels = {{"kpi", view.config->name}};
        const std::string key = "escalate/" + receiver + ":" + GroupLabelsText(group_labels);
        SysDuration repeat = SysDuration::zero();
        if (active) {
          repeat = esc->second;
          const config::Receiver* rec = config_->FindReceiver(receiver);
          if (rec != nullptr && rec->type == "alertmanager") {
            repeat = std::min<SysDuration>(repeat, kAlertmanagerResend);
          }
        }
        PendingAlert a = pending(active, active);
        // Still firing, but no longer escalated: resolved for this receiver as of now.
        a.ends_now = !active && firing;
        add(key, timing, std::move(group_labels), std::nullopt, receiver, std::move(a),
            {receiver, alert.id, active, status, severity, now},
            active ? is_due(receiver, repeat) : true);
      }
    }
  }

  std::optional<TimePoint> wake;
  std::map<std::string, Group> groups;
  for (auto& [key, batch] : batches) {
    Group group = groups_.contains(key) ? groups_[key] : Group{};
    if (batch.due) {
      const config::Route& route = *batch.timing;
      if (!group.due_since) group.due_since = now;
      TimePoint at = group.last_sent
                         ? std::max(*group.due_since, *group.last_sent + route.group_interval)
                         : *group.due_since + route.group_wait;
      if (route.active_time) {
        at = route.active_time->NextOpen(std::chrono::ceil<std::chrono::seconds>(at),
                                         config_->evaluation.zone);
      }
      if (at <= now) {
        Flush(batch, now);
        group.last_sent = now;
        group.due_since.reset();
      } else {
        wake = std::min(wake.value_or(at), at);
      }
    } else {
      group.due_since.reset();
    }
    groups.emplace(key, group);
  }
  groups_ = std::move(groups);  // groups without members are gone
  for (Digests::Run& run : digests_.Due(now, wake)) {
    for (const Notification& n : run.notifications) Queue(n, {}, now);
    digests_.MarkRun(run.digest, now);
  }
  WakeAt(wake);
  Pump();
}

void Notifier::Flush(Batch& batch, TimePoint now) {
  // Escalations always take back what they told.
  const bool send_resolved = !batch.route || batch.timing->send_resolved;
  Notification n;
  n.receiver = batch.receiver;
  n.group_key = batch.key;
  n.group_labels = batch.group_labels;
  n.external_url = config_->server.external_url;
  for (const PendingAlert& p : batch.alerts) {
    if (!p.firing && !send_resolved) continue;
    Alert alert = MakeAlert(*p.view, *p.alert, p.firing, now);
    if (!p.escalation.empty()) alert.annotations.emplace_back("escalation", p.escalation);
    if (p.ends_now) alert.ends_at = now;
    n.alerts.push_back(std::move(alert));
  }
  n.ComputeCommon();
  for (const store::NoticeRow& notice : batch.notices) {
    notices_[{notice.alert, notice.receiver}] =
        Notice{notice.firing, notice.status, notice.severity, notice.at};
  }
  store::Store* store = persistence_.store();
  if (n.alerts.empty()) {
    // Only resolves, and this route does not send them: remember they are settled.
    if (store != nullptr) {
      if (auto error = store->SaveNotices(batch.notices)) {
        log::Error("cannot save notification notices", {{"error", error->message}});
      }
    }
    return;
  }
  Queue(n, batch.notices, now);
}

void Notifier::Queue(const Notification& n, std::span<const store::NoticeRow> notices,
                     TimePoint now) {
  store::Store* store = persistence_.store();
  store::OutboxRow row = OutboxRowOf(n, now);
  std::optional<std::string> error = "the state store is not open";
  if (store != nullptr) {
    auto id = store->Enqueue(row, notices);
    if (auto* e = std::get_if<store::Error>(&id)) {
      error = e->message;
    } else {
      row.id = std::get<std::int64_t>(id);
      error.reset();
    }
  }
  if (error) {
    // Sent anyway, but not durable: a restart before delivery loses it.
    row.id = next_memory_id_--;
    log::Error("notification not written to the store; sending it without a retry guarantee",
               {{"receiver", n.receiver}, {"error", *error}});
  }
  Admit(std::move(row), n, n.Status());
}

store::OutboxRow Notifier::OutboxRowOf(const Notification& n, TimePoint now) const {
  store::OutboxRow row;
  row.receiver = n.receiver;
  row.payload = ToJson(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  row.created = now;
  row.expires = now + options_.expiry;
  row.next_attempt = TimePoint{};  // at once
  return row;
}

void Notifier::Admit(store::OutboxRow row, const Notification& n, std::string_view status) {
  log::Info("notification queued", {{"receiver", n.receiver},
                                    {"group", n.group_key},
                                    {"status", std::string(status)},
                                    {"alerts", std::to_string(n.alerts.size())}});
  const std::int64_t id = row.id;
  outbox_[id] = Entry{std::move(row), false};
}

void Notifier::WakeAt(std::optional<TimePoint> at) {
  if (!at || stopped_) return;
  const auto delay = *at - std::chrono::system_clock::now();
  reconcile_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::max(delay, SysDuration::zero())) +
                                 std::chrono::milliseconds(1));
  reconcile_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Reconcile(std::chrono::system_clock::now());
  });
}

void Notifier::Pump() {
  if (stopped_) return;
  const TimePoint now = std::chrono::system_clock::now();
  std::map<std::string, std::size_t, std::less<>> busy;
  for (const auto& [id, entry] : outbox_) {
    if (entry.in_flight) ++busy[entry.row.receiver];
  }
  std::optional<TimePoint> wake;
  // Receivers that can take another attempt; once none can, the rest of the queue waits.
  std::size_t open = receivers_.size();
  for (const auto& [name, count] : busy) {
    if (count >= options_.max_in_flight_per_receiver && receivers_.contains(name)) --open;
  }
  for (auto it = outbox_.begin(); it != outbox_.end() && open > 0;) {
    const std::int64_t id = it->first;
    Entry& entry = it->second;
    ++it;  // Drop() below erases the current entry
    if (entry.in_flight) continue;
    store::OutboxRow& row = entry.row;
    if (now >= row.expires) {
      Drop(id, "expired",
           "not delivered within its expiry; last error: " +
               (row.last_error.empty() ? std::string("none") : row.last_error));
      continue;
    }
    if (row.next_attempt > now) {
      wake = std::min(wake.value_or(row.next_attempt), row.next_attempt);
      continue;
    }
    auto receiver = receivers_.find(row.receiver);
    if (receiver == receivers_.end()) {
      Drop(id, "failed", "receiver " + Quote(row.receiver) + " is no longer configured");
      continue;
    }
    std::size_t& in_flight = busy[row.receiver];
    if (in_flight >= options_.max_in_flight_per_receiver) continue;
    std::optional<Notification> n =
        FromJson(nlohmann::json::parse(row.payload, nullptr, /*allow_exceptions=*/false));
    if (!n) {
      Drop(id, "failed", "the stored notification is unreadable");
      continue;
    }
    entry.in_flight = true;
    entry.generation = generation_;
    if (++in_flight == options_.max_in_flight_per_receiver) --open;
    ++row.attempts;
    const std::uint64_t generation = generation_;
    receiver->second->Send(*n, [this, id, generation](const Delivery& delivery) {
      OnDelivery(id, generation, delivery);
    });
  }

  // Ids grow with time: the first entry is the oldest.
  const double oldest =
      outbox_.empty()
          ? 0.0
          : std::max(
                0.0,
                std::chrono::duration<double>(now - outbox_.begin()->second.row.created).count());
  oldest_pending_.Set(oldest);
  queue_length_.Set(static_cast<double>(outbox_.size()));
  if (wake) {
    pump_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::max(*wake - now, SysDuration::zero())) +
                              std::chrono::milliseconds(1));
    pump_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) Pump();
    });
  }
}

void Notifier::OnDelivery(std::int64_t id, std::uint64_t generation, const Delivery& delivery) {
  if (stopped_) return;
  auto it = outbox_.find(id);
  if (it == outbox_.end() || !it->second.in_flight || it->second.generation != generation) return;
  if (generation != generation_) {
    // Not from inside the receiver's own callback.
    boost::asio::post(io_, [this, generation] { ReleaseRetired(generation); });
  }
  store::OutboxRow& row = it->second.row;
  it->second.in_flight = false;
  const std::string receiver = row.receiver;
  switch (delivery.outcome) {
    case Delivery::Outcome::kDelivered: {
      notifications_.Add({{"receiver", receiver}, {"result", "delivered"}}).Increment();
      log::Info("notification delivered",
                {{"receiver", receiver}, {"attempts", std::to_string(row.attempts)}});
      if (store::Store* store = persistence_.store(); store != nullptr && id > 0) {
        if (auto error = store->DeleteOutbox(id)) {
          // It would be sent again after a restart: at least once, never lost.
          log::Error("cannot remove a delivered notification from the outbox",
                     {{"error", error->message}});
        }
      }
      outbox_.erase(it);
      break;
    }
    case Delivery::Outcome::kFailed:
      Drop(id, "failed", delivery.error);
      break;
    case Delivery::Outcome::kRetry: {
      notifications_.Add({{"receiver", receiver}, {"result", "retry"}}).Increment();
      // Exponential backoff from min_backoff, capped, with ±20 % jitter so that receivers
      // coming back are not hit by every queued message at once.
      static thread_local std::mt19937_64 random{std::random_device{}()};
      const double exponent = std::min(row.attempts - 1, 30);
      double seconds =
          std::chrono::duration<double>(options_.min_backoff).count() * std::pow(2.0, exponent);
      seconds = std::min(seconds, std::chrono::duration<double>(options_.max_backoff).count());
      seconds *= std::uniform_real_distribution<double>(0.8, 1.2)(random);
      if (delivery.retry_after) {
        seconds = std::max(seconds, static_cast<double>(delivery.retry_after->count()));
      }
      const TimePoint now = std::chrono::system_clock::now();
      row.next_attempt =
          now + std::chrono::duration_cast<SysDuration>(std::chrono::duration<double>(seconds));
      row.last_error = delivery.error;
      log::Warn("notification not delivered; will retry",
                {{"receiver", receiver},
                 {"attempts", std::to_string(row.attempts)},
                 {"retry_in", rules::FormatNumber(seconds) + "s"},
                 {"error", delivery.error}});
      if (store::Store* store = persistence_.store(); store != nullptr && id > 0) {
        if (auto error = store->UpdateOutbox(row)) {
          log::Error("cannot save a notification's retry state", {{"error", error->message}});
        }
      }
      break;
    }
  }
  Pump();
}

void Notifier::ReleaseRetired(std::uint64_t generation) {
  const bool busy = std::any_of(outbox_.begin(), outbox_.end(), [generation](const auto& e) {
    return e.second.in_flight && e.second.generation == generation;
  });
  if (!busy) retired_.erase(generation);
}

void Notifier::Drop(std::int64_t id, std::string_view result, std::string_view why) {
  auto it = outbox_.find(id);
  if (it == outbox_.end()) return;
  const std::string receiver = it->second.row.receiver;
  notifications_.Add({{"receiver", receiver}, {"result", std::string(result)}}).Increment();
  log::Error("notification dropped", {{"receiver", receiver},
                                      {"result", std::string(result)},
                                      {"attempts", std::to_string(it->second.row.attempts)},
                                      {"error", std::string(why)}});
  if (store::Store* store = persistence_.store(); store != nullptr && id > 0) {
    if (auto error = store->DeleteOutbox(id)) {
      log::Error("cannot remove a dropped notification from the outbox",
                 {{"error", error->message}});
    }
  }
  outbox_.erase(it);
}

}  // namespace kpid::notify
