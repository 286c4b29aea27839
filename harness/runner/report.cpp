#include "report.hpp"

#include <fstream>
#include <map>
#include <sstream>

namespace harness {

Counts count(const RunReport& report) {
  Counts c;
  for (const auto& r : report.results) {
    ++c.cells;
    switch (r.status) {
      case Status::kPass:
        ++c.passed;
        break;
      case Status::kQuirk:
        ++c.quirk;
        break;
      case Status::kNew:
        ++c.news;
        break;
      case Status::kFail:
        ++c.unexpected;
        break;
    }
    if (r.predicted && r.status != Status::kFail) ++c.predicted;
  }
  c.unexpected += static_cast<int>(report.problems.size());
  c.skipped = static_cast<int>(report.skipped.size());
  return c;
}

std::string summary_line(const RunReport& report) {
  Counts c = count(report);
  std::ostringstream out;
  out << "CONFORMANCE " << (c.unexpected == 0 ? "PASSED" : "FAILED") << ": " << c.passed
      << " passed, " << c.quirk << " expected-quirk, " << c.news << " new-cpython-behaviour, "
      << c.unexpected << " unexpected, " << c.skipped << " skipped (cells " << c.cells << ", "
      << c.predicted << " predicted)";
  return out.str();
}

std::string rerun_command(const RunReport& report, const std::string& cell_id) {
  return report.rerun_prefix + " --only '" + cell_id + "'";
}

std::string cell_mark(const CellResult& r) {
  const char* p = r.predicted ? "ᵖ" : "";
  switch (r.status) {
    case Status::kPass:
      return std::string("✓") + p;
    case Status::kQuirk:
      return std::string("Q") + p;
    case Status::kNew:
      return "N";
    case Status::kFail:
      return "✗";
  }
  return "?";
}

std::string failure_summary(const CellResult& r) {
  for (const auto& s : r.steps) {
    if (!s.skipped && (s.verdict.status == Status::kFail || s.verdict.status == Status::kNew)) {
      return "step " + s.label + " (" + s.as + "=" + s.impl + " " + s.op + "): " + s.verdict.why;
    }
  }
  if (!r.problems.empty()) return r.problems.front();
  return "";
}

namespace {

// How a step of one kind is printed: the lines' labels, padded to line up.
struct StepWords {
  const char* expected;
  const char* actual;
  const char* why;
  const char* edit;
};

// Every step of `r` with `status`: where it ran, what was expected, what happened, why it did
// not match, and the registry edit.
void print_steps(std::ostream& out, const CellResult& r, Status status, const StepWords& w) {
  for (const auto& s : r.steps) {
    if (s.skipped || s.verdict.status != status) continue;
    out << "  step " << s.label << " (" << s.as << "=" << s.impl << " " << s.op << ")\n"
        << w.expected << describe_expect(s.verdict.expected) << "\n"
        << w.actual << describe(s.outcome) << "\n"
        << w.why << s.verdict.why << "\n";
    if (!s.verdict.edit.empty()) out << w.edit << s.verdict.edit << "\n";
  }
}

}  // namespace

void print_news(std::ostream& out, const RunReport& report) {
  for (const auto& r : report.results) {
    if (r.status != Status::kNew) continue;
    out << "\nNEW CPYTHON BEHAVIOUR " << r.cell->id << "\n";
    print_steps(out, r, Status::kNew,
                {"    predicted: ", "    actual:    ", "    why:       ", "    to record it: "});
    out << "  rerun: " << rerun_command(report, r.cell->id) << "\n";
  }
}

void print_failures(std::ostream& out, const RunReport& report) {
  for (const auto& r : report.results) {
    if (r.status != Status::kFail) continue;
    out << "\nFAIL " << r.cell->id << "\n";
    print_steps(out, r, Status::kFail,
                {"    expected: ", "    actual:   ", "    why:      ",
                 "    registry edit that would pass: "});
    for (const auto& p : r.problems) out << "  " << p << "\n";
    for (const auto& [role, tail] : r.stderr_tails) {
      if (tail.empty()) continue;
      std::string t = tail.size() > 600 ? "…" + tail.substr(tail.size() - 600) : tail;
      out << "  stderr of " << role << ":\n";
      std::istringstream lines(t);
      std::string line;
      while (std::getline(lines, line)) out << "    | " << line << "\n";
    }
    out << "  rerun: " << rerun_command(report, r.cell->id) << "\n";
  }
  for (const auto& p : report.problems) out << "\nPROBLEM: " << p << "\n";
}

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // XML 1.0 forbids most control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += "?";
        } else {
          out += c;
        }
    }
  }
  return out;
}

