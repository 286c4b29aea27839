#include "sync_ops.hpp"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <libshm/hex.hpp>
#include <thread>
#include <type_traits>
#include <vector>

#include "agent_error.hpp"

namespace agent {

namespace {

using nlohmann::json;

// A request's `timeout`: null or absent blocks, a number is seconds.
shm::Timeout timeout_of(const json& req) {
  if (!req.contains("timeout") || req["timeout"].is_null()) return std::nullopt;
  if (!req["timeout"].is_number()) throw AgentError("InvalidArgument", "timeout must be a number");
  return std::chrono::duration<double>(req["timeout"].get<double>());
}

template <class T>
T from_pickle_hex(const json& req) {
  const auto bytes = shm::from_hex(req.at("hex").get<std::string>());
  return T::from_pickle(std::span<const std::byte>(bytes));
}

std::vector<std::string> names_of(const auto& object) {
  using T = std::decay_t<decltype(object)>;
  if constexpr (std::is_same_v<T, shm::Condition> || std::is_same_v<T, shm::Event>) {
    return object.names();
  } else {
    return {object.semlock().name()};
  }
}

constexpr const char* kind_name(std::size_t index) {
  constexpr const char* kNames[] = {"Lock",      "RLock", "Semaphore", "BoundedSemaphore",
                                    "Condition", "Event"};
  return kNames[index];
}

}  // namespace

std::optional<json> SyncOps::handle(const std::string& op, const json& req) {
  if (op.rfind("sync.", 0) != 0) return std::nullopt;
  if (op == "sync.create") return create(req);
  if (op == "sync.attach") return attach(req);
  if (op == "sync.increment") return increment(req);
  if (op == "sync.close") {
    object(req);
    objects_.erase(req.at("handle").get<std::string>());
    return json(nullptr);
  }
  Object& o = object(req);
  const auto wrong = [&](const char* wanted) -> json {
    throw AgentError("InvalidArgument", std::string(kind_name(o.index())) + " has no " + wanted);
  };
  if (op == "sync.acquire" || op == "sync.release" || op == "sync.value") {
    return std::visit(
        [&](auto& x) -> json {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, shm::Event>) {
            return wrong(op.c_str());
          } else if constexpr (std::is_same_v<T, shm::Condition>) {
            if (op == "sync.acquire")
              return x.acquire(req.value("blocking", true), timeout_of(req));
            if (op == "sync.release") {
              x.release();
              return nullptr;
            }
            return wrong("value");
          } else {
            if (op == "sync.acquire")
              return x.acquire(req.value("blocking", true), timeout_of(req));
            if (op == "sync.release") {
              x.release();
              return nullptr;
            }
            return x.semlock().get_value();
          }
        },
        o);
  }
  if (auto* event = std::get_if<shm::Event>(&o)) {
    if (op == "sync.wait") return event->wait(timeout_of(req));
    if (op == "sync.set") {
      std::this_thread::sleep_for(std::chrono::milliseconds(req.value("delay_ms", 0)));
      event->set();
      return nullptr;
    }
    if (op == "sync.clear") {
      event->clear();
      return nullptr;
    }
    if (op == "sync.is_set") return event->is_set();
  }
  if (auto* cond = std::get_if<shm::Condition>(&o)) {
    if (op == "sync.wait") {
      cond->acquire();
      bool woken = false;
      try {
        woken = cond->wait(timeout_of(req));
      } catch (...) {
        cond->release();
        throw;
      }
      cond->release();
      return woken;
    }
    if (op == "sync.notify") {
      // Once `sleepers` waiters sleep on it (any process), so that the notify finds them.
      const auto deadline = std::chrono::steady_clock::now() +
                            std::chrono::duration<double>(req.value("timeout", 10.0));
      while (cond->sleepers() < req.value("sleepers", 0)) {
        if (std::chrono::steady_clock::now() > deadline)
          throw AgentError("Other", "no sleepers came");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      cond->acquire();
      try {
        if (req.contains("n") && req["n"] == "all") {
          cond->notify_all();
        } else {
          cond->notify(req.value("n", 1));
        }
      } catch (...) {
        cond->release();
        throw;
      }
      cond->release();
      return nullptr;
    }
  }
  throw AgentError("InvalidArgument", op + " does not apply to a " + kind_name(o.index()));
}

json SyncOps::create(const json& req) {
  auto h = new_handle(req);
  const auto kind = req.value("kind", "");
  const std::int64_t value = req.value("value", 1);
  std::optional<Object> made;
  if (kind == "Lock") made.emplace(shm::Lock::create());
  if (kind == "RLock") made.emplace(shm::RLock::create());
  if (kind == "Semaphore") made.emplace(shm::Semaphore::create(value));
  if (kind == "BoundedSemaphore") made.emplace(shm::BoundedSemaphore::create(value));
  if (kind == "Condition") made.emplace(shm::Condition::create(req.value("lock", "") == "Lock"));
  if (kind == "Event") made.emplace(shm::Event::create());
  if (!made) throw AgentError("InvalidArgument", "unknown sync kind " + kind);
  auto out = describe(*made, true);
  objects_.emplace(h, std::move(*made));
  return out;
}

json SyncOps::attach(const json& req) {
  auto h = new_handle(req);
  const auto kind = req.value("kind", "");
  std::optional<Object> got;
  if (req.contains("hex")) {
    if (kind == "Lock") got.emplace(from_pickle_hex<shm::Lock>(req));
    if (kind == "RLock") got.emplace(from_pickle_hex<shm::RLock>(req));
    if (kind == "Semaphore") got.emplace(from_pickle_hex<shm::Semaphore>(req));
    if (kind == "BoundedSemaphore") got.emplace(from_pickle_hex<shm::BoundedSemaphore>(req));
    if (kind == "Condition") got.emplace(from_pickle_hex<shm::Condition>(req));
    if (kind == "Event") got.emplace(from_pickle_hex<shm::Event>(req));
  } else {
    const auto name = req.at("name").get<std::string>();
    if (kind == "Lock") got.emplace(shm::Lock::attach(name));
    if (kind == "RLock") got.emplace(shm::RLock::attach(name));
    if (kind == "Semaphore") got.emplace(shm::Semaphore::attach(name));
    if (kind == "BoundedSemaphore") {
      got.emplace(shm::BoundedSemaphore::attach(name, req.at("maxvalue").get<std::int64_t>()));
    }
    if (kind == "Condition" || kind == "Event") {
      throw AgentError("InvalidArgument", kind + " is taken from its pickle ('hex'), not a name");
    }
  }
  if (!got) throw AgentError("InvalidArgument", "unknown sync kind " + kind);
  auto out = describe(*got, false);
  objects_.emplace(h, std::move(*got));
  return out;
}

json SyncOps::increment(const json& req) {
  auto& block = block_(req.at("block").get<std::string>());
  const auto offset = req.value("offset", std::size_t{0});
  if (offset + sizeof(std::int64_t) > block.size()) {
    throw AgentError("InvalidArgument", "the counter does not fit in the block");
  }
  auto* counter = block.buf().data() + offset;
  Object& o = object(req);
  const int rounds = req.value("rounds", 1);
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, shm::Event> || std::is_same_v<T, shm::Condition>) {
          throw AgentError("InvalidArgument", "sync.increment takes a lock or semaphore");
        } else {
          for (int i = 0; i < rounds; ++i) {
            x.acquire();
            std::int64_t v = 0;
            std::memcpy(&v, counter, sizeof v);  // a plain read-modify-write: the lock guards it
            ++v;
            std::memcpy(counter, &v, sizeof v);
            x.release();
          }
        }
      },
      o);
  return nullptr;
}

SyncOps::Object& SyncOps::object(const json& req) {
  const auto h = req.value("handle", "");
  auto it = objects_.find(h);
  if (it == objects_.end()) throw AgentError("InvalidArgument", "no sync handle " + h);
  return it->second;
}

std::string SyncOps::new_handle(const json& req) const {
  auto h = req.value("handle", "");
  if (h.empty()) throw AgentError("InvalidArgument", "request needs a 'handle'");
  if (objects_.count(h) != 0) throw AgentError("InvalidArgument", "handle " + h + " is in use");
  return h;
}

json SyncOps::describe(const Object& object, bool with_pickle) {
  json out = {{"kind", kind_name(object.index())}};
  const auto names = std::visit([](const auto& x) { return names_of(x); }, object);
  out["names"] = names;
  json files = json::array();
  for (const auto& n : names) files.push_back("sem." + n.substr(n.starts_with('/') ? 1 : 0));
  out["files"] = files;
  if (names.size() == 1) {
    out["name"] = names.front();
    out["file"] = files.front();
  }
  if (with_pickle) {
    const auto bytes = std::visit([](const auto& x) { return x.pickle(); }, object);
    out["pickle"] = shm::to_hex(std::string_view(bytes));
  }
  return out;
}

}  // namespace agent
