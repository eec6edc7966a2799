#pragma once

// CHECK_MSG for suites whose checks need more than the condition to be
// understood when they fail. Where it is used, `using caf::term;` must be in
// scope (CAF_CHECK_PASSED / CAF_CHECK_FAILED name `term` unqualified).

#include <caf/test/unit_test.hpp>

/// CAF_CHECK that shows `msg` when `cond` fails.
#define CHECK_MSG(cond, msg)                                                   \
  do {                                                                         \
    if (cond)                                                                  \
      CAF_CHECK_PASSED(#cond);                                                 \
    else                                                                       \
      CAF_CHECK_FAILED(#cond << " -- " << msg);                                \
  } while (false)
