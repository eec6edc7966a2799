#pragma once

#include <cstdint>
#include <string>

namespace sheetsync {

/// What to tell the user when CAF could not listen on `host`:`port` (CAF 0.17
/// says only "cannot_open_port", whatever the cause): binds a probe socket
/// there to learn why. A port in use gets "port N on HOST is already in use;
/// stop the other program or choose another with FLAG"; anything else "cannot
/// listen on HOST:PORT: <why>" (`caf_text` when the probe learns nothing).
/// @param flag The flag that chooses the port, e.g. "--port".
std::string listen_failure(const std::string& host, uint16_t port,
                           const std::string& flag,
                           const std::string& caf_text);

} // namespace sheetsync
