// CurlMulti, the generic libcurl-multi client on an Asio loop, against a real server.
#include "collectors/http/curl_multi.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/collectors/http/harness.hpp"
#include "tests/support/http_test_server.hpp"

namespace kpid::collectors::http::testing {
namespace {

using kpid::testing::HttpTestRequest;
using kpid::testing::HttpTestResponse;
using kpid::testing::HttpTestServer;

struct Transfer {
  std::string body;
  std::optional<CURLcode> result;
  long status = 0;
};

std::size_t Append(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// A GET of `url` whose body and outcome land in `transfer`.
CurlMulti::RequestId Get(CurlMulti& multi, const std::string& url,
                         const std::shared_ptr<Transfer>& transfer) {
  EasyHandle easy(curl_easy_init());
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &transfer->body);
  return multi.Add(std::move(easy), [transfer](CURLcode result, EasyHandle done) {
    transfer->result = result;
    curl_easy_getinfo(done.get(), CURLINFO_RESPONSE_CODE, &transfer->status);
  });
}

HttpTestResponse Slow(const HttpTestRequest& request) {
  HttpTestResponse r = HttpTestResponse::Text(request.target);
  if (request.target.starts_with("/delay")) r.delay = 200ms;
  if (request.target.starts_with("/hang")) r.delay = 60s;
  return r;
}

TEST(CurlMulti, TwoHundredDelayedRequestsAllComplete) {
  HttpTestServer server(Slow);
  boost::asio::io_context io;
  CurlMulti multi(io);
  std::vector<std::shared_ptr<Transfer>> transfers;
  for (int i = 0; i < 200; ++i) {
    transfers.push_back(std::make_shared<Transfer>());
    Get(multi, server.Url("/delay/" + std::to_string(i)), transfers.back());
  }
  EXPECT_EQ(multi.in_flight(), 200u);
  ASSERT_TRUE(RunUntil(
      io, [&] { return multi.in_flight() == 0; }, 120s));
  for (int i = 0; i < 200; ++i) {
    const Transfer& t = *transfers[static_cast<std::size_t>(i)];
    ASSERT_TRUE(t.result) << i;
    EXPECT_EQ(*t.result, CURLE_OK) << i;
    EXPECT_EQ(t.status, 200) << i;
    EXPECT_EQ(t.body, "/delay/" + std::to_string(i));
  }
  EXPECT_EQ(server.request_count(), 200u);
  EXPECT_GT(server.max_in_flight(), 1u);  // they overlapped on the server
}

TEST(CurlMulti, CancelDropsTheCompletion) {
  HttpTestServer server(Slow);
  boost::asio::io_context io;
  CurlMulti multi(io);
  auto hung = std::make_shared<Transfer>();
  auto quick = std::make_shared<Transfer>();
  const CurlMulti::RequestId id = Get(multi, server.Url("/hang"), hung);
  Get(multi, server.Url("/quick"), quick);
  ASSERT_TRUE(RunUntil(io, [&] { return quick->result.has_value(); }));
  EXPECT_FALSE(hung->result);  // a hanging request does not hold up others
  multi.Cancel(id);
  multi.Cancel(id);  // unknown now: ignored
  EXPECT_EQ(multi.in_flight(), 0u);
  RunUntil(
      io, [] { return false; }, 200ms);
  EXPECT_FALSE(hung->result);
  EXPECT_EQ(hung.use_count(), 1);  // the completion and its captures are gone
}

TEST(CurlMulti, CompletionMayStartAnotherRequest) {
  HttpTestServer server(Slow);
  boost::asio::io_context io;
  CurlMulti multi(io);
  auto second = std::make_shared<Transfer>();
  EasyHandle easy(curl_easy_init());
  curl_easy_setopt(easy.get(), CURLOPT_URL, server.Url("/first").c_str());
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &Append);
  auto first_body = std::make_shared<std::string>();
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, first_body.get());
  multi.Add(std::move(easy), [&, first_body](CURLcode result, EasyHandle) {
    EXPECT_EQ(result, CURLE_OK);
    EXPECT_EQ(*first_body, "/first");
    Get(multi, server.Url("/second"), second);
  });
  ASSERT_TRUE(RunUntil(io, [&] { return second->result.has_value(); }));
  EXPECT_EQ(second->body, "/second");
  EXPECT_EQ(server.connection_count(), 1u);  // the connection was kept alive and reused
}

TEST(CurlMulti, RefusedHandleCompletesFromTheLoop) {
  boost::asio::io_context io;
  CurlMulti multi(io);
  std::optional<CURLcode> result;
  multi.Add(EasyHandle(), [&](CURLcode code, EasyHandle) { result = code; });
  EXPECT_FALSE(result);  // never from inside Add()
  ASSERT_TRUE(RunUntil(io, [&] { return result.has_value(); }));
  EXPECT_EQ(*result, CURLE_FAILED_INIT);
}

TEST(CurlMulti, DestroyedWithTransfersInFlight) {
  HttpTestServer server(Slow);
  boost::asio::io_context io;
  auto hung = std::make_shared<Transfer>();
  {
    CurlMulti multi(io);
    Get(multi, server.Url("/hang"), hung);
    ASSERT_TRUE(RunUntil(io, [&] { return server.request_count() == 1; }));
  }
  RunUntil(
      io, [] { return false; }, 200ms);  // queued handlers run against nothing
  EXPECT_FALSE(hung->result);
  EXPECT_EQ(hung.use_count(), 1);
}

TEST(CurlMulti, SharedPerIoContext) {
  boost::asio::io_context a;
  boost::asio::io_context b;
  EXPECT_EQ(&SharedCurlMulti(a), &SharedCurlMulti(a));
  EXPECT_NE(&SharedCurlMulti(a), &SharedCurlMulti(b));
  EXPECT_EQ(&SharedCurlMulti(a).io(), &a);
}

TEST(CurlMulti, IoContextDestroyedWithIdleConnectionsCached) {
  HttpTestServer server(Slow);
  auto io = std::make_unique<boost::asio::io_context>();
  auto done = std::make_shared<Transfer>();
  Get(SharedCurlMulti(*io), server.Url("/x"), done);
  ASSERT_TRUE(RunUntil(*io, [&] { return done->result.has_value(); }));
  EXPECT_EQ(*done->result, CURLE_OK);
  io.reset();  // the service closes the kept-alive connection on shutdown
}

}  // namespace
}  // namespace kpid::collectors::http::testing
