// The one translation unit that provides the CAF test runner's main().
#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

#include <curl/curl.h>

int main(int argc, char** argv) {
  // libcurl must be initialised before any thread may use it.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto result = caf::test::main(argc, argv);
  curl_global_cleanup();
  return result;
}
