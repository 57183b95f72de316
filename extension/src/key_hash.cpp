// The low-level SHA256_* calls: OpenSSL 3's one-shot SHA256() fetches the
// algorithm under a lock on every call; these go straight to the SHA-NI code.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "key_hash.hpp"

#include <openssl/sha.h>

namespace insight {

void HashKey(std::string_view key, uint8_t out[32]) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, key.data(), key.size());
  SHA256_Final(out, &ctx);
}

}  // namespace insight
