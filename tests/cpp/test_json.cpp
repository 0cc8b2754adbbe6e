// The strict JSON parser: values, escapes, numbers, the rejections bundle manifests
// need (docs/bundle_format.md §1.2), accessors and their JSON-path messages.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "check.h"
#include "core/json.h"

namespace {

using argus::Status;
using argus::json::parse;
using argus::json::Type;
using argus::json::Value;

void expect_invalid(const std::string& text, const std::string& needle) {
  argus_test::check_throws(Status::Bundle, needle, [&] { parse(text); }, "parse(" + text + ")");
}

void test_values_and_order() {
  const auto v = parse(" {\"b\": [1, -2.5e1, true, false, null, \"x\"], \"a\": {}, \"c\": []}\r\n");
  CHECK(v->is_object() && v->size() == 3);
  CHECK(v->keys()[0] == "b" && v->keys()[1] == "a" && v->keys()[2] == "c");  // insertion order
  const Value& b = v->at("b");
  CHECK(b.is_array() && b.size() == 6);
  CHECK(b.at(0).is_integer() && b.at(0).as_int() == 1);
  CHECK(!b.at(1).is_integral() && b.at(1).as_double() == -25.0);
  CHECK(b.at(2).as_bool() && !b.at(3).as_bool() && b.at(4).is_null());
  CHECK(b.at(5).as_string() == "x");
  CHECK(v->at("a").is_object() && v->at("a").size() == 0 && v->at("c").size() == 0);
  CHECK(v->find("missing") == nullptr);
  CHECK(&b.at(0) == &b.items()[0]);
}

void test_numbers() {
  const auto v = parse(
      "[0, -0, 9223372036854775807, -9223372036854775808, 9223372036854775808, 1.0, 1e3,"
      " 1E-2, 1e400, -1e400, 1e-400, 5e-324, 123456789012345678901234567890]");
  CHECK(v->at(0).as_int() == 0 && v->at(1).as_int() == 0 && v->at(1).is_integer());
  CHECK(v->at(2).as_int() == std::numeric_limits<int64_t>::max());
  CHECK(v->at(3).as_int() == std::numeric_limits<int64_t>::min());
  CHECK(v->at(4).is_integral() && !v->at(4).is_integer());
  CHECK(v->at(4).as_double() == 9223372036854775808.0);
  CHECK(!v->at(5).is_integral() && v->at(5).as_double() == 1.0);  // "1.0" is not an int
  CHECK(!v->at(6).is_integral() && v->at(6).as_double() == 1000.0);
  CHECK(v->at(7).as_double() == 0.01);
  CHECK(std::isinf(v->at(8).as_double()) && v->at(8).as_double() > 0);  // like Python
  CHECK(std::isinf(v->at(9).as_double()) && v->at(9).as_double() < 0);
  CHECK(v->at(10).as_double() == 0.0);
  CHECK(v->at(11).as_double() > 0.0 && v->at(11).as_double() < 1e-323);
  CHECK(v->at(12).is_integral() && std::fabs(v->at(12).as_double() - 1.2345678901234568e29) < 1e14);
  argus_test::check_throws(Status::Bundle, "$[5]: expected integer", [&] { v->at(5).as_int(); },
                           "as_int of 1.0");
  argus_test::check_throws(Status::Bundle, "int64", [&] { v->at(4).as_int(); }, "as_int 2^63");
  for (const char* bad : {"01", "1.", ".5", "+1", "1e", "1e+", "-", "0x10", "1.e5", "--1"}) {
    expect_invalid(std::string("[") + bad + "]", "");
  }
}

void test_strings_and_escapes() {
  const auto v = parse(
      "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\", \"\\ud800\","
      " \"\\udc00\\ud800x\", \"é€😀\", \"\\ud83d\\u0041\"]");
  CHECK(v->at(0).as_string() == "\"\\/\b\f\n\r\t");
  CHECK(v->at(1).as_string() == "\xc3\xa9\xe2\x82\xac");
  CHECK(v->at(2).as_string() == "\xf0\x9f\x98\x80");  // a surrogate pair is one code point
  CHECK(v->at(3).as_string() == "\xed\xa0\x80");      // lone surrogate: WTF-8, like Python
  CHECK(v->at(4).as_string() == "\xed\xb0\x80\xed\xa0\x80x");
  CHECK(v->at(5).as_string() == "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  CHECK(v->at(6).as_string() == "\xed\xa0\xbd" "A");
  expect_invalid("[\"\\x41\"]", "Invalid \\escape");
  expect_invalid("[\"\\u12G4\"]", "Invalid \\uXXXX escape");
  expect_invalid("[\"\\ud800\\u12\"]", "Invalid \\uXXXX escape");
  expect_invalid("[\"a\tb\"]", "Invalid control character");
  expect_invalid(std::string("[\"a\0b\"]", 7), "Invalid control character");
  expect_invalid("[\"abc", "Unterminated string");
  expect_invalid("[\"abc\\", "Unterminated string");
}

void test_rejections() {
  expect_invalid("", "Expecting value: line 1 column 1 (char 0)");
  expect_invalid("{\"a\": NaN}", "NaN is not a JSON value");
  expect_invalid("[Infinity]", "Infinity is not a JSON value");
  expect_invalid("[-Infinity]", "-Infinity is not a JSON value");
  expect_invalid("{\"a\": 1, \"a\": 2}", "duplicate key \"a\"");
  expect_invalid("{\"a\": 1, \"\\u0061\": 2}", "duplicate key \"a\"");  // compared decoded
  expect_invalid("{\"a\": 1}x", "Extra data: line 1 column 9 (char 8)");
  expect_invalid("{\"a\": 1}\n{}", "Extra data: line 2 column 1");
  expect_invalid("[\"\xc3\xa9\", x]", "Expecting value: line 1 column 7 (char 6)");
  expect_invalid("\xef\xbb\xbf{}", "Unexpected UTF-8 BOM: line 1 column 1 (char 0)");
  expect_invalid("{\"a\" 1}", "Expecting ':' delimiter");
  expect_invalid("{\"a\": 1 \"b\": 2}", "Expecting ',' delimiter");
  expect_invalid("{\"a\": 1,}", "Expecting property name");
  expect_invalid("[1,]", "Expecting value");
  expect_invalid("{a: 1}", "Expecting property name");
  expect_invalid("[tru]", "Expecting value");
  expect_invalid("[1 2]", "Expecting ',' delimiter");
  expect_invalid("[\x0b 1]", "Expecting value");  // only space, \t, \n, \r are whitespace
  for (const char* bad : {"\xff", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xf8\x88\x80\x80\x80", "\xc3", "\xe2\x82", "\x80"}) {
    expect_invalid(std::string("[\"") + bad + "\"]", "invalid UTF-8: can't decode byte");
  }
  expect_invalid("[\"\xff\"]", "byte 0xff in position 2: invalid start byte");
  expect_invalid("[\"\xed\xa0\x80\"]", "byte 0xed in position 2: invalid continuation byte");
  expect_invalid("[\"\xe2\x82", "byte 0xe2 in position 2: unexpected end of data");
}

void test_depth_limit() {
  const int max = argus::json::kMaxDepth;
  const std::string ok = std::string(max, '[') + std::string(max, ']');
  CHECK(parse(ok)->is_array());
  expect_invalid(std::string(max + 1, '[') + std::string(max + 1, ']'), "nested too deeply");
  std::string objects;
  for (int i = 0; i < max; ++i) objects += "{\"a\":";
  CHECK(parse(objects + "1" + std::string(max, '}'))->is_object());
  expect_invalid("[" + objects + "1" + std::string(max, '}') + "]", "nested too deeply");
  expect_invalid(std::string(100000, '['), "nested too deeply");  // no stack overflow
}

void test_paths_and_accessor_errors() {
  const auto v = parse("{\"graphs\": {\"det\": {\"variants\": {\"onnx-fp32\": [1, \"x\"]}}}}");
  const Value& list = v->at("graphs").at("det").at("variants").at("onnx-fp32");
  CHECK_EQ_STR(list.path(), "$.graphs.det.variants[\"onnx-fp32\"]");
  CHECK_EQ_STR(list.at(1).path(), "$.graphs.det.variants[\"onnx-fp32\"][1]");
  CHECK_EQ_STR(v->path(), "$");
  argus_test::check_throws(Status::Bundle, "$.graphs.det.variants[\"onnx-fp32\"][1]: expected "
                           "number, got string", [&] { list.at(1).as_double(); }, "as_double");
  argus_test::check_throws(Status::Bundle, "$.graphs: missing key \"tasks\"",
                           [&] { v->at("graphs").at("tasks"); }, "missing key");
  argus_test::check_throws(Status::Bundle, "index 2 out of range", [&] { list.at(2); }, "index");
  argus_test::check_throws(Status::Bundle, "$.graphs: expected array, got object",
                           [&] { v->at("graphs").at(0); }, "at(0) on an object");
  argus_test::check_throws(Status::Bundle, "expected object, got array",
                           [&] { list.find("x"); }, "find on an array");
  argus_test::check_throws(Status::Bundle, "expected string", [&] { v->as_string(); }, "str");
  argus_test::check_throws(Status::Bundle, "expected bool", [&] { v->as_bool(); }, "bool");
  CHECK_EQ_STR(argus::json::quote("a\"b\\\n"), "\"a\\\"b\\\\\\u000a\"");
  CHECK_EQ_STR(argus::json::quote(parse("[\"\\udfff\\ud800\xc3\xa9\"]")->at(0).as_string()),
               "\"\\udfff\\ud800\xc3\xa9\"");
  expect_invalid("{\"\\udfff\": 1, \"\\udfff\": 2}", "duplicate key \"\\udfff\"");
}

}  // namespace

int main() {
  test_values_and_order();
  test_numbers();
  test_strings_and_escapes();
  test_rejections();
  test_depth_limit();
  test_paths_and_accessor_errors();
  return argus_test::report("test_json");
}
