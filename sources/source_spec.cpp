#include "sources/source_spec.hpp"

namespace sheetsync {

const char* to_string(access_mode x) {
  switch (x) {
    case access_mode::export_csv:
      return "export";
    case access_mode::api:
      return "api";
    default:
      return "auto";
  }
}

bool from_string(const std::string& str, access_mode& x) {
  if (str == "auto")
    x = access_mode::automatic;
  else if (str == "export")
    x = access_mode::export_csv;
  else if (str == "api")
    x = access_mode::api;
  else
    return false;
  return true;
}

} // namespace sheetsync
