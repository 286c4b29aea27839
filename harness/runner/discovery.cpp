#include "discovery.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

namespace harness {

namespace fs = std::filesystem;

namespace {

constexpr int kProtocolVersion = 1;
constexpr auto kProbeTimeout = std::chrono::seconds(30);

struct Candidate {
  std::string path;       // interpreter to try
  std::string found_via;  // where it came from
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string run_capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) out += buf.data();
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string which(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  for (const auto& dir : split(path, ':')) {
    fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

std::string pyenv_root() {
  if (!which("pyenv").empty()) {
    std::string root = run_capture("pyenv root 2>/dev/null");
    if (!root.empty()) return root;
  }
  const char* home = std::getenv("HOME");
  return home != nullptr ? std::string(home) + "/.pyenv" : std::string();
}

std::vector<Candidate> candidates() {
  std::vector<Candidate> out;
  if (const char* env = std::getenv("SHM_PYTHONS")) {
    for (const auto& p : split(env, ':')) {
      std::string path = p.find('/') == std::string::npos ? which(p) : p;
      out.push_back({path.empty() ? p : path, "SHM_PYTHONS"});
    }
  }
  std::string root = pyenv_root();
  std::error_code ec;
  if (!root.empty() && fs::is_directory(fs::path(root) / "versions", ec)) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(fs::path(root) / "versions", ec)) {
      fs::path py = entry.path() / "bin" / "python3";
      if (fs::exists(py, ec)) found.push_back(py.string());
    }
    std::sort(found.begin(), found.end());
    for (auto& p : found) out.push_back({p, "pyenv"});
  }
  // pyenv's shims only re-run the versions found above, slowly (and fail for versions that
  // are not selected), so they are not probed.
  const fs::path shims = root.empty() ? fs::path() : fs::path(root) / "shims";
  if (const char* path = std::getenv("PATH")) {
    for (const auto& dir : split(path, ':')) {
      if (!shims.empty() && fs::equivalent(dir, shims, ec)) continue;
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        bool match = name == "python3" || (name.rfind("python3.", 0) == 0 && name.size() > 8 &&
                                           std::all_of(name.begin() + 8, name.end(), ::isdigit));
        if (match && ::access(entry.path().c_str(), X_OK) == 0) found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
      for (auto& p : found) out.push_back({p, "PATH"});
    }
  }
  return out;
}

// Does --python SPEC select this interpreter?
bool spec_matches(const std::string& spec, const Implementation& impl) {
  if (spec == impl.id || spec == impl.version || spec == impl.executable) return true;
  // "3.12" selects every 3.12.x
  return impl.version.rfind(spec + ".", 0) == 0;
}

bool version_less(const std::string& a, const std::string& b) {
  auto pa = split(a, '.'), pb = split(b, '.');
  for (std::size_t i = 0; i < std::min(pa.size(), pb.size()); ++i) {
    int x = std::atoi(pa[i].c_str()), y = std::atoi(pb[i].c_str());
    if (x != y) return x < y;
  }
  return pa.size() < pb.size();
}

// Fills `impl` from a reply to hello; false and *error unless it is a protocol-1 answer.
bool read_hello(const Reply& reply, Implementation& impl, std::string* error) {
  if (reply.status != Reply::Status::kOk) {
    *error = reply.detail;
    return false;
  }
  const auto& r = reply.response;
  if (!r.value("ok", false) || !r.contains("value") || !r["value"].is_object()) {
    *error = "hello failed: " + r.dump();
    return false;
  }
  const auto& v = r["value"];
  if (v.value("protocol", 0) != kProtocolVersion) {
    *error = "speaks protocol " + v.value("protocol", nlohmann::json()).dump() + ", not " +
             std::to_string(kProtocolVersion);
    return false;
  }
  impl.id = v.value("id", "");
  impl.version = v.value("version", "");
  impl.kind = v.value("implementation", "") == "CPython" ? "cpython" : "cpp";
  const nlohmann::json caps = v.value("capabilities", nlohmann::json::array());
  for (const auto& c : caps) {
    impl.capabilities.insert(c.get<std::string>());
  }
  if (impl.id.empty() || impl.version.empty()) {
    *error = "hello without id or version: " + v.dump();
    return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> other_user_prefix() {
  return {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
}

Discovery discover(const DiscoveryOptions& options) {
  Discovery result;
  struct Probe {
    Candidate candidate;
    std::unique_ptr<Agent> agent;
    std::string error;
  };
  std::vector<Probe> probes;
  std::set<std::string> seen_paths;
  auto add = [&](const Candidate& c) {
    std::error_code ec;
    fs::path real = fs::canonical(c.path, ec);
    std::string key = ec ? c.path : real.string();
    if (!seen_paths.insert(key).second) return;
    probes.push_back({c, nullptr, {}});
  };
  if (!options.cpp_agent.empty()) {
    if (::access(options.cpp_agent.c_str(), X_OK) == 0) {
      add({options.cpp_agent, "build"});
    } else {
      result.notes.push_back("no C++ agent at " + options.cpp_agent + " (not built?)");
    }
  }
  for (const auto& spec : options.python_specs) {
    if (spec.find('/') != std::string::npos) add({spec, "--python"});
  }
  for (const auto& c : candidates()) add(c);

  // Start them all, then collect the answers: probing is mostly interpreter start-up.
  for (auto& p : probes) {
    std::vector<std::string> argv;
    if (p.candidate.found_via == "build") {
      argv = {p.candidate.path};
    } else {
      argv = {p.candidate.path, "-I", options.py_agent};
    }
    p.agent = Agent::spawn(p.candidate.path, argv, &p.error);
    if (p.agent) {
      std::string err;
      if (!p.agent->send({{"op", "hello"}}, &err)) p.error = err;
    }
  }
  std::map<std::string, std::size_t> by_version;  // id -> index in implementations
  for (auto& p : probes) {
    Implementation impl;
    impl.executable = p.candidate.path;
    impl.found_via = p.candidate.found_via;
    impl.argv = p.candidate.found_via == "build"
                    ? std::vector<std::string>{p.candidate.path}
                    : std::vector<std::string>{p.candidate.path, "-I", options.py_agent};
    if (p.agent && p.error.empty()) {
      Reply reply = p.agent->receive(kProbeTimeout);
      if (!read_hello(reply, impl, &p.error)) {
        std::string err = p.agent->stderr_since(0);
        if (!err.empty()) p.error += ": " + err.substr(0, err.find('\n'));
      }
    }
    if (!p.error.empty() || impl.id.empty()) {
      result.notes.push_back("skipping " + p.candidate.path + " (" + p.candidate.found_via +
                             "): " + (p.error.empty() ? "no id" : p.error));
      continue;
    }
    if (by_version.count(impl.id) != 0) continue;  // same full version seen first elsewhere
    if (impl.kind == "cpython" && !options.python_specs.empty() &&
        std::none_of(options.python_specs.begin(), options.python_specs.end(),
                     [&](const std::string& s) { return spec_matches(s, impl); })) {
      continue;
    }
    by_version[impl.id] = result.implementations.size();
    result.implementations.push_back(impl);
    result.warm_agents.push_back(std::move(p.agent));
  }
  // Which can also run as another user (for permission scenarios)?
  if (::geteuid() == 0 && !which("setpriv").empty()) {
    std::vector<std::unique_ptr<Agent>> probes_as_nobody;
    for (const auto& impl : result.implementations) {
      std::vector<std::string> argv = other_user_prefix();
      argv.insert(argv.end(), impl.argv.begin(), impl.argv.end());
      std::string error;
      auto agent = Agent::spawn(impl.id, argv, &error);
      if (agent && !agent->send({{"op", "hello"}}, &error)) agent.reset();
      probes_as_nobody.push_back(std::move(agent));
    }
    for (std::size_t i = 0; i < probes_as_nobody.size(); ++i) {
      if (!probes_as_nobody[i]) continue;
      Implementation as_nobody;
      std::string error;
      if (read_hello(probes_as_nobody[i]->receive(kProbeTimeout), as_nobody, &error) &&
          as_nobody.id == result.implementations[i].id) {
        result.implementations[i].capabilities.insert("other-user");
      }
    }
  }
  // Stable order: cpp, then CPython by version.
  std::vector<std::size_t> order(result.implementations.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = result.implementations[a];
    const auto& y = result.implementations[b];
    if ((x.kind == "cpp") != (y.kind == "cpp")) return x.kind == "cpp";
    return version_less(x.version, y.version);
  });
  Discovery sorted;
  sorted.notes = std::move(result.notes);
  for (auto i : order) {
    sorted.implementations.push_back(std::move(result.implementations[i]));
    sorted.warm_agents.push_back(std::move(result.warm_agents[i]));
  }
  return sorted;
}

}  // namespace harness
