// Crash-safe writing and checked reading of files. See file.h.
#include <ember/core/file.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <random>

#include <ember/core/error.h>

namespace ember::core {

namespace detail {

namespace {

SaveHook& save_hook() {
  static SaveHook hook;
  return hook;
}

void run_hook(SaveStage stage, const std::string& temp_path) {
  if (save_hook()) save_hook()(stage, temp_path);
}

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// What a file's mode says it is, for "is not a regular file" messages.
const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// write() until done, retrying on EINTR; false with errno set on failure.
bool write_all(int fd, const std::byte* data, std::size_t n) {
  while (n > 0) {
    const ssize_t written = ::write(fd, data, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (written == 0) {  // no progress and no error: never loop forever on it
      errno = EIO;
      return false;
    }
    data += written;
    n -= static_cast<std::size_t>(written);
  }
  return true;
}

// read() until n bytes or end of file, retrying on EINTR; the count read, or -1 with errno set.
ssize_t read_full(int fd, std::byte* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, data + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return static_cast<ssize_t>(done);
}

// `path` with every symbolic link on its last component followed: saving to a link replaces
// the link's target, as writing to it would (a dangling link names the file to create).
std::string resolve_symlinks(const std::string& path) {
  std::string current = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    EMBER_CHECK(hops < 40, "cannot write '", path, "': too many levels of symbolic links");
    std::string link(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
    for (;;) {
      const ssize_t n = ::readlink(current.c_str(), link.data(), link.size());
      EMBER_CHECK(n >= 0, "cannot write '", path, "': cannot read the symbolic link '", current,
                  "': ", errno_text(errno));
      if (static_cast<std::size_t>(n) < link.size()) {
        link.resize(static_cast<std::size_t>(n));
        break;
      }
      link.resize(link.size() * 2);  // the link changed since lstat: read again
    }
    current = link.starts_with('/') ? link : parent_dir(current) + "/" + link;
  }
}

// A fresh temporary name next to `base` that fits NAME_MAX however long `base` is:
// "<base>.tmp.XXXXXX", with `base` cut short when needed (the name only has to be unique).
std::string temp_name(const std::string& base) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  static std::atomic<std::uint64_t> counter{std::random_device{}()};
  std::uint64_t bits =
      counter.fetch_add(0x9E3779B97F4A7C15ull) ^ (static_cast<std::uint64_t>(::getpid()) << 32);
  std::string suffix = ".tmp.";
  for (int i = 0; i < 6; ++i) {
    suffix += kChars[bits % 62];
    bits /= 62;
  }
  constexpr std::size_t kNameMax = 255;
  return base.substr(0, std::min(base.size(), kNameMax - suffix.size())) + suffix;
}

// fsync, retrying on EINTR; a folder whose filesystem cannot fsync folders (EINVAL) counts as
// synced.
int fsync_retrying(int fd, bool folder) {
  int result;
  do {
    result = ::fsync(fd);
  } while (result != 0 && errno == EINTR);
  if (result != 0 && folder && errno == EINVAL) return 0;
  return result;
}

}  // namespace

void set_save_hook(SaveHook hook) {
  save_hook() = std::move(hook);
}

}  // namespace detail

// Note [crash-safe save]: write a temporary file in the target's folder (so rename is atomic,
// on one filesystem), fsync it so its bytes are on disk before it gets the target's name,
// rename it over the target, then fsync the folder so the rename itself survives a crash.
// At every instant `path` names either the old file or the new one, complete.
//
// Note [file semantics]: the result is the file the user would get from writing `path` in
// place. A new file gets 0666 & ~umask (the temporary file is created with 0666, so the
// kernel applies the umask and any default ACL); a replaced file keeps its mode (and owner,
// where we may set it), the temporary file being created 0600 until it has them; a symbolic
// link is written through (its target is replaced, atomically, and the link stays); a name of
// up to NAME_MAX bytes works (the temporary name is cut to fit); anything but a regular file is
// never replaced. All work is relative to the folder's descriptor, so the folder is the one
// fsynced and a long path is resolved once.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes) {
  using detail::errno_text;
  using detail::run_hook;
  using detail::SaveStage;
  EMBER_CHECK(!path.empty(), "cannot write '': the path is empty");
  const std::string target = detail::resolve_symlinks(path);
  const std::string dir = detail::parent_dir(target);
  const std::string base = detail::base_name(target);
  EMBER_CHECK(!base.empty() && base != "." && base != "..", "cannot write '", path,
              "': it names a folder, not a file");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EMBER_CHECK(dir_fd >= 0, "cannot write '", path, "': cannot open its folder '", dir,
              "': ", errno_text(errno));
  struct DirCloser {
    int fd;
    ~DirCloser() { ::close(fd); }
  } dir_closer{dir_fd};

