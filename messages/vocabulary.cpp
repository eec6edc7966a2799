#include "messages/vocabulary.hpp"

#include <cstdio>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include <caf/binary_serializer.hpp>
#include <caf/type_id.hpp>

#include "messages/actors.hpp"
#include "messages/type_ids.hpp"

namespace sheetsync {

namespace {

template <caf::type_id_t I>
void add_type(std::string& acc) {
  using type = typename caf::type_by_id<I>::type;
  acc += caf::type_name_by_id<I>::value;
  acc += '\0';
  if constexpr (!std::is_empty<type>::value) {
    // The serialized default value changes with every added, removed or
    // retyped field.
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    type x{};
    static_cast<void>(sink(x));
    acc.append(buf.begin(), buf.end());
    acc += '\0';
  }
}

template <caf::type_id_t Begin, caf::type_id_t... Is>
void add_types(std::string& acc, std::integer_sequence<caf::type_id_t, Is...>) {
  (add_type<Begin + Is>(acc), ...);
}

std::string compute() {
  std::string acc;
  using messages = caf::id_block::sheetsync;
  using handles = caf::id_block::sheetsync_actors;
  add_types<messages::begin>(
    acc, std::make_integer_sequence<caf::type_id_t,
                                    messages::end - messages::begin>{});
  add_types<handles::begin>(
    acc, std::make_integer_sequence<caf::type_id_t,
                                    handles::end - handles::begin>{});
  // The mangled interface names every handler's signature.
  acc += typeid(coordinator_api).name();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(acc.data(), acc.size(), md, &len, EVP_sha256(), nullptr);
  std::string result = "sheetsync-";
  char hex[3];
  for (unsigned i = 0; i < 6; ++i) {
    std::snprintf(hex, sizeof(hex), "%02x", md[i]);
    result += hex;
  }
  return result;
}

} // namespace

const std::string& vocabulary_id() {
  static const std::string id = compute();
  return id;
}

} // namespace sheetsync
