#include "discovery.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace harness {

namespace fs = std::filesystem;

namespace {

constexpr int kProtocolVersion = 1;
constexpr auto kProbeTimeout = std::chrono::seconds(30);

struct Candidate {
  std::string path;               // interpreter (or agent program) to try
  std::string found_via;          // where it came from
  std::vector<std::string> argv;  // how to start its agent (empty: the py agent under `path`)
  std::string id;                 // a column id given by the user (--agent), else from hello
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

std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Every CPython here, as compat/tools/find_cpythons.py finds them (the one discovery, whose
// rules harness/README.md describes); the candidates it skipped become notes.
std::vector<Candidate> cpythons(const DiscoveryOptions& options, std::vector<std::string>& notes) {
  std::string command =
      shell_quote(options.tools_python) + " " + shell_quote(options.find_cpythons) + " --json";
  nlohmann::json found = nlohmann::json::parse(run_capture(command), nullptr, false);
  if (!found.is_object()) {
    notes.push_back("no CPythons: " + command + " failed");
    return {};
  }
  for (const auto& s : found.value("skipped", nlohmann::json::array())) {
    notes.push_back("skipping " + s.value("path", "") + " (" + s.value("found_via", "") +
                    "): " + s.value("reason", ""));
  }
  std::vector<Candidate> result;
  for (const auto& p : found.value("pythons", nlohmann::json::array())) {
    result.push_back({p.value("path", ""), p.value("found_via", ""), {}, ""});
  }
  return result;
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
  impl.name = v.value("implementation", "");
  impl.kind = impl.name == "CPython" ? "cpython" : "other";
  impl.policy = v.value("policy", "");
  impl.host = v.value("host", "");
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

namespace {

// A column id appears in cell ids and file names: letters, digits, '.', '_' and '-' only.
void check_column_id(const std::string& id, const std::string& found_via) {
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      throw std::invalid_argument(found_via + ": the id \"" + id +
                                  "\" may hold only letters, digits, '.', '_' and '-'");
    }
  }
}

}  // namespace

AgentSpec parse_agent_spec(const std::string& text, const std::string& found_via) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw std::invalid_argument(found_via + ": \"" + text + "\" is not ID=COMMAND");
  }
  AgentSpec spec{text.substr(0, eq), {}, found_via};
  check_column_id(spec.id, found_via);
  std::istringstream words(text.substr(eq + 1));
  for (std::string w; words >> w;) spec.argv.push_back(w);
  if (spec.argv.empty())
    throw std::invalid_argument(found_via + ": " + spec.id + " has no command");
  return spec;
}

CandidateSpec parse_candidate_spec(const std::string& text) {
  const auto eq = text.find('=');
  const auto at = text.rfind('@');
  if (eq == std::string::npos || eq == 0 || at == std::string::npos || at < eq + 2 ||
      at + 1 == text.size()) {
    throw std::invalid_argument("--candidate: \"" + text + "\" is not ID=PATH@VERSION");
  }
  CandidateSpec spec{text.substr(0, eq), text.substr(eq + 1, at - eq - 1), text.substr(at + 1)};
  check_column_id(spec.id, "--candidate");
  std::error_code ec;
  if (!fs::is_regular_file(spec.path, ec)) {
    throw std::invalid_argument("--candidate " + spec.id + ": no file " + spec.path);
  }
  spec.path = fs::absolute(spec.path, ec).lexically_normal().string();
  return spec;
}

namespace {

struct Probe {
  Candidate candidate;
  std::unique_ptr<Agent> agent;
  std::string error;
};

std::vector<std::string> argv_of(const Candidate& c, const DiscoveryOptions& options) {
  if (!c.argv.empty()) return c.argv;
  return {c.path, "-I", options.py_agent};
}

// Starts every probe's agent, then collects the answers (probing is mostly interpreter
// start-up, so they run at once). Answers go to `accept`, failures to `notes`.
template <typename Accept>
void probe_all(std::vector<Probe>& probes, const DiscoveryOptions& options,
               std::vector<std::string>& notes, Accept accept) {
  for (auto& p : probes) {
    p.agent = Agent::spawn(p.candidate.path, argv_of(p.candidate, options), &p.error);
    if (p.agent) {
      std::string err;
      if (!p.agent->send({{"op", "hello"}}, &err)) p.error = err;
    }
  }
  for (auto& p : probes) {
    Implementation impl;
    impl.executable = p.candidate.path;
    impl.found_via = p.candidate.found_via;
    impl.argv = argv_of(p.candidate, options);
    if (p.agent && p.error.empty()) {
      Reply reply = p.agent->receive(kProbeTimeout);
      if (!read_hello(reply, impl, &p.error)) {
        // The last line says what went wrong (of a traceback: the exception).
        std::string err = p.agent->stderr_since(0);
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        if (!err.empty()) p.error += ": " + err.substr(err.rfind('\n') + 1);
      }
    }
    if (!p.error.empty() || impl.id.empty()) {
      notes.push_back("skipping " + p.candidate.path + " (" + p.candidate.found_via +
                      "): " + (p.error.empty() ? "no id" : p.error));
      continue;
    }
    if (!p.candidate.id.empty()) impl.id = p.candidate.id;
    accept(std::move(impl), std::move(p.agent));
  }
}

}  // namespace

