#include "daemon/notify/file/receiver.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/notify/file/settings.hpp"
#include "daemon/notify/webhook/payload.hpp"

namespace kpid::notify::file {
namespace {

using Outcome = Delivery::Outcome;

constexpr mode_t kMode = 0640;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close() reports the errors of delayed writes (NFS); the descriptor is gone either way.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// O_EXCL tells whether this call made the file, whose directory entry then needs an fsync
// of its own; EEXIST: another writer made it meanwhile.
int OpenForAppend(const std::string& path, bool& created) {
  constexpr int kFlags = O_WRONLY | O_APPEND | O_CLOEXEC;
  int fd = ::open(path.c_str(), kFlags);
  if (fd >= 0 || errno != ENOENT) return fd;
  fd = ::open(path.c_str(), kFlags | O_CREAT | O_EXCL, kMode);
  created = fd >= 0;
  if (fd < 0 && errno == EEXIST) fd = ::open(path.c_str(), kFlags);
  return fd;
}

// Fsync of a pipe, a terminal or /dev/stdout fails with EINVAL: there is nothing to sync.
bool SyncFailed(int fd) { return ::fsync(fd) != 0 && errno != EINVAL && errno != EROFS; }

class FileReceiver final : public Receiver {
 public:
  FileReceiver(const config::Receiver& config, const ReceiverContext& context)
      : label_("file \"" + config.name + "\""), io_(context.io) {
    if (const auto* s = dynamic_cast<const Settings*>(config.settings.get())) path_ = s->path;
  }

  ~FileReceiver() override { *alive_ = false; }

  void Send(const Notification& n, Done done) override {
    Delivery delivery = Append(
        WebhookPayload(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n');
    boost::asio::post(
        io_, [alive = alive_, done = std::move(done), delivery = std::move(delivery)]() mutable {
          if (*alive) done(std::move(delivery));
        });
  }

 private:
  Delivery Error(const std::string& what, int error) const {
    return Delivery{Outcome::kRetry,
                    label_ + ": cannot " + what + " " + path_ + ": " +
                        std::error_code(error, std::generic_category()).message(),
                    {}};
  }

  Delivery Append(const std::string& line) const {
    if (path_.empty()) return Delivery{Outcome::kFailed, label_ + ": no path configured", {}};
    bool created = false;
    Fd fd(OpenForAppend(path_, created));
    if (fd.get() < 0) return Error("open", errno);

    // Where the line starts, to take back a partial line: a retry then appends a whole one.
    const off_t start = ::lseek(fd.get(), 0, SEEK_END);
    std::string_view rest = line;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = n < 0 ? errno : EIO;
        if (rest.size() != line.size() && start >= 0) {
          static_cast<void>(::ftruncate(fd.get(), start));
        }
        return Error("write to", error);
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (SyncFailed(fd.get())) return Error("fsync", errno);
    if (created) {
      const std::string dir = std::filesystem::path(path_).parent_path().string();
      Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (dir_fd.get() < 0) return Error("open the directory of", errno);
      if (SyncFailed(dir_fd.get())) return Error("fsync the directory of", errno);
    }
    if (fd.Close() != 0) return Error("close", errno);
    return Delivery{};
  }

  std::string label_;
  std::string path_;
  boost::asio::io_context& io_;
  // Posted completions check it: a destroyed receiver calls no `done`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context) {
  return std::make_unique<FileReceiver>(config, context);
}

}  // namespace kpid::notify::file
