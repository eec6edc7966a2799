#pragma once

// What every fuzz target shares: a check that aborts with a message (libFuzzer
// then saves the input as a crash), and a guard that turns an escaping
// exception into such a failure.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace sheetsync::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s%s%s\n", file, line, what,
               detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

/// Runs `check(input)`; an exception escaping a parser is a failure.
template <class Check>
int guarded(const uint8_t* data, size_t size, Check check) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  try {
    check(input);
  } catch (const std::exception& e) {
    fail(__FILE__, __LINE__, "an exception escaped", e.what());
  } catch (...) {
    fail(__FILE__, __LINE__, "an exception escaped", "not a std::exception");
  }
  return 0;
}

/// Deterministic chunk sizes (1 to 17 bytes, varying) for feeding an input in
/// pieces: a parser must give the same result however its input is split.
class splitter {
public:
  explicit splitter(size_t seed) : state_(seed * 2654435761u + 1) {
    // nop
  }

  size_t next() {
    state_ = state_ * 6364136223846793005u + 1442695040888963407u;
    return 1 + (state_ >> 33) % 17;
  }

private:
  uint64_t state_;
};

} // namespace sheetsync::fuzz

/// Aborts with the condition's text (and `detail`, a std::string) when false.
#define FUZZ_CHECK(cond, detail)                                               \
  do {                                                                         \
    if (!(cond))                                                               \
      ::sheetsync::fuzz::fail(__FILE__, __LINE__, #cond, (detail));            \
  } while (false)
