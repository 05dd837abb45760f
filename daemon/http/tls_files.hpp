// The `[server] tls_cert_file` / `tls_key_file` check, without Boost, for the config
// validator: `kpid check` and a reload reject files the listener could not use.
#pragma once

#include <optional>
#include <string>

namespace kpid::http {

// Which file is wrong, for the caller's diagnostic location.
struct TlsFileError {
  enum class File { kCert, kKey };
  File file;
  std::string message;  // names the file; never holds key material
};

// Loads the PEM certificate chain and private key as the listener will and checks that the
// key belongs to the certificate. Reads the files; nothing else.
[[nodiscard]] std::optional<TlsFileError> CheckTlsFiles(const std::string& cert_file,
                                                        const std::string& key_file);

}  // namespace kpid::http