Discovery discover(const DiscoveryOptions& options) {
  Discovery result;
  std::vector<Probe> probes;
  std::set<std::string> seen_paths;
  auto add = [&](const Candidate& c) {
    std::error_code ec;
    fs::path real = fs::canonical(c.path, ec);
    std::string key = ec ? c.path : real.string();
    if (c.argv.empty() && !seen_paths.insert(key).second) return;
    probes.push_back({c, nullptr, {}});
  };
  if (!options.cpp_agent.empty()) {
    if (::access(options.cpp_agent.c_str(), X_OK) == 0) {
      add({options.cpp_agent, "build", {options.cpp_agent}, ""});
    } else {
      result.notes.push_back("no C++ agent at " + options.cpp_agent + " (not built?)");
    }
  }
  for (const auto& a : options.agents) add({a.argv.front(), a.found_via, a.argv, a.id});
  for (const auto& spec : options.python_specs) {
    if (spec.find('/') != std::string::npos) add({spec, "--python", {}, ""});
  }
  for (const auto& c : cpythons(options, result.notes)) add(c);

  std::map<std::string, std::size_t> by_id;  // id -> index in implementations
  auto accept = [&](Implementation impl, std::unique_ptr<Agent> agent) {
    if (by_id.count(impl.id) != 0) return;  // same id (full version) seen first elsewhere
    // --python leaves CPythons out, but never a candidate or the CPython it runs on.
    if (impl.is_cpython() && impl.candidate.empty() && !options.python_specs.empty() &&
        std::none_of(options.python_specs.begin(), options.python_specs.end(),
                     [&](const std::string& s) { return spec_matches(s, impl); }) &&
        std::none_of(options.candidates.begin(), options.candidates.end(),
                     [&](const CandidateSpec& c) { return spec_matches(c.version, impl); })) {
      return;
    }
    by_id[impl.id] = result.implementations.size();
    result.implementations.push_back(std::move(impl));
    result.warm_agents.push_back(std::move(agent));
  };
  probe_all(probes, options, result.notes, accept);

  // Each candidate runs on the newest CPython its version names, which then meets every other
  // CPython too (binding.cpp), so that each cell of the candidate has an unpatched twin.
  if (!options.candidates.empty()) {
    std::vector<Probe> patched;
    std::vector<std::pair<const CandidateSpec*, std::size_t>> bases;  // spec, index of its CPython
    for (const auto& spec : options.candidates) {
      std::optional<std::size_t> base;
      for (std::size_t i = 0; i < result.implementations.size(); ++i) {
        const auto& impl = result.implementations[i];
        if (impl.is_cpython() && spec_matches(spec.version, impl) &&
            (!base || version_less(result.implementations[*base].version, impl.version))) {
          base = i;
        }
      }
      if (!base) {
        result.notes.push_back("skipping candidate " + spec.id + ": no CPython " + spec.version +
                               " here");
        continue;
      }
      const auto& exe = result.implementations[*base].executable;
      patched.push_back({Candidate{exe,
                                   "--candidate",
                                   {exe, "-I", options.py_agent, "--candidate", spec.path},
                                   spec.id},
                         nullptr,
                         {}});
      bases.emplace_back(&spec, *base);
    }
    std::size_t next = 0;
    probe_all(patched, options, result.notes,
              [&](Implementation impl, std::unique_ptr<Agent> agent) {
                while (bases[next].first->id != impl.id) ++next;
                auto& base = result.implementations[bases[next].second];
                base.has_candidate = true;
                impl.candidate = bases[next].first->path;
                impl.candidate_of = base.id;
                accept(std::move(impl), std::move(agent));
              });
  }

  // The libshm Python module, on each CPython found that it was built for.
  if (!options.libshm_python_dir.empty()) {
    std::vector<Probe> hosted;
    for (const auto& impl : result.implementations) {
      if (!impl.is_cpython() || !impl.candidate.empty()) continue;
      fs::path dir = fs::path(options.libshm_python_dir) / impl.version;
      std::error_code ec;
      if (!fs::exists(dir / "libshm" / "__init__.py", ec)) continue;
      hosted.push_back(
          {Candidate{impl.executable,
                     "module",
                     {impl.executable, "-I", options.py_agent, "--libshm", dir.string()},
                     ""},
           nullptr,
           {}});
    }
    probe_all(hosted, options, result.notes, accept);
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
  // Stable order: the implementations under test that stand alone (cpp first), then CPython by
  // version, the candidates, then those hosted by a CPython (the Python module) by their host's
  // version.
  std::vector<std::size_t> order(result.implementations.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = result.implementations[a];
    const auto& y = result.implementations[b];
    auto rank = [](const Implementation& i) {
      if (i.id == "cpp") return 0;
      if (!i.is_cpython()) return i.host.empty() ? 1 : 4;
      return i.candidate.empty() ? 2 : 3;
    };
    if (rank(x) != rank(y)) return rank(x) < rank(y);
    if (rank(x) == 2) return version_less(x.version, y.version);
    if (rank(x) == 4) return version_less(x.host, y.host);
    return x.id < y.id;
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
