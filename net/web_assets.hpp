#pragma once

#include <cstddef>
#include <string_view>

namespace sheetsync {

/// A file of web/, compiled into the binary (cmake/embed_assets.cmake generates the table at
/// build time from every file under web/).
struct web_asset {
  /// The URL path it is served at: web/dashboard.html is "/", web/settings.html is "/settings"
  /// (any other top-level web/NAME.html is "/NAME"), web/sheetsync.js is "/sheetsync.js" (the
  /// module for other sites' pages), every other file is "/assets/<path in web/>".
  std::string_view path;
  /// E.g. "text/html; charset=utf-8", "text/javascript; charset=utf-8", "image/svg+xml".
  std::string_view content_type;
  /// The file's bytes.
  std::string_view body;
  /// A strong ETag (quoted, from the content's SHA-1), e.g. "\"3f2a9c01b4d7e6a8\"", for
  /// If-None-Match / 304 answers; optional to use.
  std::string_view etag;
};

/// The asset served at `path` (the URL path without query or fragment), or nullptr.
const web_asset* find_web_asset(std::string_view path);

/// Every asset, in the order of their file names: `web_asset_count()` entries starting at `web_assets_begin()`.
const web_asset* web_assets_begin();
std::size_t web_asset_count();

} // namespace sheetsync
