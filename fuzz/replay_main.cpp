// The plain driver, for builds without libFuzzer: feeds every file named on
// the command line (or found in a folder named there) to the target once.
// Fails if an input breaks an invariant (the target aborts) or if there was
// no input at all (a missing corpus must not pass as a clean run).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    fs::path arg{argv[i]};
    if (fs::is_directory(arg)) {
      for (auto& entry : fs::directory_iterator{arg})
        if (entry.is_regular_file())
          inputs.push_back(entry.path());
    } else {
      inputs.push_back(arg);
    }
  }
  std::sort(inputs.begin(), inputs.end());
  for (auto& path : inputs) {
    std::ifstream in{path, std::ios::binary};
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 1;
    }
    std::string bytes{std::istreambuf_iterator<char>{in}, {}};
    std::fprintf(stderr, "replaying %s\n", path.c_str());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "no input given: usage %s FILE_OR_DIR...\n", argv[0]);
    return 1;
  }
  std::printf("%zu inputs replayed, no invariant broken\n", inputs.size());
  return 0;
}
