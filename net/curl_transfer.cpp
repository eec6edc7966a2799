#include "net/curl_transfer.hpp"

#include <algorithm>
#include <limits>
#include <cctype>
#include <cstdio>
#include <string_view>
#include <thread>

#include <curl/curl.h>

#include "net/redact.hpp"
#include "net/text.hpp"

namespace sheetsync {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// Bytes looked at, at most, for the start of an HTML page behind leading blank space.
constexpr size_t max_sniff_bytes = 64 * 1024;

std::string_view trim(std::string_view str) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!str.empty() && is_space(str.front()))
    str.remove_prefix(1);
  while (!str.empty() && is_space(str.back()))
    str.remove_suffix(1);
  return str;
}

/// A number of any length saturates: a huge Content-Length or Retry-After
/// must read as huge, not wrap around to something small.
std::optional<uint64_t> parse_uint(std::string_view str) {
  uint64_t result = 0;
  if (!parse_saturated(str, result))
    return std::nullopt;
  return result;
}

uint32_t saturated_seconds(std::chrono::seconds secs) {
  return static_cast<uint32_t>(std::clamp<int64_t>(
    secs.count(), 0, std::numeric_limits<uint32_t>::max()));
}

/// "90 s", "0.3 s".
std::string format_seconds(milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ms.count()) / 1000.0);
  std::string result{buf};
  while (result.back() == '0')
    result.pop_back();
  if (result.back() == '.')
    result.pop_back();
  return result + " s";
}

/// Redacts every URL inside a text from libcurl: its messages normally name only hosts, but a
/// text that ends in front of a user must never carry a token, whatever libcurl does.
std::string redact_urls_in(std::string text) {
  for (std::string_view scheme : {"http://", "https://", "file://", "HTTP://", "HTTPS://"}) {
    size_t pos = 0;
    while ((pos = text.find(scheme, pos)) != std::string::npos) {
      auto end = text.find_first_of(" \t\r\n\"'<>", pos);
      if (end == std::string::npos)
        end = text.size();
      auto redacted = redact_url(text.substr(pos, end - pos));
      text.replace(pos, end - pos, redacted);
      pos += redacted.size();
    }
  }
  return text;
}

} // namespace

ec classify_curl_code(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK:
      return ec::none;
    // The network or the server may do better next time.
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_BAD_CONTENT_ENCODING: // a body cut off mid-stream
    case CURLE_SSL_CONNECT_ERROR:    // the handshake, not the certificate
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_AGAIN:
      return ec::download_failed;
    // Everything else fails the same way again: a missing or unreadable
    // file, too many redirects, a malformed URL or a refused scheme, a
    // refused certificate, a local error.
    default:
      return ec::unfetchable;
  }
}

struct curl_transfer::curl_handles {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  bool added = false;
  char error_buffer[CURL_ERROR_SIZE] = {};

  ~curl_handles() {
    if (added)
      curl_multi_remove_handle(multi, easy);
    if (easy)
      curl_easy_cleanup(easy);
    if (multi)
      curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
  }
};

struct curl_transfer::callbacks {
  static size_t write(char* data, size_t size, size_t count, void* self) {
    return static_cast<curl_transfer*>(self)->write(data, size * count);
  }

  static size_t header(char* data, size_t size, size_t count, void* self) {
    return static_cast<curl_transfer*>(self)->header(data, size * count);
  }

  static int progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    // Non-zero aborts with CURLE_ABORTED_BY_CALLBACK, also in the middle of a connect.
    return static_cast<curl_transfer*>(self)->cancelled() ? 1 : 0;
  }
};

