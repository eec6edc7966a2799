// Linked into every binary of a sanitized build (SHEETSYNC_SANITIZE) only.
//
// GCC links UBSan as a library of its own (libubsan.so) beside ASan's. As
// ASan's plugin it reads log_path from UBSAN_OPTIONS but never applies it, so
// its reports went to stderr, where scripts/test's check of the report folder
// missed them (and a test that reads a child's stderr could swallow them).
// This applies it: UBSan's reports go to <log_path>.<pid> as ASan's do.

#include <dlfcn.h>

#include <cstdlib>
#include <string>

extern "C" __attribute__((constructor)) void sheetsync_ubsan_report_path() {
  const char* options = std::getenv("UBSAN_OPTIONS");
  if (options == nullptr)
    return;
  std::string all = std::string{":"} + options;
  auto at = all.find(":log_path=");
  if (at == std::string::npos)
    return;
  auto begin = at + 10;
  auto path = all.substr(begin, all.find(':', begin) - begin);
  // UBSan's own copy of the function (ASan's, found first by name, would set
  // ASan's path).
  void* ubsan = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (ubsan == nullptr)
    return;
  using set_path = void (*)(const char*);
  if (auto set = reinterpret_cast<set_path>(
        dlsym(ubsan, "__sanitizer_set_report_path")))
    set(path.c_str());
  dlclose(ubsan);
}