void write_junit(const std::string& path, const RunReport& report) {
  std::map<std::string, std::vector<const CellResult*>> by_scenario;
  for (const auto& r : report.results) by_scenario[r.cell->scenario->id].push_back(&r);
  Counts c = count(report);
  std::ofstream out(path);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"libshm-conformance\" tests=\"" << c.cells + c.skipped
      << "\" failures=\"" << c.unexpected << "\" skipped=\"" << c.skipped + c.news << "\" time=\""
      << report.seconds << "\">\n";
  for (const auto& [scenario, cells] : by_scenario) {
    int failures = 0, news = 0;
    double time = 0;
    for (const auto* r : cells) {
      failures += r->status == Status::kFail;
      news += r->status == Status::kNew;
      time += r->seconds;
    }
    out << "  <testsuite name=\"" << xml_escape(scenario) << "\" tests=\"" << cells.size()
        << "\" failures=\"" << failures << "\" skipped=\"" << news << "\" time=\"" << time
        << "\">\n";
    for (const auto* r : cells) {
      std::string name = r->cell->id.substr(scenario.size());
      out << "    <testcase classname=\"" << xml_escape(scenario) << "\" name=\""
          << xml_escape(name) << "\" time=\"" << r->seconds << "\">\n";
      if (r->status == Status::kFail) {
        std::ostringstream detail;
        RunReport one;
        one.rerun_prefix = report.rerun_prefix;
        one.results.push_back(*r);
        print_failures(detail, one);
        out << "      <failure message=\"" << xml_escape(failure_summary(*r)) << "\">"
            << xml_escape(detail.str()) << "</failure>\n";
      } else if (r->status == Status::kNew) {
        std::ostringstream detail;
        RunReport one;
        one.rerun_prefix = report.rerun_prefix;
        one.results.push_back(*r);
        print_news(detail, one);
        out << "      <skipped message=\"new CPython behaviour: " << xml_escape(failure_summary(*r))
            << "\"/>\n      <system-out>" << xml_escape(detail.str()) << "</system-out>\n";
      } else if (r->status == Status::kQuirk || r->predicted) {
        std::string text;
        for (const auto& name_q : r->quirks) {
          text += (text.empty() ? "expected quirks: " : ", ") + name_q;
        }
        if (r->predicted) {
          text += std::string(text.empty() ? "" : "; ") +
                  "judged by the registry's prediction for a CPython version no run verified";
        }
        out << "      <system-out>" << xml_escape(text) << "</system-out>\n";
      }
      out << "    </testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  if (!report.skipped.empty() || !report.problems.empty()) {
    out << "  <testsuite name=\"run\" tests=\"" << report.skipped.size() + report.problems.size()
        << "\" failures=\"" << report.problems.size() << "\">\n";
    for (const auto& s : report.skipped) {
      out << "    <testcase classname=\"run\" name=\"" << xml_escape(s)
          << "\"><skipped/></testcase>\n";
    }
    int n = 0;
    for (const auto& p : report.problems) {
      out << "    <testcase classname=\"run\" name=\"problem " << ++n << "\"><failure message=\""
          << xml_escape(p) << "\"/></testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

}  // namespace harness