curl_transfer::curl_transfer(transfer_options opts, std::shared_ptr<std::atomic<bool>> cancel)
  : opts_(std::move(opts)), cancel_(std::move(cancel)), redacted_url_(redact_url(opts_.url)) {
  std::string_view url{opts_.url};
  is_file_ = starts_with_ignore_case(url, "file://");
  if (!is_file_ && !starts_with_ignore_case(url, "http://")
      && !starts_with_ignore_case(url, "https://")) {
    fail(ec::invalid_argument,
         "unsupported URL " + redacted_url_ + ": use an http://, https:// or file:// address");
    state_ = state::failed;
    return;
  }
  if (is_file_ && (file_ = local_file::open(opts_.url)) != nullptr)
    return; // read by step_file(); anything else goes to libcurl, which says why it fails
  for (auto& line : opts_.headers) {
    // A line break would smuggle in further headers (or a second request).
    if (line.find_first_of("\r\n") != std::string::npos || line.find(':') == std::string::npos) {
      fail(ec::invalid_argument, "a request header for " + redacted_url_
                                   + " is malformed: expected one line \"Name: value\"");
      state_ = state::failed;
      return;
    }
  }
  curl_ = std::make_unique<curl_handles>();
  curl_->multi = curl_multi_init();
  curl_->easy = curl_easy_init();
  if (!curl_->multi || !curl_->easy) {
    fail(ec::download_failed, "libcurl could not create a transfer for " + redacted_url_);
    state_ = state::failed;
    return;
  }
  for (auto& line : opts_.headers)
    curl_->headers = curl_slist_append(curl_->headers, line.c_str());
  auto* easy = curl_->easy;
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK)
      rc = curl_easy_setopt(easy, option, value);
  };
  set(CURLOPT_URL, opts_.url.c_str());
  set(CURLOPT_ERRORBUFFER, curl_->error_buffer);
  // No SIGALRM for resolver time-outs: it would hit some thread of the actor system.
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_USERAGENT, "sheetsync/0.1");
#if LIBCURL_VERSION_NUM >= 0x075500 // 7.85.0
  set(CURLOPT_PROTOCOLS_STR, "http,https,file");
  // A server must not be able to point us at a local file (or anything but the web).
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
  set(CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  // Google's export answers 307; curl follows every 3xx with a Location and keeps the method.
  set(CURLOPT_FOLLOWLOCATION, 1L);
  set(CURLOPT_MAXREDIRS, 10L);
  // "" = every encoding this libcurl decodes (gzip, deflate, ...); the body arrives decoded.
  set(CURLOPT_ACCEPT_ENCODING, "");
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
  // One download per connection gains nothing from HTTP/2, and HTTP/1.1 keeps pause() plain:
  // libcurl stops reading the socket and TCP holds the server back.
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  // A long pause leaves the connection idle; keepalive probes stop middleboxes from dropping it.
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  set(CURLOPT_HTTPHEADER, curl_->headers);
  set(CURLOPT_WRITEFUNCTION, &callbacks::write);
  set(CURLOPT_WRITEDATA, static_cast<void*>(this));
  set(CURLOPT_HEADERFUNCTION, &callbacks::header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(this));
  set(CURLOPT_XFERINFOFUNCTION, &callbacks::progress);
  set(CURLOPT_XFERINFODATA, static_cast<void*>(this));
  set(CURLOPT_NOPROGRESS, 0L);
  if (rc != CURLE_OK) {
    fail(ec::download_failed, std::string{"libcurl rejected an option for "} + redacted_url_
                                + ": " + curl_easy_strerror(rc));
    state_ = state::failed;
    return;
  }
  if (auto mc = curl_multi_add_handle(curl_->multi, easy); mc != CURLM_OK) {
    fail(ec::download_failed, std::string{"libcurl could not start the transfer of "}
                                + redacted_url_ + ": " + curl_multi_strerror(mc));
    state_ = state::failed;
    return;
  }
  curl_->added = true;
}

curl_transfer::~curl_transfer() = default;

curl_transfer::state curl_transfer::step(milliseconds slice) {
  if (state_ != state::running)
    return state_;
  auto now = steady_clock::now();
  if (!started_) {
    // Silence counts from the first step, not from construction.
    started_ = true;
    last_activity_ = now;
  }
  if (file_) {
    step_file(slice);
    return state_;
  }
  auto deadline = now + slice;
  for (;;) {
    if (cancelled()) {
      fail(ec::cancelled, "the download of " + redacted_url_ + " was cancelled");
      finish(state::failed);
      break;
    }
    int running = 0;
    if (auto mc = curl_multi_perform(curl_->multi, &running); mc != CURLM_OK) {
      fail(ec::download_failed, std::string{"libcurl failed while downloading "} + redacted_url_
                                  + ": " + curl_multi_strerror(mc));
      finish(state::failed);
      break;
    }
    int left = 0;
    while (auto* msg = curl_multi_info_read(curl_->multi, &left))
      if (msg->msg == CURLMSG_DONE && state_ == state::running)
        complete(msg->data.result);
    if (state_ != state::running)
      break;
    if (error_) {
      // A callback failed outside of curl_multi_perform (resume() delivers data directly).
      finish(state::failed);
      break;
    }
    now = steady_clock::now();
    // Checked after curl_multi_perform: data waiting in the socket since the last step counts.
    if (!paused_ && now - last_activity_ >= opts_.fetch_timeout) {
      fail(ec::fetch_timeout, "no data received for " + format_seconds(opts_.fetch_timeout)
                                + " from " + redacted_url_
                                + "; the server may be overloaded, try again or raise "
                                  "--fetch-timeout");
      finish(state::failed);
      break;
    }
    if (buffer_.size() >= opts_.step_return_bytes || now >= deadline)
      break;
    auto wait = deadline - now;
    if (!paused_)
      wait = std::min(wait, last_activity_ + opts_.fetch_timeout - now);
    // Rounded up: a wait of 0 ms would spin until the deadline.
    auto wait_ms = std::chrono::ceil<milliseconds>(wait).count();
    // curl_multi_poll also returns early for curl's own timers (connect time-out, ...).
    curl_multi_poll(curl_->multi, nullptr, 0, static_cast<int>(std::max<int64_t>(wait_ms, 1)),
                    nullptr);
  }
  return state_;
}

