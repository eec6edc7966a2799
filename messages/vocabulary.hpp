#pragma once

#include <string>

namespace sheetsync {

/// A fingerprint of the message vocabulary: every type ID's name and the wire
/// shape of its default value, and the coordinator's typed interface. Nodes
/// announce it as their CAF application identifier, so a node built from
/// another vocabulary is refused during the handshake instead of exchanging
/// messages that the other side silently drops. E.g. "sheetsync-3f9a0c12e4b5".
const std::string& vocabulary_id();

} // namespace sheetsync
