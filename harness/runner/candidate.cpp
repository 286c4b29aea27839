#include "candidate.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <libshm/hex.hpp>
#include <map>
#include <regex>
#include <sstream>

#include "expectation.hpp"

namespace harness {

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; !from.empty() && (at = text.find(from, at)) != std::string::npos;
       at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// What differs between a cell and its twin when the candidate changes nothing: the cell's block
// names (the same length in both: cell.cpp pads the cell number), as text and as the hex of
// pickles and raw bytes; and the names CPython draws at random (SharedMemory's psm_ + 8 hex
// digits, a synchronisation object's mp- + 8 characters), which become placeholders.
std::string without_names(std::string text, const Vars& names) {
  for (const auto& [var, name] : names) {
    const std::string n = name.get<std::string>();
    text = replace_all(text, n, "${" + var + "}");
    text = replace_all(text, shm::to_hex(std::string_view(n)), "${hex:" + var + "}");
  }
  static const std::regex random_names(
      "psm_[0-9a-f]{8}|mp-[a-z0-9_]{8}|70736d5f(?:[0-9a-f]{2}){8}|6d702d(?:[0-9a-f]{2}){8}");
  return std::regex_replace(text, random_names, "*random*");
}

// Everything an outcome says that does not vary from run to run, for comparison. Left out: what
// an agent printed on stderr (how much of it arrives before a death is timing, and the tracker's
// leak warning lists a set, in an order hash randomisation picks), and the
// pickle of a synchronisation object, which holds the address of its semaphore in the creating
// process (randomised by ASLR; a candidate shared_memory.py does not make these objects).
std::string fingerprint(const StepRecord& step, const Vars& names) {
  const Outcome& o = step.outcome;
  nlohmann::json value = o.value;
  if (step.op.rfind("sync.", 0) == 0 && value.is_object()) value.erase("pickle");
  if (step.op == "agent.stderr") value = nullptr;
  std::ostringstream text;
  text << static_cast<int>(o.kind) << '\n'
       << value.dump() << '\n'
       << o.error_kind << '\n'
       << o.error_type << '\n'
       << (o.kind == Outcome::Kind::kDied ? "" : o.message);
  return without_names(text.str(), names);
}

std::string shown(const StepRecord& step, const Vars& names) {
  return abbreviate(without_names(describe(step.outcome), names), 200);
}

// Every step that ran in both and whose outcome differs between a candidate's cell and its twin
// (the steps after a difference often show its consequences: a value written, then read back
// wrong); then how many steps ran in only one of them (a cell stops at its first unexpected
// outcome).
std::vector<StepDifference> differences(const CellResult& cell, const CellResult& twin) {
  std::vector<StepDifference> found;
  if (cell.steps.size() != twin.steps.size()) {
    return {{"step count", std::to_string(cell.steps.size()) + " steps",
             std::to_string(twin.steps.size()) + " steps"}};
  }
  int skipped_in_cell = 0, skipped_in_twin = 0;
  for (std::size_t i = 0; i < cell.steps.size(); ++i) {
    const StepRecord& a = cell.steps[i];
    const StepRecord& b = twin.steps[i];
    skipped_in_cell += a.skipped ? 1 : 0;
    skipped_in_twin += b.skipped ? 1 : 0;
    if (a.skipped || b.skipped) continue;
    if (fingerprint(a, cell.names) == fingerprint(b, twin.names)) continue;
    found.push_back(
        {a.label + " (" + a.as + " " + a.op + ")", shown(a, cell.names), shown(b, twin.names)});
  }
  if (skipped_in_cell != skipped_in_twin) {
    found.push_back(
        {"steps not run", std::to_string(skipped_in_cell), std::to_string(skipped_in_twin)});
  }
  auto problems = [](const CellResult& r) {
    std::string text;
    for (const auto& p : r.problems) text += without_names(p, r.names) + "\n";
    return text;
  };
  const std::string problems_a = problems(cell), problems_b = problems(twin);
  if (problems_a != problems_b) {
    found.push_back({"after the steps",
                     problems_a.empty() ? "no problem" : abbreviate(problems_a, 200),
                     problems_b.empty() ? "no problem" : abbreviate(problems_b, 200)});
  }
  return found;
}

// Text inside a Markdown table cell.
std::string md_cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : c == '\n' ? " " : std::string(1, c);
  return out;
}

const Implementation* find_impl(const RunReport& report, const std::string& id) {
  for (const auto& impl : report.implementations) {
    if (impl.id == id) return &impl;
  }
  return nullptr;
}

// The differences per released CPython ("alone" when the candidate played every role), each
// with how often the candidate played which roles: "with py3.9.18" -> "reader: 9, writer: 5".
std::map<std::string, std::pair<int, std::string>> groups_of(const CandidateFindings& f) {
  std::map<std::string, std::map<std::string, int>> roles;
  for (const auto& d : f.differences) {
    ++roles[d.peer.empty() ? std::string("alone") : "with " + d.peer][d.roles];
  }
  std::map<std::string, std::pair<int, std::string>> groups;
  for (const auto& [group, by_roles] : roles) {
    std::vector<std::pair<std::string, int>> sorted(by_roles.begin(), by_roles.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    auto& [total, text] = groups[group];
    for (const auto& [r, n] : sorted) {
      total += n;
      text += (text.empty() ? "" : ", ") + r + ": " + std::to_string(n);
    }
  }
  return groups;
}

}  // namespace

