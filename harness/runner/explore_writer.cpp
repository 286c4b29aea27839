#include "explore_writer.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace harness {

std::string finding_id(std::uint64_t seed) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(seed));
  return std::string("explore/seq-") + hex;
}

std::string write_replay_registry(const std::string& dir,
                                  const std::vector<std::string>& verified_runs) {
  const std::filesystem::path path = std::filesystem::path(dir) / "registry.json";
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path);
  out << nlohmann::json{{"schema", 2},
                        {"verified_runs", verified_runs},
                        {"quirks", nlohmann::json::object()}}
             .dump(1)
      << "\n";
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return path.string();
}

std::string write_finding(const std::string& dir, const nlohmann::json& scenario) {
  const std::filesystem::path path =
      std::filesystem::path(dir) / "scenarios" / (scenario.at("id").get<std::string>() + ".json");
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path);
  // One step a line, as the hand-written scenarios are laid out.
  out << "{\n";
  bool first = true;
  for (const char* key : {"id", "description", "roles", "blocks"}) {
    if (!scenario.contains(key)) continue;
    out << (first ? " " : ",\n ") << nlohmann::json(key).dump() << ": " << scenario[key].dump();
    first = false;
  }
  out << ",\n \"steps\": [\n";
  const auto& steps = scenario.at("steps");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    out << "  " << steps[i].dump() << (i + 1 < steps.size() ? ",\n" : "\n");
  }
  out << " ]\n}\n";
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return path.string();
}

}  // namespace harness
