// The golden pickle vectors (compat/vectors/<version>/pickle.json), for the pickle tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace shm::test {

/// One case of one CPython's pickle.json (format: compat/tools/gen_vectors.py).
struct PickleVector {
  std::string version;                // the CPython that wrote it, e.g. "3.12.1"
  std::string id;                     // the case id, unique within a version
  std::string kind;                   // "shared_memory" or "shareable_list"
  std::string name;                   // block name without the slash
  std::optional<std::uint64_t> size;  // shared_memory only
  int protocol = 0;                   // 0 - 5
  std::string pickler;                // "c", "python", "forking", "optimized-c", ...
  std::string reducer;                // "pickle" or "forking" (shm::pickle::Style)
  bool optimized = false;             // pickletools.optimize output
  std::string hex;                    // the pickle bytes
};

/// Every case of every version under compat/vectors/ (LIBSHM_VECTORS_DIR), in version order.
inline std::vector<PickleVector> load_pickle_vectors() {
  namespace fs = std::filesystem;
  std::set<fs::path> files;
  for (const auto& entry : fs::directory_iterator(LIBSHM_VECTORS_DIR)) {
    if (fs::exists(entry.path() / "pickle.json")) files.insert(entry.path() / "pickle.json");
  }
  std::vector<PickleVector> cases;
  for (const auto& file : files) {
    std::ifstream in(file);
    const auto doc = nlohmann::json::parse(in);
    for (const auto& c : doc.at("cases")) {
      PickleVector v;
      v.version = doc.at("python").get<std::string>();
      v.id = c.at("id").get<std::string>();
      v.kind = c.at("kind").get<std::string>();
      v.name = c.at("name").get<std::string>();
      if (c.contains("size")) v.size = c.at("size").get<std::uint64_t>();
      v.protocol = c.at("protocol").get<int>();
      v.pickler = c.at("pickler").get<std::string>();
      v.reducer = c.at("reducer").get<std::string>();
      v.optimized = c.at("optimized").get<bool>();
      v.hex = c.at("hex").get<std::string>();
      cases.push_back(std::move(v));
    }
  }
  if (cases.empty()) throw std::runtime_error("no pickle vectors under " LIBSHM_VECTORS_DIR);
  return cases;
}

/// The distinct pickles among all vectors, as hex (each version and pickler writes the same
/// bytes, so this is far fewer than the cases).
inline std::vector<std::string> distinct_vector_pickles() {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& v : load_pickle_vectors()) {
    if (seen.insert(v.hex).second) out.push_back(v.hex);
  }
  return out;
}

}  // namespace shm::test
