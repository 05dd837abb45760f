#include "daemon/http/tls_files.hpp"

#include <cerrno>
#include <fstream>
#include <memory>
#include <system_error>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace kpid::http {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// Why `path` cannot be opened for reading, or nullopt. Checked before OpenSSL so that the
// message says "permission denied" rather than an OpenSSL error code.
std::optional<std::string> Unreadable(const std::string& path) {
  std::ifstream in(path);
  if (in) return std::nullopt;
  return "cannot read file " + Quote(path) + ": " + std::generic_category().message(errno);
}

// The reason text of OpenSSL's oldest queued error (library and reason, no data), and
// clears the queue.
std::string OpenSslReason() {
  const unsigned long code = ERR_peek_error();  // NOLINT(google-runtime-int): OpenSSL's type
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown error";
}

}  // namespace

std::optional<TlsFileError> CheckTlsFiles(const std::string& cert_file,
                                          const std::string& key_file) {
  using File = TlsFileError::File;
  if (auto why = Unreadable(cert_file)) return TlsFileError{File::kCert, *why};
  if (auto why = Unreadable(key_file)) return TlsFileError{File::kKey, *why};
  ERR_clear_error();
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                              &SSL_CTX_free);
  if (!ctx) return TlsFileError{File::kCert, "cannot set up TLS: " + OpenSslReason()};
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return TlsFileError{File::kCert, "file " + Quote(cert_file) +
                                         " holds no usable PEM certificate: " + OpenSslReason()};
  }
  // The key alone first, so that a key that does not parse and a key of another
  // certificate get different messages.
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> key_only(SSL_CTX_new(TLS_server_method()),
                                                                   &SSL_CTX_free);
  if (!key_only ||
      SSL_CTX_use_PrivateKey_file(key_only.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return TlsFileError{File::kKey, "file " + Quote(key_file) +
                                        " holds no usable PEM private key: " + OpenSslReason()};
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return TlsFileError{File::kKey, "the private key in " + Quote(key_file) +
                                        " does not match the certificate in " + Quote(cert_file)};
  }
  return std::nullopt;
}

}  // namespace kpid::http
