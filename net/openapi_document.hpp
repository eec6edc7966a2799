#pragma once

#include "net/web_assets.hpp"

namespace sheetsync {

/// docs/openapi.yaml as JSON, served at /openapi.json (cmake/openapi_json.py converts it at
/// build time), with its content type and a strong ETag.
const web_asset& openapi_document();

} // namespace sheetsync
