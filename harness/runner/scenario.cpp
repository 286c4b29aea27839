#include "scenario.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>

namespace harness {

namespace fs = std::filesystem;

namespace {

const std::set<std::string> kStepKeys = {"label",      "as",      "op",         "expect",   "save",
                                         "quirk_role", "only_if", "timeout_ms", "parallel", "note"};
const std::set<std::string> kRunnerOps = {"shm.exists", "shm.unlink", "agent.wait", "agent.stderr",
                                          "sleep"};
const std::set<std::string> kExpectKeys = {"value",  "ok",     "error",    "message",
                                           "type",   "any_of", "contains", "not_contains",
                                           "subset", "died",   "length"};

[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error(message);
}

void check_expect(const nlohmann::json& e, const std::string& where) {
  if (e.is_null()) return;
  if (!e.is_object()) fail(where + ": expect must be an object");
  for (const auto& [k, v] : e.items()) {
    if (kExpectKeys.count(k) == 0) fail(where + ": unknown expect member '" + k + "'");
  }
  if (e.contains("any_of")) {
    if (!e["any_of"].is_array() || e["any_of"].empty()) fail(where + ": any_of needs a list");
    for (const auto& alt : e["any_of"]) check_expect(alt, where + " (any_of)");
  }
  if (e.contains("error") && !e["error"].is_string()) fail(where + ": error is a kind name");
}

Step parse_step(const nlohmann::json& j, std::size_t number, const std::set<std::string>& roles) {
  std::string where = "step " + std::to_string(number);
  if (!j.is_object()) fail(where + ": not an object");
  Step step;
  step.label = j.value("label", "step" + std::to_string(number));
  where += " (" + step.label + ")";
  if (j.contains("parallel")) {
    if (!j["parallel"].is_array() || j["parallel"].size() < 2) {
      fail(where + ": parallel needs at least two steps");
    }
    std::size_t sub = 0;
    for (const auto& s : j["parallel"]) {
      Step inner = parse_step(s, number * 100 + ++sub, roles);
      if (!s.contains("label")) inner.label = step.label + "." + std::to_string(sub);
      if (inner.as == "runner") fail(where + ": the runner cannot take part in parallel steps");
      step.parallel.push_back(std::move(inner));
    }
    return step;
  }
  step.as = j.value("as", "");
  step.op = j.value("op", "");
  if (step.op.empty()) fail(where + ": no op");
  if (step.as == "runner") {
    if (kRunnerOps.count(step.op) == 0) fail(where + ": unknown runner op " + step.op);
  } else if (roles.count(step.as) == 0) {
    fail(where + ": 'as' names no role: '" + step.as + "'");
  }
  step.expect = j.value("expect", nlohmann::json());
  check_expect(step.expect, where);
  step.save = j.value("save", "");
  step.quirk_role = j.value("quirk_role", step.as);
  if (step.quirk_role != "runner" && roles.count(step.quirk_role) == 0) {
    fail(where + ": quirk_role names no role: '" + step.quirk_role + "'");
  }
  step.only_if = j.value("only_if", "");
  step.timeout_ms = j.value("timeout_ms", 0);
  step.args = nlohmann::json::object();
  for (const auto& [k, v] : j.items()) {
    if (kStepKeys.count(k) == 0) step.args[k] = v;
  }
  return step;
}

Scenario parse_scenario_checked(const nlohmann::json& j, const std::string& id) {
  if (!j.is_object()) fail("not a JSON object");
  Scenario s;
  s.id = j.value("id", "");
  if (s.id != id) fail("id is '" + s.id + "' but the file says '" + id + "'");
  s.description = j.value("description", "");
  if (s.description.empty()) fail("no description");
  s.upstream = j.value("upstream", "");
  s.skip = j.value("skip", "");
  s.bind = j.value("bind", "cpp-axis");
  if (s.bind != "cpp-axis" && s.bind != "all") fail("bind must be cpp-axis or all");
  std::set<std::string> role_names;
  if (!j.contains("roles") || !j["roles"].is_array() || j["roles"].empty()) {
    fail("roles must be a non-empty list");
  }
  for (const auto& r : j["roles"]) {
    Role role;
    if (r.is_string()) {
      role.name = r.get<std::string>();
    } else {
      role.name = r.value("name", "");
      const nlohmann::json needs = r.value("requires", nlohmann::json::array());
      for (const auto& c : needs) {
        role.needs.insert(c.get<std::string>());
      }
      role.fresh = r.value("fresh", false);
      const std::string user = r.value("user", "");
      if (!user.empty() && user != "nobody") fail("role " + role.name + ": user must be nobody");
      if (user == "nobody") {
        // Its own process, started through setpriv, by implementations that can run so.
        role.other_user = true;
        role.fresh = true;
        role.needs.insert("other-user");
      }
    }
    if (role.name.empty() || role.name == "runner") fail("bad role name '" + role.name + "'");
    if (!role_names.insert(role.name).second) fail("role '" + role.name + "' twice");
    s.slow = s.slow || role.fresh;
    s.roles.push_back(std::move(role));
  }
  const nlohmann::json blocks = j.value("blocks", nlohmann::json::array());
  for (const auto& b : blocks) {
    s.blocks.push_back(b.get<std::string>());
  }
  if (!j.contains("steps") || !j["steps"].is_array() || j["steps"].empty()) {
    fail("steps must be a non-empty list");
  }
  std::size_t n = 0;
  for (const auto& st : j["steps"]) s.steps.push_back(parse_step(st, ++n, role_names));
  std::set<std::string> labels;
  for (const Step* st : all_steps(s)) {
    if (!st->only_if.empty() && labels.count(st->only_if) == 0) {
      fail("step " + st->label + ": only_if names no earlier step: " + st->only_if);
    }
    if (!labels.insert(st->label).second) fail("label '" + st->label + "' used twice");
  }
  for (const auto& step : s.steps) {
    if (!step.parallel.empty()) labels.insert(step.label);
  }
  return s;
}

// json::parse, except that an integer literal outside 64 bits is an error (nlohmann would
// silently make it a double, and the agents would be sent a float).
class StrictSax : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
 public:
  explicit StrictSax(nlohmann::json& result) : json_sax_dom_parser(result, true) {}
  bool number_float(double value, const std::string& text) {
    if (text.find_first_of(".eE") == std::string::npos) {
      fail("integer " + text +
           " does not fit 64 bits (JSON integers in scenarios must fit "
           "int64 or uint64)");
    }
    return json_sax_dom_parser::number_float(value, text);
  }
};

nlohmann::json parse_strict(std::istream& in) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json result;
  StrictSax sax(result);
  nlohmann::json::sax_parse(text, &sax);
  return result;
}

