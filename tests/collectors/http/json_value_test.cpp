// Values from response bodies: RFC 6901 pointers, numeric strings, text bodies.
#include "collectors/http/json_value.hpp"

#include <gtest/gtest.h>

#include "collectors/http/collector.hpp"

namespace kpid::collectors::http {
namespace {

double Value(const ValueResult& result) {
  if (const auto* error = std::get_if<ValueError>(&result)) {
    ADD_FAILURE() << "error: " << error->message;
    return -1;
  }
  return std::get<double>(result);
}

ValueError Failure(const ValueResult& result) {
  if (const auto* error = std::get_if<ValueError>(&result)) return *error;
  ADD_FAILURE() << "value: " << std::get<double>(result);
  return {};
}

TEST(JsonNumber, NumbersAtPointers) {
  const std::string body = R"({"churn": {"monthly": 0.027, "count": 12},
      "list": [10, 20, {"deep": [1, 2, -3.5e2]}], "big": 18446744073709551615})";
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/churn/monthly")), 0.027);
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/churn/count")), 12);
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/list/0")), 10);
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/list/2/deep/2")), -350);
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/big")), 18446744073709551615.0);
  EXPECT_DOUBLE_EQ(Value(JsonNumber("42", "")), 42);  // "" is the whole document
  EXPECT_DOUBLE_EQ(Value(JsonNumber(" \n 7 \n", "")), 7);
}

TEST(JsonNumber, EscapedTokens) {
  const std::string body = R"({"a/b": {"m~n": 1, "~1": 2, "": 3, "a b": 4}})";
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/a~1b/m~0n")), 1);
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/a~1b/~01")), 2);  // "~01" is "~1", not "/"
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/a~1b/")), 3);     // the empty member name
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/a~1b/a b")), 4);
}

TEST(JsonNumber, NumericStrings) {
  const std::string body =
      R"({"a": "42.5", "b": " -3 ", "c": "+1e3", "d": "12%", "e": "0x10", "f": "nan",
          "g": "inf", "h": "", "i": "1,5", "j": "--1"})";
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/a")), 42.5);
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/b")), -3);
  EXPECT_DOUBLE_EQ(Value(JsonNumber(body, "/c")), 1000);
  for (const char* pointer : {"/d", "/e", "/f", "/g", "/i", "/j"}) {
    const ValueError error = Failure(JsonNumber(body, pointer));
    EXPECT_EQ(error.kind, ErrorKind::kParse) << pointer;
    EXPECT_NE(error.message.find("is a string, not a number"), std::string::npos) << error.message;
  }
  EXPECT_EQ(Failure(JsonNumber(body, "/h")).kind, ErrorKind::kEmpty);
}

TEST(JsonNumber, NullAndMissingAreEmpty) {
  const std::string body = R"({"a": null, "b": {"c": [1]}})";
  const ValueError null = Failure(JsonNumber(body, "/a"));
  EXPECT_EQ(null.kind, ErrorKind::kEmpty);
  EXPECT_EQ(null.message, "value at \"/a\" is null");

  const ValueError missing = Failure(JsonNumber(body, "/b/x"));
  EXPECT_EQ(missing.kind, ErrorKind::kEmpty);
  EXPECT_EQ(missing.message, "json_pointer \"/b/x\": no member \"x\" in \"/b\"");

  const ValueError past_end = Failure(JsonNumber(body, "/b/c/1"));
  EXPECT_EQ(past_end.kind, ErrorKind::kEmpty);
  EXPECT_NE(past_end.message.find("past the end of \"/b/c\" (1 elements)"), std::string::npos);
}

