#include "daemon/http/basic_auth.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <vector>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace kpid::http {
namespace {

constexpr std::string_view kBcryptAlphabet =
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// RFC 4648 base64 with optional padding; nullopt on anything else.
std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+') v = 62;
    if (c == '/') v = 63;
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out.push_back(static_cast<char>((bits >> held) & 0xFFU));
    }
  }
  if (held >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const auto a = static_cast<unsigned char>(text[i]);
    const auto b = static_cast<unsigned char>(prefix[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

// SHA-256 over the parts, each followed by a NUL so that ("ab","c") != ("a","bc").
std::string Digest(std::initializer_list<std::string_view> parts) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return {};
  for (std::string_view part : parts) {
    EVP_DigestUpdate(ctx.get(), part.data(), part.size());
    EVP_DigestUpdate(ctx.get(), "", 1);
  }
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &size) != 1) return {};
  return {reinterpret_cast<const char*>(md.data()), size};
}

}  // namespace

std::optional<std::string> CheckBcryptHash(std::string_view hash) {
  constexpr std::string_view kExpect =
      "expected a bcrypt hash like \"$2y$10$\" followed by 53 characters (make one with "
      "`htpasswd -nbBC 10 USER PASSWORD` or Python's crypt module)";
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$' ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y')) {
    return std::string("not a bcrypt hash; ") + std::string(kExpect);
  }
  const bool digits = hash[4] >= '0' && hash[4] <= '9' && hash[5] >= '0' && hash[5] <= '9';
  const int cost = digits ? (hash[4] - '0') * 10 + (hash[5] - '0') : -1;
  if (cost < 4 || cost > 31) return "bcrypt cost must be 04-31; " + std::string(kExpect);
  for (const char c : hash.substr(7)) {
    if (kBcryptAlphabet.find(c) == std::string_view::npos) {
      return "bcrypt hash has a character outside its alphabet; " + std::string(kExpect);
    }
  }
  return std::nullopt;
}

std::string MakeBcryptHash(std::string_view password, int cost) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  // No random bytes given: libxcrypt takes them from the operating system.
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0,  // NOLINT
                       setting.data(), static_cast<int>(setting.size())) == nullptr) {
    return {};
  }
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), setting.data(), data.get(), sizeof(crypt_data));
  std::string hash = out != nullptr && out[0] == '$' ? out : "";
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return hash;
}

BasicAuth::BasicAuth(std::map<std::string, std::string, std::less<>> users)
    : users_(std::move(users)) {}

std::size_t BasicAuth::bcrypt_runs() const {
  const std::lock_guard lock(mutex_);
  return bcrypt_runs_;
}

bool BasicAuth::Bcrypt(std::string_view password, const std::string& hash) const {
  {
    const std::lock_guard lock(mutex_);
    ++bcrypt_runs_;
  }
  const std::string phrase(password);  // crypt wants a C string
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool ok = out != nullptr && std::string_view(out).size() == hash.size() &&
                  CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

bool BasicAuth::Parse(std::string_view authorization, Credentials& out) const {
  if (users_.empty() || !StartsWithNoCase(authorization, "Basic ")) return false;
  std::string_view encoded = authorization.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::optional<std::string> decoded = DecodeBase64(encoded);
  if (!decoded) return false;
  // Swapped, not moved: a moved-from short string keeps its characters.
  out.decoded.swap(*decoded);
  const std::size_t colon = out.decoded.find(':');
  if (colon == std::string::npos) return false;
  out.user = std::string_view(out.decoded).substr(0, colon);
  out.password = std::string_view(out.decoded).substr(colon + 1);
  auto it = users_.find(out.user);
  out.known = it != users_.end();
  // An unknown user is checked against some hash too (and then refused), so that it
  // takes as long as a known one.
  out.hash = out.known ? &it->second : &users_.begin()->second;
  out.key = Digest({out.user, out.password, *out.hash});
  return true;
}

bool BasicAuth::Cached(const Credentials& credentials) const {
  const std::lock_guard lock(mutex_);
  return credentials.known && !credentials.key.empty() && verified_.contains(credentials.key);
}

std::optional<bool> BasicAuth::VerifyCached(std::string_view authorization) const {
  Credentials credentials;
  if (!Parse(authorization, credentials)) return false;
  if (Cached(credentials)) return true;
  return std::nullopt;
}

bool BasicAuth::Verify(std::string_view authorization) const {
  Credentials credentials;
  if (!Parse(authorization, credentials)) return false;
  if (Cached(credentials)) return true;
  const bool ok = Bcrypt(credentials.password, *credentials.hash) && credentials.known;
  if (ok && !credentials.key.empty()) {
    const std::lock_guard lock(mutex_);
    if (verified_.insert(credentials.key).second) {
      order_.push_back(credentials.key);
      if (order_.size() > kMaxCached) {
        verified_.erase(order_.front());
        order_.pop_front();
      }
    }
  }
  return ok;
}

BasicAuth::Credentials::~Credentials() { OPENSSL_cleanse(decoded.data(), decoded.size()); }

}  // namespace kpid::http
