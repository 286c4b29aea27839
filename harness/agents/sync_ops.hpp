// The C++ agent's sync.* operations (harness/PROTOCOL.md, "Synchronisation objects"): CPython's
// multiprocessing locks, semaphores, conditions and events through libshm/sync.hpp.
#pragma once

#include <functional>
#include <libshm/shared_memory.hpp>
#include <libshm/sync.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

namespace agent {

/// The synchronisation objects of one agent, by handle.
class SyncOps {
 public:
  /// Finds a block by its handle (the agent's blocks and lists).
  using BlockLookup = std::function<shm::SharedMemory&(const std::string& handle)>;

  explicit SyncOps(BlockLookup block) : block_(std::move(block)) {}

  /// Carries out `op` if it is a sync.* operation; nullopt for any other op.
  std::optional<nlohmann::json> handle(const std::string& op, const nlohmann::json& req);
  /// Whether `handle` names a synchronisation object.
  [[nodiscard]] bool has(const std::string& handle) const { return objects_.count(handle) != 0; }
  /// Drops every object (a creator's destructor unlinks its names): the end of a cell.
  void reset() { objects_.clear(); }

 private:
  using Object = std::variant<shm::Lock, shm::RLock, shm::Semaphore, shm::BoundedSemaphore,
                              shm::Condition, shm::Event>;

  nlohmann::json create(const nlohmann::json& req);
  nlohmann::json attach(const nlohmann::json& req);
  nlohmann::json increment(const nlohmann::json& req);
  Object& object(const nlohmann::json& req);
  std::string new_handle(const nlohmann::json& req) const;
  static nlohmann::json describe(const Object& object, bool with_pickle);

  BlockLookup block_;
  std::map<std::string, Object> objects_;
};

}  // namespace agent
