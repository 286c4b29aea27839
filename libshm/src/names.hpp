// Block names (private header): what only the implementation needs beside shm::BlockName.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shm::detail {

/// Longest name after the leading slash that shm_open accepts on Linux (NAME_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;

/// Why `name` (as given, no slash dropped) is not a name every CPython can create, attach,
/// track and unlink, or "" if it is: the rules of BlockName::validate, which throws with this
/// text, shared with the semaphore names of sync.hpp.
std::string name_problem(std::string_view name);

/// glibc keeps named semaphore "/x" in the file kShmDirectory + "/sem.x".
inline constexpr std::string_view kSemaphoreFilePrefix = "sem.";

/// Longest semaphore name after the leading slash: its file name "sem.x" must fit NAME_MAX.
inline constexpr std::size_t kMaxSemaphoreNameBytes = kMaxNameBytes - kSemaphoreFilePrefix.size();

/// A semaphore's name as sem_open and CPython's SemLock.name spell it, "/x", from "x" or "/x".
/// The rules are a block name's (name_problem), within kMaxSemaphoreNameBytes. Throws
/// shm::InvalidArgument (Errc::invalid_name) saying why.
std::string semaphore_os_name(std::string_view name);

/// The file of semaphore `os_name` ("/x", as semaphore_os_name returns): "/dev/shm/sem.x".
std::string semaphore_path(std::string_view os_name);

/// What a file of mode `mode` is, for messages: "a FIFO", "a directory", "a socket", ...
std::string file_type_text(unsigned mode);

}  // namespace shm::detail
