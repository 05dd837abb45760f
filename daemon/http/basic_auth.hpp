// HTTP basic auth against bcrypt hashes, as the Prometheus exporter-toolkit offers
// (`[server.basic_auth_users]`). Without Boost, so the config validator can check hashes.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace kpid::http {

// nullopt when `hash` is a bcrypt hash crypt(3) can check ("$2a$", "$2b$" or "$2y$", a
// two-digit cost 04-31, then 53 characters of salt and digest); else what is wrong.
[[nodiscard]] std::optional<std::string> CheckBcryptHash(std::string_view hash);

// A bcrypt hash of `password` with the given cost (4-31), or "" on failure. For tests
// and tooling; kpid itself only verifies.
[[nodiscard]] std::string MakeBcryptHash(std::string_view password, int cost = 10);

// Verifies Authorization header values. bcrypt costs 50-100 ms by design, so a verified
// user+password is remembered (as a SHA-256 digest, at most kMaxCached of them) and a
// scraper polling every 15 s pays it once; failures are never remembered. Thread-safe.
class BasicAuth {
 public:
  static constexpr std::size_t kMaxCached = 256;

  // user -> bcrypt hash, each accepted by CheckBcryptHash.
  explicit BasicAuth(std::map<std::string, std::string, std::less<>> users);

  // True when `authorization` is "Basic base64(user:password)" for a configured user
  // and the right password. An unknown user costs a bcrypt run as well, so timing does
  // not tell which users exist.
  [[nodiscard]] bool Verify(std::string_view authorization) const;
  // Verify() without running bcrypt: true for a remembered user+password, false for a
  // header that cannot pass (not Basic, not base64, no colon), nullopt when only bcrypt
  // can tell. For the io thread, which must not spend 100 ms on a request.
  [[nodiscard]] std::optional<bool> VerifyCached(std::string_view authorization) const;

  bool empty() const { return users_.empty(); }
  // bcrypt runs so far (tests check the cache with it).
  std::size_t bcrypt_runs() const;

 private:
  // A decoded header; the password is wiped when it goes, and never copied or moved.
  struct Credentials {
    Credentials() = default;
    Credentials(Credentials&&) = delete;
    Credentials& operator=(Credentials&&) = delete;
    Credentials(const Credentials&) = delete;
    Credentials& operator=(const Credentials&) = delete;
    ~Credentials();

    std::string decoded;  // "user:password"
    std::string_view user;
    std::string_view password;
    bool known = false;                 // user is configured
    const std::string* hash = nullptr;  // the user's, or another's for an unknown user
    std::string key;                    // digest of user, password and hash, for the cache
  };

  // False when the header cannot pass whatever the password.
  bool Parse(std::string_view authorization, Credentials& out) const;
  bool Cached(const Credentials& credentials) const;
  bool Bcrypt(std::string_view password, const std::string& hash) const;

  std::map<std::string, std::string, std::less<>> users_;
  mutable std::mutex mutex_;
  mutable std::unordered_set<std::string> verified_;  // guarded by mutex_
  mutable std::deque<std::string> order_;             // oldest first; guarded by mutex_
  mutable std::size_t bcrypt_runs_ = 0;               // guarded by mutex_
};

}  // namespace kpid::http