void curl_transfer::step_file(milliseconds slice) {
  // Reads in blocks up to step_return_bytes (the owner hands them on or pauses in between), as
  // libcurl would: write() applies the byte cap, the HTML sniff and the cancel token alike.
  constexpr size_t block = 64 * 1024;
  if (!expected_bytes_)
    expected_bytes_ = file_->size();
  auto deadline = steady_clock::now() + slice;
  while (state_ == state::running) {
    if (cancelled()) {
      fail(ec::cancelled, "the download of " + redacted_url_ + " was cancelled");
      finish(state::failed);
      break;
    }
    if (paused_) {
      // Like a paused network transfer: the slice passes, nothing is read.
      std::this_thread::sleep_for(slice);
      break;
    }
    char data[block];
    auto n = file_->read(data, block);
    if (n == 0) {
      if (!sniff(true)) {
        // not_csv recorded
      } else if (bytes_received_ != *expected_bytes_) {
        auto got = std::to_string(bytes_received_);
        fail(ec::download_failed, "the download from " + redacted_url_ + " was cut off after "
                                    + got + " bytes: the connection was closed or reset early "
                                            "(got " + got + " decoded bytes)");
      }
      finish(error_ ? state::failed : state::done);
      break;
    }
    if (write(data, n) != n) {
      finish(state::failed);
      break;
    }
    if (buffer_.size() >= opts_.step_return_bytes || steady_clock::now() >= deadline)
      break;
  }
  if (state_ != state::running)
    file_.reset();
}

size_t curl_transfer::take(std::string& out) {
  auto n = buffer_.size();
  if (out.empty())
    out.swap(buffer_);
  else
    out += buffer_;
  buffer_.clear();
  return n;
}

void curl_transfer::pause() {
  if (paused_)
    return;
  paused_ = true;
  if (state_ == state::running && curl_)
    curl_easy_pause(curl_->easy, CURLPAUSE_RECV);
}

void curl_transfer::resume() {
  if (!paused_)
    return;
  paused_ = false;
  // The silence of the pause was ours, not the server's.
  last_activity_ = steady_clock::now();
  if (state_ != state::running || !curl_)
    return;
  // May call write() right here with data libcurl held back during the pause.
  if (auto rc = curl_easy_pause(curl_->easy, CURLPAUSE_CONT); rc != CURLE_OK && !error_)
    fail(ec::download_failed, std::string{"libcurl could not resume the download of "}
                                + redacted_url_ + ": " + curl_easy_strerror(rc));
}

bool curl_transfer::cancelled() const {
  return cancel_ && cancel_->load(std::memory_order_relaxed);
}

void curl_transfer::fail(ec code, std::string text) {
  if (!error_)
    error_ = failure{code, std::move(text)};
}

void curl_transfer::finish(state result) {
  state_ = result;
  if (result == state::failed) {
    sniffed_.clear();
    if (!error_)
      error_ = failure{ec::download_failed, "the download of " + redacted_url_ + " failed"};
  }
  if (curl_ && curl_->added) {
    // Stops the transfer now (a failed one's connection closes) rather than at destruction.
    curl_multi_remove_handle(curl_->multi, curl_->easy);
    curl_->added = false;
  }
}

size_t curl_transfer::write(const char* data, size_t n) {
  if (error_)
    return 0;
  if (cancelled()) {
    fail(ec::cancelled, "the download of " + redacted_url_ + " was cancelled");
    return 0;
  }
  last_activity_ = steady_clock::now();
  if (is_file_ && !expected_bytes_ && curl_) {
    curl_off_t size = -1;
    if (curl_easy_getinfo(curl_->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size) == CURLE_OK
        && size >= 0)
      expected_bytes_ = static_cast<uint64_t>(size);
  }
  if (bytes_received_ + n > opts_.max_bytes
      || (expected_bytes_ && *expected_bytes_ > opts_.max_bytes)) {
    fail(ec::too_large, "the download from " + redacted_url_ + " is larger than the limit of "
                          + std::to_string(opts_.max_bytes) + " bytes");
    return 0;
  }
  bytes_received_ += n;
  if (sniffing_) {
    sniffed_.append(data, n);
    return sniff(false) ? n : 0;
  }
  buffer_.append(data, n);
  return n;
}

