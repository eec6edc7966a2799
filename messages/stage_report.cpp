#include "messages/stage_report.hpp"

namespace sheetsync {

const char* to_string(stage x) {
  switch (x) {
    case stage::download: return "download";
    case stage::parse: return "parse";
    case stage::save: return "save";
  }
  return "unknown";
}

} // namespace sheetsync
