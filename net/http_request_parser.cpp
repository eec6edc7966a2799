#include "net/http_request_parser.hpp"

#include <http_parser.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstring>

#include "net/text.hpp"

namespace sheetsync {

namespace {

/// Header name bytes (RFC 9110 tchar) lower-cased; 0 for bytes a name must not contain. Debian
/// builds libhttp_parser non-strict, which lets blanks into names ("Host : x").
constexpr std::array<char, 256> make_name_table() {
  std::array<char, 256> table{};
  for (int c = '0'; c <= '9'; ++c)
    table[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) {
    table[c] = static_cast<char>(c);
    table[c - 'a' + 'A'] = static_cast<char>(c);
  }
  for (char c : std::string_view{"!#$%&'*+-.^_`|~"})
    table[static_cast<unsigned char>(c)] = c;
  return table;
}

constexpr auto name_table = make_name_table();

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(c | 0x20);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

bool contains(std::string_view x, char c) {
  // memchr is vectorised; string_view::find_first_of is a generic double loop.
  return std::memchr(x.data(), c, x.size()) != nullptr;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view x) {
  while (!x.empty() && is_blank(x.front()))
    x.remove_prefix(1);
  while (!x.empty() && is_blank(x.back()))
    x.remove_suffix(1);
  return x;
}

/// Strict percent-decoding for the path: a bad escape or %00 (NUL smuggled into file names or
/// C APIs) fails.
bool decode_path(std::string_view in, std::string& out) {
  auto pct = in.find('%');
  if (pct == std::string_view::npos) {
    out.assign(in);
    return true;
  }
  out.clear();
  out.reserve(in.size());
  out.append(in.substr(0, pct));
  for (size_t i = pct; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size())
      return false;
    auto hi = hex_value(in[i + 1]);
    auto lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
      return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

/// Lenient form decoding for query keys and values: `+` is a space, a bad escape stays as sent
/// (the WHATWG URL standard's percent-decode does the same).
void decode_query_part(std::string_view in, std::string& out) {
  if (!contains(in, '%') && !contains(in, '+')) {
    out.assign(in);
    return;
  }
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    auto c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0
               && hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
}

void parse_query(std::string_view in, std::vector<std::pair<std::string, std::string>>& out) {
  if (in.empty())
    return;
  size_t params = 1;
  for (auto c : in)
    params += c == '&';
  out.reserve(params);
  size_t pos = 0;
  while (pos <= in.size()) {
    auto end = in.find('&', pos);
    if (end == std::string_view::npos)
      end = in.size();
    auto param = in.substr(pos, end - pos);
    pos = end + 1;
    if (param.empty())
      continue; // "a=1&&b=2"
    auto eq = param.find('=');
    auto& [key, value] = out.emplace_back();
    decode_query_part(param.substr(0, eq), key);
    if (eq != std::string_view::npos)
      decode_query_part(param.substr(eq + 1), value);
  }
}

/// Fills path and query from the target; false for a bad path.
bool parse_target(http_request& r) {
  std::string_view target = r.target;
  target = target.substr(0, target.find('#')); // clients must not send one; ignore it if they do
  auto question = target.find('?');
  auto path = target.substr(0, question);
  if (!path.empty() && path.front() != '/') {
    // Absolute form ("http://host:8080/p"): keep the path. Asterisk and authority forms ("*",
    // "host:443") have none and stay as they are.
    auto scheme_end = path.find("://");
    if (scheme_end != std::string_view::npos) {
      auto slash = path.find('/', scheme_end + 3);
      path = slash == std::string_view::npos ? std::string_view{"/"} : path.substr(slash);
    }
  }
  if (!decode_path(path, r.path))
    return false;
  if (question != std::string_view::npos)
    parse_query(target.substr(question + 1), r.query);
  return true;
}

int status_of(http_errno err) {
  switch (err) {
    case HPE_HEADER_OVERFLOW:
      return 431;
    case HPE_INVALID_TRANSFER_ENCODING:
      return 501;
    default:
      return 400;
  }
}

} // namespace

struct http_request_parser::impl {
  /// Why http_parser_execute returned paused.
  enum class stop : uint8_t { none, headers, message };

