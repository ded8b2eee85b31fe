#pragma once

// Test-only helper: loads JSON test vectors from tests/vectors/jose/ (tests run with the repo root
// as the working directory, see gtest_discover_tests in the top-level CMakeLists.txt).

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace latchkey::jose::testing {

// LoadVector returns the parsed JSON document tests/vectors/jose/<name>; throws when missing so
// a test never silently passes without its data.
inline boost::json::object LoadVector(const std::string& name) {
  std::ifstream in("tests/vectors/jose/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing test vector file tests/vectors/jose/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

inline std::string Str(const boost::json::value& v) {
  const auto& s = v.as_string();
  return std::string(s.data(), s.size());
}

}  // namespace latchkey::jose::testing
