// POST /api/v1/silences bodies, in-process and fast (http_request reaches the same code
// through the server): any bytes as JSON, then the daemon's silence validation. A silence
// it accepts is matched against alert labels, and its API JSON, without the fields kpid
// sets, is accepted again as the same silence.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/notify/silences.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace notify = kpid::notify;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;
  // 2026-11-27T09:00:00Z
  const notify::TimePoint now{std::chrono::seconds(1795770000)};
  auto parsed = notify::ParseSilence(body, now);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    KPID_FUZZ_CHECK(!error->empty(), "an error says what is wrong");
    return 0;
  }
  const notify::Silence& silence = std::get<notify::Silence>(parsed);
  (void)silence.Matches({{"kpi", "eu_orders"}, {"team", "finance"}, {"severity", "warning"}});
  (void)silence.Matches({});
  nlohmann::ordered_json shown = notify::SilenceJson(silence, now);
  const std::string dumped = shown.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (const char* key : {"id", "created_at", "source", "state"}) shown.erase(key);
  auto again = notify::ParseSilence(nlohmann::json::parse(shown.dump()), now);
  KPID_FUZZ_CHECK(std::holds_alternative<notify::Silence>(again), "its own JSON is accepted");
  KPID_FUZZ_CHECK(notify::SilenceJson(std::get<notify::Silence>(again), now)
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) == dumped,
                  "and reads back the same");
  return 0;
}