  /// Which header callback ran last (field and value data may each come in several calls).
  enum class last_data : uint8_t { none, field, value };

  http_parser parser;
  limits lim;
  /// The request being parsed.
  http_request cur;
  /// Requests handed back by recycle(), to be cleared and refilled.
  std::vector<http_request> spare;
  /// The bytes handed to the running http_parser_execute call.
  const char* exec_begin = nullptr;
  const char* exec_end = nullptr;
  /// Bytes of the current request consumed by earlier execute calls (blank lines before it
  /// included).
  size_t msg_bytes = 0;
  size_t trailer_bytes = 0;
  int error = 0;
  /// Status found in on_headers_complete, reported once the head's size is known (431 wins).
  int deferred = 0;
  stop stopped = stop::none;
  last_data last = last_data::none;
  /// The last header value ended at its line end: more value data means obs-fold.
  bool value_line_ended = false;
  bool head_done = false;
  bool in_message = false;
  bool closed = false;

  explicit impl(limits l) : lim(l) {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
  }

  static impl& self(http_parser* p) {
    return *static_cast<impl*>(p->data);
  }

  /// Stops the parser with an HTTP status; the result is for a callback to return. Not 1:
  /// from on_headers_complete that means "no body" rather than an error.
  int fail(int status) {
    error = status;
    return -1;
  }

  /// Records an HTTP status for feed() to return.
  int failed(int status) {
    error = status;
    return status;
  }

  /// Whether the head is already longer than allowed at `end` (a position in the current
  /// execute buffer). Lets a single large read fail before it fills the header strings.
  bool head_exceeds(const char* end) const {
    return msg_bytes + static_cast<size_t>(end - exec_begin) > lim.max_header_bytes;
  }

  bool supported_version() const {
    return parser.http_major == 1 && parser.http_minor <= 1;
  }

  /// Spare requests kept for reuse (about 1 KiB each for a typical GET).
  static constexpr size_t max_spare = 8;

  /// Bodies with more capacity are freed rather than kept for reuse.
  static constexpr size_t max_spare_body = 4 * 1024;

  /// Starts the next request in a recycled one if there is one. clear() keeps the capacity of
  /// the strings and vectors.
  void reuse_spare() {
    if (spare.empty())
      return;
    cur = std::move(spare.back());
    spare.pop_back();
    cur.method.clear();
    cur.target.clear();
    cur.path.clear();
    cur.query.clear();
    cur.headers.clear();
    cur.body.clear();
    cur.keep_alive = true;
    cur.upgrade = false;
  }

  /// Between requests, with nothing to remember: a new parser would do the same.
  bool at_rest() const {
    return error == 0 && !closed && !in_message && msg_bytes == 0 && spare.empty();
  }

  void reset_message() {
    cur = http_request{};
    msg_bytes = 0;
    trailer_bytes = 0;
    deferred = 0;
    last = last_data::none;
    value_line_ended = false;
    head_done = false;
    in_message = false;
  }

  /// Checks and completes the request once its head is parsed; returns an error status or 0.
  int finish_head() {
    if (!supported_version())
      return 505;
    auto& r = cur;
    r.method = http_method_str(static_cast<http_method>(parser.method));
    for (auto& [name, value] : r.headers) {
      // http_parser drops leading blanks but keeps trailing ones.
      if (!value.empty() && (is_blank(value.back()) || is_blank(value.front()))) {
        auto trimmed = trim(value);
        auto start = static_cast<size_t>(trimmed.data() - value.data());
        value.erase(start + trimmed.size());
        value.erase(0, start);
      }
    }
    if (!parse_target(r))
      return 400;
    if (parser.uses_transfer_encoding) {
      // Only a single plain "chunked": anything else ("gzip, chunked") we cannot decode.
      int count = 0;
      bool chunked = false;
      for (auto& [name, value] : r.headers)
        if (name == "transfer-encoding") {
          ++count;
          chunked = equals_ignore_case(value, "chunked");
        }
      if (count != 1 || !chunked)
        return 501;
    }
    if ((parser.flags & F_CHUNKED) == 0 && parser.content_length != ULLONG_MAX) {
      if (parser.content_length > lim.max_body_bytes)
        return 413;
      // Capped: announcing a large body must not be enough to make us allocate it.
      r.body.reserve(std::min<uint64_t>(parser.content_length, 16 * 1024));
    }
    r.upgrade = parser.upgrade;
    // A CONNECT request turns the connection into a tunnel: no HTTP follows.
    r.keep_alive = http_should_keep_alive(&parser) != 0 && parser.method != HTTP_CONNECT;
    return 0;
  }

