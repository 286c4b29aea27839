#include "streams.hpp"

#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>
#include <system_error>

namespace pyshm {

std::string read_all(std::istream& in) {
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string escaped(const std::string& text) {
  const std::string quoted =
      nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

bool stdout_delivered() {
  return std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
}

void throw_stdout_error(int err) {
  throw std::system_error(err, std::generic_category(), "cannot write to stdout");
}

}  // namespace pyshm