TEST(JsonNumber, WrongTypesAreParseErrors) {
  const std::string body = R"({"t": true, "o": {"x": 1}, "a": [1], "s": "x", "n": 1})";
  EXPECT_EQ(Failure(JsonNumber(body, "/t")).message, "value at \"/t\" is a boolean, not a number");
  EXPECT_EQ(Failure(JsonNumber(body, "/o")).message, "value at \"/o\" is an object, not a number");
  EXPECT_EQ(Failure(JsonNumber(body, "/a")).kind, ErrorKind::kParse);
  EXPECT_EQ(Failure(JsonNumber(body, "")).kind, ErrorKind::kParse);  // the root object
  // Walking through a scalar, and array tokens that are not RFC 6901 indexes.
  EXPECT_EQ(Failure(JsonNumber(body, "/n/x")).message,
            "json_pointer \"/n/x\": \"/n\" is a number, not an object or array");
  EXPECT_EQ(Failure(JsonNumber(body, "/a/01")).kind, ErrorKind::kParse);
  EXPECT_EQ(Failure(JsonNumber(body, "/a/-")).kind, ErrorKind::kParse);
  EXPECT_EQ(Failure(JsonNumber(body, "/a/x")).kind, ErrorKind::kParse);
  EXPECT_EQ(Failure(JsonNumber(body, "/o/x~2")).kind, ErrorKind::kParse);  // bad escape
}

TEST(JsonNumber, BadBodies) {
  const ValueError html = Failure(JsonNumber("<html><body>Server error</body></html>", "/a"));
  EXPECT_EQ(html.kind, ErrorKind::kParse);
  EXPECT_EQ(html.message, "response body is not JSON: \"<html><body>Server error</body></html>\"");
  EXPECT_EQ(Failure(JsonNumber("", "/a")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(Failure(JsonNumber(" \r\n", "/a")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(Failure(JsonNumber(R"({"a": 1} trailing)", "/a")).kind, ErrorKind::kParse);
  EXPECT_EQ(Failure(JsonNumber(R"({"a": 1)", "/a")).kind, ErrorKind::kParse);
  // Out of double range: parsed, but not a finite number.
  EXPECT_EQ(Failure(JsonNumber(R"({"a": 1e400})", "/a")).kind, ErrorKind::kParse);

  // The excerpt is short and printable, whatever the body holds.
  const std::string binary = std::string("\x01\x02\xff{", 4) + std::string(200, 'x');
  const ValueError garbage = Failure(JsonNumber(binary, ""));
  EXPECT_EQ(garbage.message, "response body is not JSON: \"...{" + std::string(76, 'x') + "...\"");
}

TEST(TextNumber, PlainNumberBodies) {
  EXPECT_DOUBLE_EQ(Value(TextNumber("42")), 42);
  EXPECT_DOUBLE_EQ(Value(TextNumber("  -1.5e3\r\n")), -1500);
  EXPECT_DOUBLE_EQ(Value(TextNumber("\xEF\xBB\xBF"
                                    "7\n")),
                   7);  // UTF-8 BOM
  EXPECT_EQ(Failure(TextNumber("")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(Failure(TextNumber("\n")).kind, ErrorKind::kEmpty);
  const ValueError words = Failure(TextNumber("42 requests"));
  EXPECT_EQ(words.kind, ErrorKind::kParse);
  EXPECT_EQ(words.message, "response body is not a number: \"42 requests\"");
  EXPECT_EQ(Failure(TextNumber("{\"a\": 1}")).kind, ErrorKind::kParse);
  EXPECT_EQ(Failure(TextNumber("inf")).kind, ErrorKind::kParse);
}

TEST(Excerpt, ShortAndPrintable) {
  EXPECT_EQ(Excerpt("abc"), "abc");
  EXPECT_EQ(Excerpt("a\nb\tc\x7f"), "a.b.c.");
  EXPECT_EQ(Excerpt(std::string(100, 'y')), std::string(80, 'y') + "...");
  EXPECT_EQ(Excerpt("abcdef", 3), "abc...");
}

TEST(DisplayUrl, DropsUserinfoQueryAndFragment) {
  EXPECT_EQ(DisplayUrl("https://user:secret@crm.example.com:8443/api/stats?token=abc#frag"),
            "https://crm.example.com:8443/api/stats");
  EXPECT_EQ(DisplayUrl("http://crm.example.com"), "http://crm.example.com/");
  EXPECT_EQ(DisplayUrl("http://[::1]:8080/x?y"), "http://[::1]:8080/x");
  EXPECT_EQ(DisplayUrl("not a url"), "<invalid URL>");
}

}  // namespace
}  // namespace kpid::collectors::http
