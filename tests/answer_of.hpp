#pragma once

// The answer to a request that a test's own actor sent, once the test has run
// the actors (for the suites on the deterministic test scheduler, which run
// it with sched.run() or their own settle()).

#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/sec.hpp>
#include <caf/test/unit_test.hpp>

namespace sheetsync::test {

/// The value or error that answered `answer`, a request from `self`; fails
/// the test with `no_answer` when nothing is in `self`'s mailbox.
template <class T, class Self, class Answer>
caf::expected<T> answer_of(Self& self, Answer& answer,
                           const std::string& no_answer) {
  if (self->mailbox().empty())
    CAF_FAIL(no_answer);
  caf::expected<T> result = caf::make_error(caf::sec::unexpected_response);
  answer.receive([&](T& x) { result = std::move(x); },
                 [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace sheetsync::test
