#include "net/http_post.hpp"

#include <algorithm>

#include <curl/curl.h>

namespace sheetsync {

namespace {

struct answer_sink {
  size_t seen = 0;
  size_t max = 0;
  bool cut_off = false;
  /// Where the bytes go; null: discarded.
  std::string* keep = nullptr;
};

extern "C" size_t on_answer(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<answer_sink*>(user);
  sink->seen += size * n;
  if (sink->seen > sink->max) {
    sink->cut_off = true;
    return 0; // ends the transfer
  }
  if (sink->keep != nullptr)
    sink->keep->append(data, size * n);
  return size * n;
}

extern "C" int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t,
                           curl_off_t) {
  auto* cancel = static_cast<std::atomic<bool>*>(user);
  return cancel != nullptr && cancel->load() ? 1 : 0;
}

} // namespace

post_outcome http_post(const std::string& url,
                       const std::vector<std::string>& headers,
                       const std::string& body, const post_options& opts,
                       const std::shared_ptr<std::atomic<bool>>& cancel) {
  post_outcome out;
  std::unique_ptr<CURL, void (*)(CURL*)> easy{curl_easy_init(),
                                              &curl_easy_cleanup};
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list{nullptr,
                                                          &curl_slist_free_all};
  auto fail_early = [&](std::string text) {
    out.curl_code = CURLE_OUT_OF_MEMORY;
    out.curl_error = text;
    out.error = std::move(text);
    return out;
  };
  if (!easy)
    return fail_early("libcurl could not create a request");
  for (auto& line : headers) {
    auto* next = curl_slist_append(list.get(), line.c_str());
    if (next == nullptr)
      return fail_early("libcurl could not build the request's headers");
    list.release();
    list.reset(next);
  }
  answer_sink sink;
  sink.max = opts.max_answer_bytes;
  if (opts.keep_answer)
    sink.keep = &out.answer;
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK)
      rc = curl_easy_setopt(easy.get(), option, value);
  };
  auto timeout_ms = static_cast<long>(
    std::max<int64_t>(1, opts.timeout.count()));
  auto connect_ms = opts.connect_timeout.count() > 0
                      ? std::min(timeout_ms,
                                 static_cast<long>(opts.connect_timeout.count()))
                      : timeout_ms;
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_NOSIGNAL, 1L);
  if (!opts.user_agent.empty())
    set(CURLOPT_USERAGENT, opts.user_agent.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500 // 7.85.0
  set(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_POST, 1L);
  set(CURLOPT_POSTFIELDS, body.c_str());
  set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  set(CURLOPT_HTTPHEADER, list.get());
  set(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  set(CURLOPT_TIMEOUT_MS, timeout_ms);
  set(CURLOPT_WRITEFUNCTION, &on_answer);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&sink));
  set(CURLOPT_NOPROGRESS, 0L);
  set(CURLOPT_XFERINFOFUNCTION, &on_progress);
  set(CURLOPT_XFERINFODATA, static_cast<void*>(cancel.get()));
  if (rc != CURLE_OK) {
    out.curl_code = rc;
    out.curl_error = std::string{"libcurl rejected an option: "}
                     + curl_easy_strerror(rc);
    out.error = out.curl_error;
    return out;
  }
  rc = curl_easy_perform(easy.get());
  long status = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<uint16_t>(status > 0 && status < 1000 ? status : 0);
  out.cut_off = sink.cut_off;
  if (rc != CURLE_OK && !(sink.cut_off && rc == CURLE_WRITE_ERROR)) {
    std::string reason = error_buffer[0] != '\0' ? error_buffer
                                                 : curl_easy_strerror(rc);
    out.curl_code = rc;
    out.curl_error = reason;
    if (rc == CURLE_OPERATION_TIMEDOUT)
      reason = "no answer within " + std::to_string(timeout_ms / 1000)
               + " s (" + reason + ")";
    else if (rc == CURLE_ABORTED_BY_CALLBACK)
      reason = "stopped: the service is shutting down";
    out.error = std::move(reason);
    // A status that arrived before the failure is not the answer.
    out.status = 0;
    return out;
  }
  if (out.status < 200 || out.status > 299)
    out.error = "HTTP " + std::to_string(out.status)
                + (out.status >= 300 && out.status < 400
                     ? " (a redirect: not followed)"
                     : "");
  return out;
}

} // namespace sheetsync
