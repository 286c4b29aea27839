// pyshm ls: every block in /dev/shm with its kind (block_listing.hpp judges them).
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "block_listing.hpp"
#include "streams.hpp"
#include "verbs.hpp"

namespace pyshm {

namespace {

std::string format_time(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int ls(bool json) {
  const auto blocks = list_blocks();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : blocks) {
      nlohmann::json entry = {{"name", b.name}, {"size", b.size},   {"owner", b.owner},
                              {"mode", b.mode}, {"mtime", b.mtime}, {"kind", b.kind}};
      if (!b.problem.empty()) entry["problem"] = b.problem;
      out.push_back(std::move(entry));
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::printf("%-32s %12s  %-10s %-5s %-19s  %s\n", "NAME", "SIZE", "OWNER", "MODE", "MODIFIED",
              "KIND");
  for (const auto& b : blocks) {
    std::printf("%-32s %12llu  %-10s %04o  %-19s  %s\n", escaped(b.name).c_str(),
                static_cast<unsigned long long>(b.size), b.owner.c_str(), b.mode,
                format_time(b.mtime).c_str(), b.kind.c_str());
  }
  return 0;
}

}  // namespace

Verb add_ls(CLI::App& app) {
  Verb verb;
  verb.command =
      app.add_subcommand("ls",
                         "List every block in /dev/shm: name, size, owner, mode, "
                         "modification time and kind (shareable-list 3.9+, "
                         "shareable-list 3.8, npy <f8 (1000, 3) for a block with numpy's "
                         ".npy header, raw), judged by full validation");
  const auto json = std::make_shared<bool>(false);
  verb.command->add_flag("--json", *json, "Print a JSON array");
  verb.run = [json] { return ls(*json); };
  return verb;
}

}  // namespace pyshm
