#include "daemon/http/listen_address.hpp"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace kpid::http {
namespace {

struct Valid {
  const char* text;
  const char* host;
  std::uint16_t port;
};

TEST(HttpListenAddressTest, AcceptsValidAddresses) {
  const Valid cases[] = {
      {"127.0.0.1:9464", "127.0.0.1", 9464},
      {"[::1]:9464", "::1", 9464},
      {"localhost:9464", "localhost", 9464},
      {":9464", "", 9464},
      {"0.0.0.0:80", "0.0.0.0", 80},
      {"[::]:65535", "::", 65535},
      {"kpid-1.example.org:1", "kpid-1.example.org", 1},
      {"localhost:0", "localhost", 0},
  };
  for (const Valid& c : cases) {
    std::string host = "unchanged";
    std::uint16_t port = 7;
    EXPECT_EQ(ParseListenAddress(c.text, &host, &port), std::nullopt) << c.text;
    EXPECT_EQ(host, c.host) << c.text;
    EXPECT_EQ(port, c.port) << c.text;
  }
}

struct Invalid {
  const char* text;
  const char* error_part;
};

TEST(HttpListenAddressTest, RejectsInvalidAddresses) {
  const Invalid cases[] = {
      {"", "empty"},
      {"9464", "missing port"},
      {"localhost", "missing port"},
      {"localhost:", "missing port"},
      {"[::1]", "missing port"},
      {"[::1]:", "missing port"},
      {"[::1", "missing ']'"},
      {"::1:9464", "brackets"},
      {"[127.0.0.1]:80", "invalid IPv6 address"},
      {"[fe80::1%eth0]:80", "invalid IPv6 address"},
      {"300.1.1.1:80", "invalid host \"300.1.1.1\""},
      {"http://localhost:80", "invalid host"},
      {"bad_host:80", "invalid host"},
      {"-lead.example:80", "invalid host"},
      {"a..b:80", "invalid host"},
      {" localhost:80", "invalid host"},
      {"localhost:http", "invalid port \"http\""},
      {"localhost:65536", "invalid port"},
      {"localhost:99999999999999999999", "invalid port"},
      {"localhost:-1", "invalid port"},
      {"localhost:+80", "invalid port"},
      {"localhost:80 ", "invalid port"},
  };
  for (const Invalid& c : cases) {
    std::string host = "unchanged";
    std::uint16_t port = 7;
    const std::optional<std::string> error = ParseListenAddress(c.text, &host, &port);
    ASSERT_TRUE(error.has_value()) << c.text;
    EXPECT_NE(error->find(c.error_part), std::string::npos) << c.text << " -> " << *error;
    EXPECT_EQ(host, "unchanged") << c.text;
    EXPECT_EQ(port, 7) << c.text;
  }
}

}  // namespace
}  // namespace kpid::http