bool curl_transfer::sniff(bool at_end) {
  if (!sniffing_)
    return true;
  auto decided = [this] {
    sniffing_ = false;
    if (buffer_.empty())
      buffer_.swap(sniffed_);
    else
      buffer_ += sniffed_;
    sniffed_.clear();
    return true;
  };
  if (!opts_.expect_csv)
    return decided();
  std::string_view rest{sniffed_};
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (rest.substr(0, bom.size()) == bom.substr(0, rest.size()) && !rest.empty()) {
    if (rest.size() < bom.size() && !at_end)
      return true; // maybe a BOM: wait for more
    if (rest.size() >= bom.size())
      rest.remove_prefix(bom.size());
  }
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
    rest.remove_prefix(1);
  if (rest.empty())
    return (at_end || sniffed_.size() > max_sniff_bytes) ? decided() : true;
  bool undecided = false;
  for (std::string_view tag : {"<!doctype html", "<html"}) {
    auto n = std::min(rest.size(), tag.size());
    if (!starts_with_ignore_case(rest, tag.substr(0, n)))
      continue;
    if (n == tag.size()) {
      fail(ec::not_csv, "the server sent an HTML page instead of CSV for " + redacted_url_
                          + "; Google does this when a sheet is not shared: share it as "
                            "'Anyone with the link can view' or configure credentials");
      return false;
    }
    undecided = true;
  }
  return (undecided && !at_end) ? true : decided();
}

size_t curl_transfer::header(const char* data, size_t n) {
  last_activity_ = steady_clock::now();
  auto line = trim(std::string_view{data, n});
  if (starts_with_ignore_case(line, "HTTP/")) {
    // A new response (the next hop of a redirect, or the one after "100 Continue").
    status_ = 0;
    auto space = line.find(' ');
    if (space != std::string_view::npos)
      status_ = static_cast<long>(parse_uint(line.substr(space + 1, 3)).value_or(0));
    headers_done_ = false;
    content_type_.clear();
    content_length_.reset();
    encoded_ = false;
    chunked_ = false;
    retry_after_.reset();
    expected_bytes_.reset();
    return n;
  }
  if (headers_done_)
    return n; // a trailer after a chunked body
  if (!line.empty()) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return n;
    auto name = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    auto is = [&](std::string_view x) {
      return name.size() == x.size() && starts_with_ignore_case(name, x);
    };
    if (is("content-type"))
      content_type_ = std::string{value};
    else if (is("content-length"))
      content_length_ = parse_uint(value);
    else if (is("content-encoding"))
      encoded_ = !value.empty() && !starts_with_ignore_case(value, "identity");
    else if (is("transfer-encoding"))
      chunked_ = true;
    else if (is("retry-after")) {
      // Saturated: 2^32 + 5 s must not become 5 s on the way (failure keeps 32 bits).
      if (auto secs = parse_uint(value))
        retry_after_ = std::chrono::seconds{static_cast<int64_t>(
          std::min<uint64_t>(*secs, std::numeric_limits<uint32_t>::max()))};
    }
    return n;
  }
  // The blank line that ends a header block.
  headers_done_ = true;
  if (status_ < 200 || (status_ >= 300 && status_ < 400))
    return n; // interim, or a redirect that curl follows (or complete() reports)
  if (status_ >= 400) {
    // The error page is of no use; stopping here saves reading it.
    http_failure();
    return 0;
  }
  if (!encoded_ && !chunked_)
    expected_bytes_ = content_length_;
  if (expected_bytes_ && *expected_bytes_ > opts_.max_bytes) {
    fail(ec::too_large, "the download from " + redacted_url_ + " is larger than the limit of "
                          + std::to_string(opts_.max_bytes) + " bytes (it announced "
                          + std::to_string(*expected_bytes_) + ")");
    return 0;
  }
  if (opts_.expect_csv) {
    std::string_view type = trim(content_type_);
    if (starts_with_ignore_case(type, "text/html")
        || starts_with_ignore_case(type, "application/xhtml+xml")) {
      fail(ec::not_csv, "the server sent an HTML page instead of CSV for " + redacted_url_
                          + "; Google does this when a sheet is not shared: share it as "
                            "'Anyone with the link can view' or configure credentials");
      return 0;
    }
  }
  return n;
}