  // -- http_parser callbacks --------------------------------------------------

  /// Adapts a member to http_parser's data callback. An exception (bad_alloc) must not unwind
  /// through http_parser's C frames, which would leave its state half-updated.
  template <int (impl::*Handler)(const char*, size_t)>
  static int data_cb(http_parser* p, const char* at, size_t len) {
    auto& s = self(p);
    try {
      return (s.*Handler)(at, len);
    } catch (...) {
      return s.fail(500);
    }
  }

  template <int (impl::*Handler)()>
  static int notify_cb(http_parser* p) {
    auto& s = self(p);
    try {
      return (s.*Handler)();
    } catch (...) {
      return s.fail(500);
    }
  }

  int on_message_begin() {
    in_message = true;
    reuse_spare();
    return 0;
  }

  int on_url(const char* at, size_t len) {
    if (head_exceeds(at + len))
      return fail(431);
    // The non-strict build lets tabs and form feeds through (other controls it refuses).
    std::string_view chunk{at, len};
    if (contains(chunk, '\t') || contains(chunk, '\f'))
      return fail(400);
    cur.target.append(at, len);
    return 0;
  }

  int on_header_field(const char* at, size_t len) {
    if (head_done) {
      // A chunked trailer: unused, but it must not grow without bound.
      trailer_bytes += len;
      return trailer_bytes > lim.max_header_bytes ? fail(431) : 0;
    }
    if (head_exceeds(at + len))
      return fail(431);
    auto& headers = cur.headers;
    if (last != last_data::field) {
      if (headers.empty())
        headers.reserve(8);
      headers.emplace_back();
      last = last_data::field;
      value_line_ended = false;
    }
    auto& name = headers.back().first;
    auto old_size = name.size();
    name.append(at, len);
    // Raw pointers: writes through a char* could alias the string's size, which a loop up to
    // name.end() would then reload every round.
    for (auto i = name.data() + old_size, end = name.data() + name.size(); i != end; ++i) {
      auto lower = name_table[static_cast<unsigned char>(*i)];
      if (lower == 0)
        return fail(400);
      *i = lower;
    }
    return 0;
  }

  int on_header_value(const char* at, size_t len) {
    if (head_done) {
      trailer_bytes += len;
      return trailer_bytes > lim.max_header_bytes ? fail(431) : 0;
    }
    if (head_exceeds(at + len))
      return fail(431);
    // RFC 9112 5.2: reject obs-fold (a line continuing the previous value) rather than guess.
    if (last == last_data::value && value_line_ended)
      return fail(400);
    last = last_data::value;
    cur.headers.back().second.append(at, len);
    // A value that stops at the end of the buffer may continue in the next read.
    if (at + len < exec_end && (at[len] == '\r' || at[len] == '\n'))
      value_line_ended = true;
    return 0;
  }

  int on_headers_complete() {
    head_done = true;
    deferred = finish_head();
    // Pausing makes http_parser_execute return at the head's last byte, which tells its size.
    stopped = stop::headers;
    http_parser_pause(&parser, 1);
    return 0;
  }

  int on_chunk_header() {
    // content_length holds the size of the coming chunk.
    if (parser.content_length > lim.max_body_bytes - cur.body.size())
      return fail(413);
    return 0;
  }