void flatten(const std::vector<Step>& steps, std::vector<const Step*>& out) {
  for (const auto& s : steps) {
    if (s.parallel.empty()) {
      out.push_back(&s);
    } else {
      flatten(s.parallel, out);
    }
  }
}

}  // namespace

Scenario parse_scenario(const nlohmann::json& json, const std::string& id) {
  return parse_scenario_checked(json, id);
}

std::vector<const Step*> all_steps(const Scenario& scenario) {
  std::vector<const Step*> out;
  flatten(scenario.steps, out);
  return out;
}

std::string step_key(const Scenario& scenario, const Step& step) {
  return scenario.id + "#" + step.label;
}

std::vector<Scenario> load_scenarios(const std::string& root, std::vector<LoadError>* errors) {
  std::vector<Scenario> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    errors->push_back({root, "not a directory"});
    return out;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::set<std::string> ids;
  for (const auto& f : files) {
    std::string id = fs::relative(f, root).replace_extension().generic_string();
    try {
      std::ifstream in(f);
      nlohmann::json j = parse_strict(in);
      Scenario s = parse_scenario_checked(j, id);
      s.file = f.string();
      out.push_back(std::move(s));
    } catch (const std::exception& e) {
      errors->push_back({f.string(), e.what()});
    }
  }
  return out;
}

}  // namespace harness
