#include "py_coverage.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace harness {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void start_py_coverage(const Options& options) {
  if (options.py_coverage.empty()) return;
  namespace fs = std::filesystem;
  const fs::path dir = fs::absolute(options.py_coverage);
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") fs::remove(entry.path(), ec);
  }
  ::setenv("SHM_AGENT_COVERAGE", dir.c_str(), 1);
}

void print_py_coverage(const Options& options) {
  if (options.py_coverage.empty()) return;
  const std::string report = options.report_dir.empty() ? options.py_coverage : options.report_dir;
  const std::string command = quoted(SHM_HARNESS_TOOLS_PYTHON) + " " +
                              quoted(SHM_HARNESS_PY_COVERAGE) + " " + quoted(options.py_coverage) +
                              " --report " + quoted(report) + " 2>&1";
  std::cout << std::flush;
  if (FILE* out = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, out) != nullptr) std::cout << buffer;
    ::pclose(out);
  } else {
    std::cout << "py-coverage: cannot run " << command << "\n";
  }
}

}  // namespace harness