  int on_body(const char* at, size_t len) {
    if (len > lim.max_body_bytes - cur.body.size())
      return fail(413);
    cur.body.append(at, len);
    return 0;
  }

  int on_message_complete() {
    // Pausing tells where the request ends, so the next one's size counts from there.
    stopped = stop::message;
    http_parser_pause(&parser, 1);
    return 0;
  }

  static const http_parser_settings settings;

  int feed(std::string_view bytes, std::vector<http_request>& out) {
    if (error != 0)
      return error;
    if (closed)
      return 0;
    auto data = bytes.data();
    auto size = bytes.size();
    size_t offset = 0;
    while (offset < size) {
      exec_begin = data + offset;
      exec_end = data + size;
      stopped = stop::none;
      auto used = http_parser_execute(&parser, &settings, data + offset, size - offset);
      offset += used;
      auto err = HTTP_PARSER_ERRNO(&parser);
      if (err == HPE_PAUSED) {
        http_parser_pause(&parser, 0);
        msg_bytes += used;
        if (stopped == stop::headers) {
          // The parser stopped on the head's last byte without consuming it.
          if (msg_bytes + 1 > lim.max_header_bytes)
            return failed(431);
          if (deferred != 0)
            return failed(deferred);
        } else {
          out.push_back(std::move(cur));
          auto keep_alive = out.back().keep_alive;
          reset_message();
          if (!keep_alive) {
            closed = true;
            return 0;
          }
        }
        continue;
      }
      if (err != HPE_OK)
        return failed(error != 0 ? error : status_of(err));
      msg_bytes += used;
      if (used == 0)
        return failed(400); // cannot happen with OK; never loop forever
    }
    if (!head_done && msg_bytes > lim.max_header_bytes)
      return failed(431);
    return 0;
  }
};

const http_parser_settings http_request_parser::impl::settings = {
  notify_cb<&impl::on_message_begin>,    // on_message_begin
  data_cb<&impl::on_url>,                // on_url
  nullptr,                               // on_status (responses only)
  data_cb<&impl::on_header_field>,       // on_header_field
  data_cb<&impl::on_header_value>,       // on_header_value
  notify_cb<&impl::on_headers_complete>, // on_headers_complete
  data_cb<&impl::on_body>,               // on_body
  notify_cb<&impl::on_message_complete>, // on_message_complete
  notify_cb<&impl::on_chunk_header>,     // on_chunk_header
  nullptr,                               // on_chunk_complete
};

http_request_parser::http_request_parser() : http_request_parser(limits{}) {
  // nop
}

http_request_parser::http_request_parser(limits lim) : lim_(lim) {
  // nop
}

http_request_parser::~http_request_parser() = default;

http_request_parser::http_request_parser(http_request_parser&&) noexcept = default;

http_request_parser& http_request_parser::operator=(http_request_parser&&) noexcept = default;

int http_request_parser::feed(std::string_view bytes, std::vector<http_request>& out) {
  if (!impl_)
    impl_ = std::make_unique<impl>(lim_);
  auto status = impl_->feed(bytes, out);
  // Between two requests a parser is as good as new (http_parser is back at the start of a
  // message): an idle keep-alive connection holds none.
  if (impl_->at_rest())
    impl_.reset();
  return status;
}

void http_request_parser::recycle(std::vector<http_request>& done) {
  if (!impl_)
    impl_ = std::make_unique<impl>(lim_);
  auto& spare = impl_->spare;
  spare.reserve(impl::max_spare);
  for (auto& r : done) {
    if (spare.size() >= impl::max_spare)
      break;
    if (r.body.capacity() > impl::max_spare_body)
      r.body = std::string{};
    spare.push_back(std::move(r));
  }
  done.clear();
}

size_t http_request_parser::pending_bytes() const {
  return impl_ && impl_->in_message ? impl_->msg_bytes : 0;
}

int http_request_parser::error() const {
  return impl_ ? impl_->error : 0;
}

bool http_request_parser::closed() const {
  return impl_ && impl_->closed;
}

} // namespace sheetsync
