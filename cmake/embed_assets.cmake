# Compiles every file under web/ into the binary (net/web_assets.hpp is the C++ side).
#
#   include(embed_assets)
#   sheetsync_embed_assets(SHEETSYNC_WEB_ASSETS_CPP)   # -> path of the generated web_assets.cpp
#   target_sources(sheetsync_core PRIVATE ${SHEETSYNC_WEB_ASSETS_CPP})
#
# The .cpp is generated at build time into the current binary dir, again whenever a file under
# web/ changes, and whenever a file is added or removed (the glob is CONFIGURE_DEPENDS, and the
# list of files is itself a dependency). Bytes are emitted as char arrays read with
# file(READ ... HEX), so any content (binary, or text with odd delimiters) is safe.
#
# URL paths: web/dashboard.html (or index.html) -> "/", any other top-level web/NAME.html ->
# "/NAME", web/sheetsync.js -> "/sheetsync.js" (the module other sites import: a short, stable
# address), every other file -> "/assets/<path inside web/>". Hidden files and editor backups
# (*~, *.swp) are skipped.
#
# This file is also the generator: the build runs it with `cmake -P` (script mode, below).

if(NOT CMAKE_SCRIPT_MODE_FILE)

set(_SHEETSYNC_EMBED_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")
get_filename_component(_SHEETSYNC_EMBED_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

function(sheetsync_embed_assets out_var)
  set(web_dir "${_SHEETSYNC_EMBED_ROOT}/web")
  file(GLOB_RECURSE found LIST_DIRECTORIES false CONFIGURE_DEPENDS "${web_dir}/*")
  list(SORT found)
  set(files "")
  set(rels "")
  foreach(f IN LISTS found)
    file(RELATIVE_PATH rel "${web_dir}" "${f}")
    if(rel MATCHES "(^|/)\\." OR rel MATCHES "(~|\\.swp)$")
      continue()
    endif()
    list(APPEND files "${f}")
    string(APPEND rels "${rel}\n")
  endforeach()
  list(LENGTH files count)

  # The list of files, rewritten only when it changes: adding or removing a file regenerates the
  # .cpp even though no remaining file is newer than it.
  set(list_file "${CMAKE_CURRENT_BINARY_DIR}/web_assets.list")
  if(EXISTS "${list_file}")
    file(READ "${list_file}" old)
    if(NOT old STREQUAL rels)
      file(WRITE "${list_file}" "${rels}")
    endif()
  else()
    file(WRITE "${list_file}" "${rels}")
  endif()

  set(out "${CMAKE_CURRENT_BINARY_DIR}/web_assets.cpp")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND "${CMAKE_COMMAND}" "-DWEB_DIR=${web_dir}" "-DLIST_FILE=${list_file}" "-DOUTPUT=${out}"
            -P "${_SHEETSYNC_EMBED_SCRIPT}"
    DEPENDS ${files} "${list_file}" "${_SHEETSYNC_EMBED_SCRIPT}"
    COMMENT "Embedding ${count} web asset(s) from web/"
    VERBATIM)
  # "net/web_assets.hpp" resolves whatever target the file is added to.
  set_source_files_properties("${out}" PROPERTIES
    GENERATED TRUE INCLUDE_DIRECTORIES "${_SHEETSYNC_EMBED_ROOT}")
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

else() # -- script mode: cmake -DWEB_DIR=... -DLIST_FILE=... -DOUTPUT=... -P embed_assets.cmake --

cmake_policy(VERSION 3.16)

foreach(var WEB_DIR LIST_FILE OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_assets.cmake: -D${var}=... is required")
  endif()
endforeach()

file(STRINGS "${LIST_FILE}" rels)

# 16 bytes per line of the generated arrays.
set(byte "'\\\\x[0-9a-f][0-9a-f]',")
set(line_re "")
foreach(i RANGE 1 16)
  string(APPEND line_re "${byte}")
endforeach()

set(arrays "")
set(entries "")
set(paths "")
set(index 0)
foreach(rel IN LISTS rels)
  if(rel STREQUAL "")
    continue()
  endif()
  set(file "${WEB_DIR}/${rel}")

  # URL path
  get_filename_component(name "${rel}" NAME_WE)
  get_filename_component(ext "${rel}" EXT)
  string(TOLOWER "${ext}" ext)
  if(NOT rel MATCHES "/" AND ext STREQUAL ".html")
    if(name STREQUAL "dashboard" OR name STREQUAL "index")
      set(url "/")
    else()
      set(url "/${name}")
    endif()
  elseif(rel STREQUAL "sheetsync.js")
    set(url "/sheetsync.js")
  else()
    set(url "/assets/${rel}")
  endif()
  if(url IN_LIST paths)
    message(FATAL_ERROR "embed_assets.cmake: two files of web/ map to the URL path ${url}")
  endif()
  list(APPEND paths "${url}")

  # Content type, from the last extension
  string(REGEX MATCH "\\.[^.]*$" last_ext "${ext}")
  set(type "application/octet-stream")
  if(last_ext STREQUAL ".html" OR last_ext STREQUAL ".htm")
    set(type "text/html; charset=utf-8")
  elseif(last_ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(last_ext STREQUAL ".js" OR last_ext STREQUAL ".mjs")
    set(type "text/javascript; charset=utf-8")
  elseif(last_ext STREQUAL ".json" OR last_ext STREQUAL ".map")
    set(type "application/json; charset=utf-8")
  elseif(last_ext STREQUAL ".svg")
    set(type "image/svg+xml")
  elseif(last_ext STREQUAL ".png")
    set(type "image/png")
  elseif(last_ext STREQUAL ".jpg" OR last_ext STREQUAL ".jpeg")
    set(type "image/jpeg")
  elseif(last_ext STREQUAL ".gif")
    set(type "image/gif")
  elseif(last_ext STREQUAL ".webp")
    set(type "image/webp")
  elseif(last_ext STREQUAL ".ico")
    set(type "image/x-icon")
  elseif(last_ext STREQUAL ".woff2")
    set(type "font/woff2")
  elseif(last_ext STREQUAL ".woff")
    set(type "font/woff")
  elseif(last_ext STREQUAL ".txt")
    set(type "text/plain; charset=utf-8")
  elseif(last_ext STREQUAL ".webmanifest")
    set(type "application/manifest+json")
  endif()

  # Bytes
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  file(SHA1 "${file}" sha)
  string(SUBSTRING "${sha}" 0 16 etag)
  if(size EQUAL 0)
    set(bytes "0")
  else()
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
    string(REGEX REPLACE "(${line_re})" "\\1\n    " bytes "${bytes}")
  endif()

  string(APPEND arrays
    "// web/${rel}\nconstexpr char asset_${index}[] = {\n    ${bytes}\n};\n\n")
  string(APPEND entries
    "    {\"${url}\", \"${type}\", std::string_view(asset_${index}, ${size}), \"\\\"${etag}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()

if(index EQUAL 0)
  set(table "constexpr web_asset* assets = nullptr;\nconstexpr std::size_t count = 0;\n")
else()
  set(table "constexpr web_asset assets[] = {\n${entries}};\nconstexpr std::size_t count = sizeof(assets) / sizeof(assets[0]);\n")
endif()

set(code "// Generated by cmake/embed_assets.cmake from the files under web/. Do not edit.
#include \"net/web_assets.hpp\"

namespace sheetsync {
namespace {

${arrays}${table}
} // namespace

const web_asset* find_web_asset(std::string_view path) {
  for (std::size_t i = 0; i < count; ++i)
    if (assets[i].path == path)
      return &assets[i];
  return nullptr;
}

const web_asset* web_assets_begin() {
  return assets;
}

std::size_t web_asset_count() {
  return count;
}

} // namespace sheetsync
")
file(WRITE "${OUTPUT}" "${code}")

endif()