std::vector<CandidateFindings> compare_candidates(const RunReport& report) {
  std::map<std::string, const CellResult*> by_id;
  for (const auto& r : report.results) by_id[r.cell->id] = &r;
  std::vector<CandidateFindings> all;
  for (const auto& candidate : report.implementations) {
    if (candidate.candidate.empty()) continue;
    CandidateFindings f{candidate.id, candidate.candidate_of, candidate.candidate, 0, 0, {}, {}};
    const Implementation* base = find_impl(report, candidate.candidate_of);
    for (const auto& r : report.results) {
      const Cell& cell = *r.cell;
      std::vector<const Implementation*> twin_bound = cell.bound;
      bool plays = false;
      CandidateDifference d;
      std::string candidate_roles;
      for (std::size_t i = 0; i < twin_bound.size(); ++i) {
        const std::string& role = cell.scenario->roles[i].name;
        if (twin_bound[i]->id == candidate.id) {
          plays = true;
          twin_bound[i] = base;
          candidate_roles += (candidate_roles.empty() ? "" : "+") + role;
        } else {
          d.peer = twin_bound[i]->id;
        }
      }
      if (!plays) continue;
      ++f.cells;
      const std::string twin_id = base == nullptr ? "" : cell_id(*cell.scenario, twin_bound);
      auto twin = by_id.find(twin_id);
      if (twin == by_id.end()) {
        f.unpaired.push_back(cell.id);
        continue;
      }
      ++f.compared;
      d.cell = cell.id;
      d.twin = twin_id;
      d.roles = candidate_roles;
      d.steps = differences(r, *twin->second);
      if (!d.steps.empty()) f.differences.push_back(std::move(d));
    }
    all.push_back(std::move(f));
  }
  return all;
}

void print_candidates(std::ostream& out, const std::vector<CandidateFindings>& findings) {
  for (const auto& f : findings) {
    out << "\ncandidate " << f.id << " (" << f.path << ", on " << f.base << "): " << f.cells
        << " cells, " << f.compared << " compared with the unpatched " << f.base << ", "
        << f.differences.size() << " differ\n";
    for (const auto& [group, n] : groups_of(f)) {
      out << "  " << n.first << " cells " << group << " (the candidate as " << n.second << ")\n";
    }
    for (const auto& d : f.differences) {
      out << "  DIFFERS " << d.cell << "  (twin: " << d.twin << ")\n";
      for (const auto& s : d.steps) {
        out << "    step      " << s.step << "\n"
            << "    candidate " << s.candidate << "\n"
            << "    released  " << s.released << "\n";
      }
    }
    for (const auto& u : f.unpaired) out << "  UNPAIRED " << u << " (its twin did not run)\n";
  }
}

void write_candidates(const std::string& path, const std::vector<CandidateFindings>& findings) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream md(path);
  md << "# Candidates\n\nEach cell a candidate played in, compared step by step with its twin: "
        "the same cell with the unpatched CPython in the candidate's roles.\n";
  for (const auto& f : findings) {
    md << "\n## " << f.id << "\n\n`" << f.path << "` on " << f.base << ": " << f.cells << " cells, "
       << f.compared << " with a twin, **" << f.differences.size() << " differ**.\n";
    const auto groups = groups_of(f);
    if (!groups.empty()) {
      md << "\n| released CPython | cells that differ | the candidate's roles in them |\n"
            "| --- | ---: | --- |\n";
      for (const auto& [group, n] : groups) {
        md << "| " << group << " | " << n.first << " | " << n.second << " |\n";
      }
      md << "\n| cell | step that differs | with the candidate | unpatched |\n"
            "| --- | --- | --- | --- |\n";
      for (const auto& d : f.differences) {
        for (const auto& s : d.steps) {
          md << "| `" << d.cell << "` | " << md_cell(s.step) << " | " << md_cell(s.candidate)
             << " | " << md_cell(s.released) << " |\n";
        }
      }
    }
    for (const auto& u : f.unpaired) md << "\n- `" << u << "`: its twin did not run";
    if (!f.unpaired.empty()) md << "\n";
  }
}

std::vector<std::string> candidate_problems(const std::vector<CandidateFindings>& findings) {
  std::vector<std::string> problems;
  for (const auto& f : findings) {
    if (f.differences.empty() && f.unpaired.empty()) continue;
    problems.push_back("candidate " + f.id + ": " + std::to_string(f.differences.size()) + " of " +
                       std::to_string(f.compared) + " cells differ from " + f.base +
                       (f.unpaired.empty()
                            ? std::string()
                            : ", " + std::to_string(f.unpaired.size()) + " without a twin") +
                       " (the candidates section above)");
  }
  return problems;
}

}  // namespace harness
