// The rule sizing --max-connections from the file descriptor limit
// (cli/fd_limit.hpp): the default, a figure that fits, one that does not.
#define CAF_SUITE fd_limit
#include <caf/test/unit_test.hpp>

#include <string>

#include "cli/fd_limit.hpp"

using namespace sheetsync;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(the default is the limit less the reserve) {
  auto b = plan_connections(1048576, 0);
  CAF_CHECK_EQUAL(b.fd_limit, 1048576u);
  CAF_CHECK_EQUAL(b.max_connections, 1048576u - fd_reserve_max);
  CAF_CHECK_EQUAL(b.warning, "");
  CAF_CHECK_EQUAL(plan_connections(20000, 0).max_connections, 19744u);
  // A small limit keeps a quarter, not 256: 1024 (a common soft and hard
  // limit) still gives 768 connections.
  CAF_CHECK_EQUAL(plan_connections(1024, 0).max_connections, 768u);
  CAF_CHECK_EQUAL(plan_connections(256, 0).max_connections, 192u);
}

CAF_TEST(the default has a floor) {
  CAF_CHECK_EQUAL(plan_connections(8, 0).max_connections, min_connections);
  CAF_CHECK_EQUAL(plan_connections(0, 0).max_connections, min_connections);
}

CAF_TEST(a figure that fits is kept) {
  auto b = plan_connections(20000, 2);
  CAF_CHECK_EQUAL(b.max_connections, 2u);
  CAF_CHECK_EQUAL(b.warning, "");
  CAF_CHECK_EQUAL(plan_connections(20000, 19744).max_connections, 19744u);
  CAF_CHECK_EQUAL(plan_connections(20000, 19744).warning, "");
}

CAF_TEST(a figure beyond the limit is lowered and named) {
  auto b = plan_connections(4096, 100000);
  CAF_CHECK_EQUAL(b.max_connections, 3840u);
  CAF_CHECK(contains(b.warning, "--max-connections=100000"));
  CAF_CHECK(contains(b.warning, "file descriptor limit allows (4096"));
  CAF_CHECK(contains(b.warning, "accepting up to 3840"));
  CAF_CHECK_EQUAL(plan_connections(20000, 19745).max_connections, 19744u);
  CAF_CHECK(!plan_connections(20000, 19745).warning.empty());
}
