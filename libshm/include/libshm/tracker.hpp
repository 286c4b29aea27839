// The resource tracker: a helper process that unlinks this process's blocks and named
// semaphores when it ends without unlinking them (normal exit, crash or SIGKILL), like CPython's
// resource_tracker.
//
// One tracker per process, started lazily on the first registration. It is a forked child
// that runs only async-signal-safe code (safe to start from a multithreaded program) and
// reads CPython's line protocol, "REGISTER:/name:shared_memory\n" and
// "UNREGISTER:/name:shared_memory\n" (a block), "REGISTER:/mp-x:semaphore\n" and
// "UNREGISTER:/mp-x:semaphore\n" (a named semaphore, sync.hpp), from a local stream socket
// whose write end this process holds. When every holder of the write end is gone (this process
// and any fork()ed children that did not exec), it unlinks what is still registered (a block's
// file /dev/shm/name, a semaphore's /dev/shm/sem.mp-x) and prints to stderr, one line per type:
//   libshm resource_tracker: There appear to be 1 leaked shared_memory objects to clean up
//   at shutdown: ['/psm_1a2b3c4d']
//   libshm resource_tracker: There appear to be 1 leaked semaphore objects to clean up
//   at shutdown: ['/mp-2k_x9abc']
//
// Unlike CPython's, the tracker remembers which file each name was when it was registered
// (libshm's REGISTER lines end in ":DEV:INO"), and leaves a block (or semaphore) alone that
// another process created later under the same name: "not unlinked: the name now belongs to
// another block" ("... another semaphore"). A block and a semaphore of the same name are two
// registrations.
//
// Behaviours a program must know (README, "Sharing /dev/shm with other users"):
// - Start: the tracker reports to the client that it runs before the first registration
//   returns; if it cannot start, register_block (so a tracked create) throws and the create
//   leaves nothing. It needs only descriptors 0-3, so a low RLIMIT_NOFILE is no obstacle once
//   the client's socketpair succeeded.
// - fork(): safe from any thread at any time. The client's mutex is taken around every fork()
//   (pthread_atfork) and released in parent and child; the tracker is started with _Fork(),
//   which runs no handlers. A child shares its parent's tracker.
// - exec(): the socket is close-on-exec, so exec() in the last process holding it makes the
//   tracker unlink that process's tracked blocks at once (as CPython's).
// - wait(): the tracker is a child of the program, so `while (wait(nullptr) > 0)` also waits
//   for it, i.e. until the program itself exits: wait for your own children by pid.
// - Batches: after reading what was sent, the tracker pauses 1 ms before it waits again, so
//   the sends of a burst of creates and unlinks do not each wake it (that wake-up was most of
//   what tracking cost). A line counts once send() returned: it is in the socket's buffer,
//   read even after its sender died. When the last holder exits, cleanup starts within 1 ms.
// - A stopped tracker (SIGSTOP) reads nothing: once the socket buffer is full (a few hundred
//   registrations), register_block and unregister_block block until it runs again.
// - A tracked SharedMemory::create registers the block before the block has its name (it is
//   made unnamed, O_TMPFILE, and linked in after), so no SIGKILL, at any moment, leaves a block
//   the tracker does not know about. Where /dev/shm cannot make unnamed files (or, before
//   Linux 6.10, /proc is not mounted) it falls back to CPython's order, open then register.
//
// - A tracked attach registers the block only once the attach has succeeded: a typed attach
//   (ShareableList, NpyArray, a pickle's list) validates the block untracked and then calls
//   SharedMemory::track, which registers the file it opened by its identity. A refused attach
//   thus registers nothing and withdraws nothing (no UNREGISTER by name, which would also undo
//   a registration this process's create made).
//
// SharedMemory::create registers by default and SharedMemory::unlink unregisters, so most
// programs never call these functions directly.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace shm::tracker {

/// Asks the tracker to unlink block `name` (without the leading slash) if this process ends
/// without calling unregister_block for it, provided the name still means the block that exists
/// now. Registering twice is the same as once (the newest block counts).
/// Throws shm::InvalidArgument (Errc::invalid_name) for a name shm::BlockName refuses (one
/// leading '/' is dropped), shm::OsError if the tracker cannot be started (its errno, or ECHILD
/// if it died before reporting that it runs).
void register_block(std::string_view name);

/// Withdraws a registration made with register_block; one call undoes any number of
/// registrations of the same name. Unknown names are ignored.
/// Throws shm::InvalidArgument for a name shm::BlockName refuses, shm::OsError if the tracker
/// cannot be reached.
void unregister_block(std::string_view name);

/// register_block for a named semaphore (what shm::SemLock::create does when tracked): the
/// tracker unlinks /dev/shm/sem.<name> if this process ends without unregister_semaphore,
/// provided the name still means the semaphore that exists now. `name` is "/mp-x" or "mp-x".
/// Throws shm::InvalidArgument (Errc::invalid_name) for a name that cannot be a semaphore's,
/// shm::OsError as register_block.
void register_semaphore(std::string_view name);

/// Withdraws a registration made with register_semaphore, as unregister_block does for blocks.
void unregister_semaphore(std::string_view name);

/// Starts the tracker now unless it runs already (CPython's resource_tracker.ensure_running).
/// A program that is about to fork() workers calls it so that they all share one tracker.
/// Throws shm::OsError if the tracker cannot be started.
void ensure_running();

/// The tracker's process id, or 0 while it has not been started.
pid_t pid() noexcept;

}  // namespace shm::tracker
