#include "error_kinds.hpp"

#include <cerrno>
#include <functional>
#include <map>
#include <set>

namespace harness {

namespace {

// Operations that read a list: a malformed block shows up as struct.error/KeyError there.
bool reads_list(const std::string& op) {
  static const std::set<std::string> kReading = {"list.attach", "list.get",   "list.items",
                                                 "list.format", "list.len",   "list.count",
                                                 "list.index",  "list.slice", "pickle.loads"};
  return kReading.count(op) != 0;
}

std::string errno_kind(int err) {
  switch (err) {
    case ENOENT:
      return "NotFound";
    case EEXIST:
      return "Exists";
    case EACCES:
    case EPERM:
      return "Permission";
    case EINVAL:
    case ENAMETOOLONG:
      return "InvalidArgument";
    default:
      return "Other";
  }
}

// libshm's error codes (shm::Errc, reported by the C++ agent and by the libshm Python module
// for what its C++ side raised): the one table from code to kind.
std::string libshm_kind(const std::string& code, int err) {
  static const std::map<std::string, std::string, std::less<>> kKinds = {
      {"invalid_name", "InvalidArgument"},
      {"invalid_argument", "InvalidArgument"},
      {"too_large", "InvalidArgument"},
      {"not_a_block", "InvalidArgument"},
      {"wrong_type", "InvalidArgument"},
      {"not_owner", "InvalidArgument"},  // CPython's AssertionError
      {"invalid_value", "Value"},
      {"not_in_list", "Value"},
      {"not_found", "NotFound"},
      {"exists", "Exists"},
      {"permission", "Permission"},
      {"corrupt_block", "Corrupt"},
      {"bad_pickle", "Corrupt"},
      {"decode", "Decode"},
      {"index", "Index"},
  };
  if (code == "os_error") return errno_kind(err);  // EINVAL, ENAMETOOLONG: InvalidArgument
  const auto it = kKinds.find(code);
  return it == kKinds.end() ? "Other" : it->second;  // no_space, closed, read_only: Other
}

// CPython's exceptions, by the most specific class in the raised type's MRO that the table
// knows (the stdlib and the libshm Python module raise the same types).
std::string cpython_kind(const nlohmann::json& error, const std::string& op) {
  std::set<std::string> is;
  is.insert(error.value("type", ""));
  for (const auto& b : error.value("bases", nlohmann::json::array())) {
    if (b.is_string()) is.insert(b.get<std::string>());
  }
  const bool reading = reads_list(op);
  if (is.count("FileNotFoundError")) return "NotFound";
  if (is.count("FileExistsError")) return "Exists";
  if (is.count("PermissionError")) return "Permission";
  if (is.count("IndexError")) return "Index";
  if (is.count("UnicodeDecodeError")) return "Decode";
  if (is.count("UnicodeEncodeError")) return "InvalidArgument";
  if (is.count("struct.error")) return reading && op != "list.index" ? "Corrupt" : "Value";
  if (is.count("KeyError")) return reading ? "Corrupt" : "InvalidArgument";
  if (is.count("AssertionError") || is.count("TypeError") || is.count("OverflowError")) {
    return "InvalidArgument";
  }
  if (is.count("ValueError")) {
    if (op == "block.create" || op == "block.attach" || op == "list.create" || op == "array.read" ||
        op == "array.write" || op == "npy.create") {
      return "InvalidArgument";
    }
    // numpy's np.lib.format and the module's attach_ndarray refuse a bad .npy header so.
    return op == "list.attach" || op == "npy.attach" ? "Corrupt" : "Value";
  }
  if (is.count("OSError") && error.contains("errno") && error["errno"].is_number_integer()) {
    const std::string k = errno_kind(error["errno"].get<int>());
    if (k == "InvalidArgument" || k == "Permission") return k;
  }
  return "Other";
}

}  // namespace

std::string error_kind(const nlohmann::json& error, const std::string& op) {
  if (!error.is_object()) return "Other";
  if (error.contains("kind") && error["kind"].is_string()) return error["kind"].get<std::string>();
  if (error.contains("code") && error["code"].is_string()) {
    const int err = error.contains("errno") && error["errno"].is_number_integer()
                        ? error["errno"].get<int>()
                        : 0;
    return libshm_kind(error["code"].get<std::string>(), err);
  }
  return cpython_kind(error, op);
}

}  // namespace harness