  struct stat old {};
  const bool replacing = ::fstatat(dir_fd, base.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  EMBER_CHECK(!replacing || S_ISREG(old.st_mode), "cannot write '", path, "': '", target,
              "' exists and is ", detail::file_type_name(old.st_mode),
              ", not a regular file; refusing to replace it");

  std::string temp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    temp = detail::temp_name(base);
    fd = ::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  replacing ? 0600 : 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  EMBER_CHECK(fd >= 0, "cannot write '", path, "': cannot create a temporary file in the folder '",
              dir, "': ", errno_text(errno));
  const std::string temp_path = dir + "/" + temp;
  auto fail = [&](const std::string& what, int err) {
    ember::detail::throw_error(ember::detail::concat("cannot write '", path, "': ", what, " '",
                                                     temp_path, "': ", errno_text(err)));
  };
  try {
    run_hook(SaveStage::TempCreated, temp_path);
    if (replacing) {
      // Owner first (chown clears set-id bits), then the mode; an owner we may not give (we
      // are not root) stays ours, and then the set-id bits are not carried over.
      bool owned = old.st_uid == ::geteuid() && old.st_gid == ::getegid();
      if (!owned) owned = ::fchown(fd, old.st_uid, old.st_gid) == 0;
      const mode_t mode = old.st_mode & (owned ? 07777 : 0777);
      if (::fchmod(fd, mode) != 0) fail("cannot set the mode of", errno);
    }
    const std::size_t half = bytes.size() / 2;
    if (!detail::write_all(fd, bytes.data(), half)) fail("cannot write", errno);
    run_hook(SaveStage::HalfWritten, temp_path);
    if (!detail::write_all(fd, bytes.data() + half, bytes.size() - half))
      fail("cannot write", errno);
    if (detail::fsync_retrying(fd, false) != 0) fail("cannot fsync", errno);
    // close() can report a deferred write error (e.g. on NFS): check it before the rename. On
    // Linux the descriptor is gone even when close() fails, so it is never closed twice.
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0 && errno != EINTR) fail("cannot close", errno);
    run_hook(SaveStage::Written, temp_path);
    if (::renameat(dir_fd, temp.c_str(), dir_fd, base.c_str()) != 0)
      fail("cannot rename to '" + target + "'", errno);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlinkat(dir_fd, temp.c_str(), 0);
    throw;
  }
  EMBER_CHECK(detail::fsync_retrying(dir_fd, true) == 0, "wrote '", path,
              "', but cannot fsync its folder '", dir,
              "' (the new file may not survive a crash): ", errno_text(errno));
  run_hook(SaveStage::Renamed, path);
}

InputFile::InputFile(const std::string& path, std::string_view op, std::string_view hint)
    : path_(path), op_(op) {
  using detail::errno_text;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the file is refused just below.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  EMBER_CHECK(fd_ >= 0, op_, ": cannot open '", path, "': ", errno_text(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    ember::detail::throw_error(
        ember::detail::concat(op_, ": cannot stat '", path, "': ", errno_text(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    ember::detail::throw_error(
        ember::detail::concat(op_, ": '", path, "' is ", detail::file_type_name(st.st_mode),
                              ", not a regular file", hint.empty() ? "" : ": ", hint));
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  ::close(fd_);
}

void InputFile::read(std::span<std::byte> to) {
  const ssize_t got = detail::read_full(fd_, to.data(), to.size());
  EMBER_CHECK(got >= 0, op_, ": cannot read '", path_, "': ", detail::errno_text(errno));
  EMBER_CHECK(static_cast<std::size_t>(got) == to.size(), op_, ": '", path_,
              "' is truncated: it shrank while being read");
}

bool InputFile::at_end() {
  std::byte extra{};
  const ssize_t got = detail::read_full(fd_, &extra, 1);
  EMBER_CHECK(got >= 0, op_, ": cannot read '", path_, "': ", detail::errno_text(errno));
  return got == 0;
}

std::vector<std::byte> allocate_file_buffer(std::uint64_t n, const std::string& path,
                                            std::string_view op) {
  EMBER_CHECK(n <= std::numeric_limits<std::size_t>::max() / 2, op, ": '", path, "' is too large (",
              n, " bytes)");
  std::vector<std::byte> buffer;
  try {
    buffer.resize(static_cast<std::size_t>(n));
  } catch (const std::bad_alloc&) {
    ember::detail::throw_error(ember::detail::concat(
        op, ": '", path, "' is ", n, " bytes, more than this process can allocate"));
  }
  return buffer;
}

std::vector<std::byte> read_file(const std::string& path, std::string_view op) {
  InputFile file(path, op);
  std::vector<std::byte> bytes = allocate_file_buffer(file.size(), path, op);
  file.read(bytes);
  EMBER_CHECK(file.at_end(), op, ": '", path, "' has trailing bytes: it grew while being read");
  return bytes;
}

}  // namespace ember::core
