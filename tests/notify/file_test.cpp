// The `file` receiver on real files in a temporary directory.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "collectors/http/curl_multi.hpp"
#include "daemon/load_config.hpp"
#include "daemon/notify/file/receiver.hpp"
#include "daemon/notify/webhook/payload.hpp"
#include "tests/support/process.hpp"

namespace kpid::notify {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Outcome = Delivery::Outcome;
using Json = nlohmann::json;

Notification MakeNotification(const std::string& kpi, bool firing) {
  Alert a;
  a.firing = firing;
  a.labels = {{"kpi", kpi}, {"alert", "goal"}, {"severity", "critical"}};
  a.annotations = {{"summary", kpi + " is off track"}};
  a.starts_at = TimePoint(std::chrono::milliseconds(1772366400000));
  if (!firing) a.ends_at = a.starts_at + 1h;
  a.generator_url = "http://kpid.example/kpi/" + kpi;
  a.fingerprint = Fingerprint(kpi);
  Notification n;
  n.receiver = "audit";
  n.group_key = "{}:{}";
  n.external_url = "http://kpid.example";
  n.alerts.push_back(std::move(a));
  n.ComputeCommon();
  return n;
}

std::vector<std::string> Lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string Contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class FileReceiverTest : public ::testing::Test {
 protected:
  std::unique_ptr<Receiver> Make(const fs::path& path) {
    const std::string text =
        "[[receiver]]\nname = \"audit\"\ntype = \"file\"\npath = \"" + path.string() + "\"\n";
    config::LoadResult result = config::LoadFromString(text, "t.toml", BuiltinExtensions());
    if (!result.config) {
      ADD_FAILURE() << "config does not load";
      return nullptr;
    }
    return file::MakeReceiver(result.config->receivers.at(0), context_);
  }

  // One attempt, run to its end; checks that `done` came once and not from inside Send().
  Delivery SendOnce(Receiver& receiver, const Notification& n) {
    std::optional<Delivery> result;
    int calls = 0;
    bool inside = true;
    receiver.Send(n, [&](Delivery d) {
      EXPECT_FALSE(inside) << "done called from inside Send()";
      ++calls;
      result = std::move(d);
    });
    inside = false;
    io_.restart();
    io_.poll();
    EXPECT_EQ(calls, 1);
    if (!result) return {Outcome::kFailed, "no delivery", {}};
    return *result;
  }

  kpid::testing::TempDir dir_;
  boost::asio::io_context io_;
  std::unique_ptr<collectors::http::CurlMulti> curl_ =
      std::make_unique<collectors::http::CurlMulti>(io_);
  ReceiverContext context_{io_, *curl_};
};

TEST_F(FileReceiverTest, EachNotificationIsOneParseableLine) {
  const fs::path path = dir_.path() / "alerts.jsonl";
  auto receiver = Make(path);
  const Notification firing = MakeNotification("revenue", true);
  const Notification resolved = MakeNotification("revenue", false);
  Delivery first = SendOnce(*receiver, firing);
  EXPECT_EQ(first.outcome, Outcome::kDelivered) << first.error;
  Delivery second = SendOnce(*receiver, resolved);
  EXPECT_EQ(second.outcome, Outcome::kDelivered) << second.error;

  const std::string contents = Contents(path);
  ASSERT_FALSE(contents.empty());
  EXPECT_EQ(contents.back(), '\n');
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Json::parse(lines[0]), Json::parse(WebhookPayload(firing).dump()));
  EXPECT_EQ(Json::parse(lines[1]), Json::parse(WebhookPayload(resolved).dump()));
  EXPECT_EQ(Json::parse(lines[1])["status"], "resolved");
  EXPECT_EQ(Json::parse(lines[0])["version"], "4");

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0640 & ~mask);
}

TEST_F(FileReceiverTest, AppendsToWhatIsThere) {
  const fs::path path = dir_.path() / "alerts.jsonl";
  dir_.Write("alerts.jsonl", "{\"earlier\":true}\n");
  auto receiver = Make(path);
  EXPECT_EQ(SendOnce(*receiver, MakeNotification("revenue", true)).outcome, Outcome::kDelivered);
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
  EXPECT_EQ(Json::parse(lines[1])["receiver"], "audit");
}

TEST_F(FileReceiverTest, ARotatedFileIsRecreated) {
  const fs::path path = dir_.path() / "alerts.jsonl";
  auto receiver = Make(path);
  EXPECT_EQ(SendOnce(*receiver, MakeNotification("revenue", true)).outcome, Outcome::kDelivered);
  fs::rename(path, dir_.path() / "alerts.jsonl.1");
  EXPECT_EQ(SendOnce(*receiver, MakeNotification("churn", true)).outcome, Outcome::kDelivered);
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Json::parse(lines[0])["alerts"][0]["labels"]["kpi"], "churn");
  EXPECT_EQ(Lines(dir_.path() / "alerts.jsonl.1").size(), 1u);
}

TEST_F(FileReceiverTest, MissingDirectoryIsRetriedAndNamed) {
  const fs::path path = dir_.path() / "no-such-dir" / "alerts.jsonl";
  auto receiver = Make(path);
  const Delivery d = SendOnce(*receiver, MakeNotification("revenue", true));
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_EQ(d.error,
            "file \"audit\": cannot open " + path.string() + ": No such file or directory");
  // Once the directory exists, the retry succeeds.
  fs::create_directory(dir_.path() / "no-such-dir");
  EXPECT_EQ(SendOnce(*receiver, MakeNotification("revenue", true)).outcome, Outcome::kDelivered);
  EXPECT_EQ(Lines(path).size(), 1u);
}

TEST_F(FileReceiverTest, FullDiskIsRetried) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "/dev/full is absent here";
  auto receiver = Make("/dev/full");
  const Delivery d = SendOnce(*receiver, MakeNotification("revenue", true));
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_EQ(d.error, "file \"audit\": cannot write to /dev/full: No space left on device");
}

TEST_F(FileReceiverTest, InvalidUtf8IsReplaced) {
  const fs::path path = dir_.path() / "alerts.jsonl";
  auto receiver = Make(path);
  Notification n = MakeNotification("revenue", true);
  n.alerts[0].annotations.emplace_back("description", "bad \xff byte\nand a newline");
  EXPECT_EQ(SendOnce(*receiver, n).outcome, Outcome::kDelivered);
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 1u);
  const Json line = Json::parse(lines[0]);
  EXPECT_EQ(line["alerts"][0]["annotations"]["description"],
            "bad \xef\xbf\xbd byte\nand a newline");
}

TEST_F(FileReceiverTest, DestroyingTheReceiverDropsThePendingDone) {
  auto receiver = Make(dir_.path() / "alerts.jsonl");
  int calls = 0;
  receiver->Send(MakeNotification("revenue", true), [&](Delivery) { ++calls; });
  receiver.reset();
  io_.restart();
  io_.poll();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Lines(dir_.path() / "alerts.jsonl").size(), 1u);  // the write itself happened
}

}  // namespace
}  // namespace kpid::notify