void curl_transfer::http_failure() {
  auto text = "the server answered HTTP " + std::to_string(status_) + " for " + redacted_url_;
  if (status_ == 404) {
    text += ": check the sheet id and gid";
  } else if (status_ == 401 || status_ == 403) {
    text += ": the sheet is not shared with you: share it or configure credentials";
  } else if (status_ == 429) {
    text += ": rate limited";
    if (retry_after_)
      text += "; the server asks to retry after " + std::to_string(retry_after_->count()) + " s";
  } else if (status_ >= 500) {
    text += ": the server failed; try again later";
  } else if (status_ >= 300 && status_ < 400) {
    text += ": a redirect without a usable Location";
  }
  fail(ec::http_status, std::move(text));
  // What a retry decision needs, beside the text.
  if (error_.code != ec::http_status || error_.http_status != 0)
    return;
  error_.http_status = static_cast<uint16_t>(status_);
  error_.retry_after = retry_after_ ? saturated_seconds(*retry_after_) : 0;
}

void curl_transfer::complete(int curl_code) {
  auto code = static_cast<CURLcode>(curl_code);
  if (error_) {
    // A callback aborted the transfer; its failure says why, curl's code only "write error".
    finish(state::failed);
    return;
  }
  std::string curl_text = curl_->error_buffer[0] != '\0' ? curl_->error_buffer
                                                         : curl_easy_strerror(code);
  curl_text = redact_urls_in(std::string{trim(curl_text)});
  curl_off_t raw_bytes = 0;
  curl_easy_getinfo(curl_->easy, CURLINFO_SIZE_DOWNLOAD_T, &raw_bytes);
  auto cut_off = [&](const std::string& detail) {
    auto text = "the download from " + redacted_url_ + " was cut off after "
                + std::to_string(raw_bytes);
    if (content_length_)
      text += " of " + std::to_string(*content_length_);
    text += " bytes: the connection was closed or reset early (" + detail + ")";
    fail(ec::download_failed, std::move(text));
  };
  // Whether another attempt may succeed is decided in one place.
  auto kind = classify_curl_code(code);
  switch (code) {
    case CURLE_OK:
      if (is_file_ && !expected_bytes_) {
        curl_off_t size = -1;
        if (curl_easy_getinfo(curl_->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size) == CURLE_OK
            && size >= 0)
          expected_bytes_ = static_cast<uint64_t>(size);
      }
      if (!is_file_ && (status_ < 200 || status_ >= 300)) {
        http_failure();
      } else if (!sniff(true)) {
        // not_csv recorded
      } else if (expected_bytes_ && bytes_received_ != *expected_bytes_) {
        // libcurl reports a short body itself; this guards the decoded count we hand on.
        cut_off("got " + std::to_string(bytes_received_) + " decoded bytes");
      }
      break;
    case CURLE_ABORTED_BY_CALLBACK:
      fail(ec::cancelled, "the download of " + redacted_url_ + " was cancelled");
      break;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
      cut_off(curl_text);
      break;
    case CURLE_GOT_NOTHING:
      fail(kind, "the server closed the connection without answering for " + redacted_url_
                   + " (" + curl_text + ")");
      break;
    case CURLE_OPERATION_TIMEDOUT:
      fail(kind, "could not connect for " + redacted_url_ + " within "
                   + format_seconds(opts_.connect_timeout) + " (" + curl_text + ")");
      break;
    case CURLE_UNSUPPORTED_PROTOCOL: {
      long redirects = 0;
      curl_easy_getinfo(curl_->easy, CURLINFO_REDIRECT_COUNT, &redirects);
      if (redirects > 0 || status_ != 0)
        fail(kind, "refused to follow a redirect from " + redacted_url_
                     + ": redirects may only go to http:// or https:// (" + curl_text + ")");
      else
        fail(kind, "could not download " + redacted_url_ + ": " + curl_text);
      break;
    }
    case CURLE_TOO_MANY_REDIRECTS:
      fail(kind, "too many redirects from " + redacted_url_ + " (" + curl_text + ")");
      break;
    case CURLE_FILE_COULDNT_READ_FILE:
      fail(kind, "cannot read " + redacted_url_ + ": the file is missing or not readable ("
                   + curl_text + ")");
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
      fail(kind, "the TLS certificate of the server for " + redacted_url_
                   + " was refused (" + curl_text + ")");
      break;
    default:
      fail(kind, "could not download " + redacted_url_ + ": " + curl_text);
      break;
  }
  finish(error_ ? state::failed : state::done);
}

} // namespace sheetsync
