// The matrix reports: matrix.md (for people reading the repository or CI logs) and a
// self-contained matrix.html (colours, hover for a summary, click for every step with expected
// vs actual, the registry edit and each agent's stderr tail). Rows are scenarios, columns
// implementation bindings in role order; scenarios whose rows are identical are grouped.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "report.hpp"

namespace harness {

namespace {

struct Table {
  std::size_t arity = 0;                // roles per binding
  std::vector<std::string> columns;     // binding labels, in display order
  std::vector<std::string> rows;        // scenario ids, grouped
  std::map<std::string, int> group_of;  // scenario -> group number
  std::map<std::pair<std::string, std::string>, const CellResult*> cell;  // (row, col)
};

std::string short_id(const std::string& id) {
  return id.rfind("py", 0) == 0 ? id.substr(2) : id;
}

std::string column_of(const CellResult& r) {
  std::string label;
  for (std::size_t i = 0; i < r.cell->bound.size(); ++i) {
    if (i != 0) label += "→";
    label += short_id(r.cell->bound[i]->id);
  }
  return label;
}

std::string mark(const CellResult* r) {
  return r == nullptr ? "" : cell_mark(*r);
}

std::string signature_part(const CellResult* r) {
  if (r == nullptr) return "-";
  std::string s = mark(r);
  for (const auto& q : r->quirks) s += q + ",";
  return s;
}

std::vector<Table> build_tables(const RunReport& report, std::vector<std::string>* group_text) {
  std::map<std::size_t, Table> by_arity;
  std::map<std::size_t, std::set<std::string>> seen_cols;
  // Column order: by the order implementations were found, role by role.
  std::map<std::string, std::size_t> rank;
  for (std::size_t i = 0; i < report.implementations.size(); ++i) {
    rank[report.implementations[i].id] = i;
  }
  std::map<std::size_t, std::vector<std::pair<std::vector<std::size_t>, std::string>>> cols;
  for (const auto& r : report.results) {
    std::size_t arity = r.cell->bound.size();
    Table& t = by_arity[arity];
    t.arity = arity;
    std::string col = column_of(r);
    t.cell[{r.cell->scenario->id, col}] = &r;
    if (seen_cols[arity].insert(col).second) {
      std::vector<std::size_t> key;
      // cpp-involving first, then same-implementation, then the rest
      bool any_cpp = false, same = true;
      for (const auto* impl : r.cell->bound) {
        any_cpp = any_cpp || impl->id == "cpp";
        same = same && impl == r.cell->bound.front();
      }
      key.push_back(any_cpp ? 0 : same ? 1 : 2);
      for (const auto* impl : r.cell->bound) key.push_back(rank[impl->id]);
      cols[arity].push_back({key, col});
    }
  }
  std::vector<Table> tables;
  int next_group = 1;
  for (auto& [arity, t] : by_arity) {
    auto& c = cols[arity];
    std::sort(c.begin(), c.end());
    for (auto& [key, col] : c) t.columns.push_back(col);
    std::map<std::string, std::vector<std::string>> by_signature;
    std::vector<std::string> order;
    std::set<std::string> scenarios;
    for (const auto& [rc, r] : t.cell) scenarios.insert(rc.first);
    for (const auto& s : scenarios) {
      std::string sig;
      for (const auto& col : t.columns) {
        auto it = t.cell.find({s, col});
        sig += signature_part(it == t.cell.end() ? nullptr : it->second) + "|";
      }
      if (by_signature[sig].empty()) order.push_back(sig);
      by_signature[sig].push_back(s);
    }
    for (const auto& sig : order) {
      int g = next_group++;
      const auto& members = by_signature[sig];
      std::set<std::string> quirks, failed_cols, quirk_cols, new_cols;
      for (const auto& s : members) {
        t.rows.push_back(s);
        t.group_of[s] = g;
        for (const auto& col : t.columns) {
          auto it = t.cell.find({s, col});
          if (it == t.cell.end()) continue;
          if (it->second->status == Status::kFail) failed_cols.insert(col);
          if (it->second->status == Status::kNew) new_cols.insert(col);
          if (it->second->status == Status::kQuirk) {
            quirk_cols.insert(col);
            quirks.insert(it->second->quirks.begin(), it->second->quirks.end());
          }
        }
      }
      std::size_t bindings = 0;
      for (const auto& col : t.columns) bindings += t.cell.count({members.front(), col});
      std::string text = "G" + std::to_string(g) + " (" + std::to_string(members.size()) +
                         (members.size() == 1 ? " scenario" : " scenarios") + ", " +
                         std::to_string(bindings) + " bindings each): ";
      if (quirks.empty() && failed_cols.empty() && new_cols.empty()) text += "every cell passed";
      if (!new_cols.empty()) {
        text += std::string(quirks.empty() ? "" : "; ") + "new CPython behaviour in ";
        for (const auto& col : new_cols) text += col + " ";
      }
      if (!quirks.empty()) {
        text += "expected quirks ";
        for (const auto& q : quirks) text += q + " ";
        text += "in " + std::to_string(quirk_cols.size()) + " column(s)";
      }
      if (!failed_cols.empty()) {
        text += std::string(quirks.empty() ? "" : "; ") + "FAILED in ";
        for (const auto& col : failed_cols) text += col + " ";
      }
      group_text->push_back(text);
    }
    tables.push_back(std::move(t));
  }
  return tables;
}

std::string arity_title(std::size_t arity) {
  if (arity == 1) return "One role: each implementation on its own";
  if (arity == 2) return "Two roles: first role → second role (e.g. writer → reader)";
  return std::to_string(arity) + " roles, in role order";
}

void write_md(const std::string& path, const RunReport& report) {
  std::vector<std::string> groups;
  auto tables = build_tables(report, &groups);
  std::ofstream out(path);
  out << "# libshm conformance matrix\n\n**" << summary_line(report) << "** in "
      << static_cast<int>(report.seconds + 0.5) << " s\n";
  bool any_news = false;
  for (const auto& r : report.results) {
    if (r.status != Status::kNew) continue;
    if (!any_news) {
      out << "\n## New CPython behaviour\n\nA CPython newer than anything the registry knows "
             "did something it does not predict. This does not fail the run (it does with "
             "`--strict-versions`): check that it is CPython's doing, then record it with the "
             "edit given.\n\n";
    }
    any_news = true;
    for (const auto& st : r.steps) {
      if (st.skipped || st.verdict.status != Status::kNew) continue;
      out << "- `" << r.cell->id << "` step `" << st.label << "`: " << st.verdict.why
          << "  \n  predicted: " << describe_expect(st.verdict.expected)
          << "  \n  actual: " << describe(st.outcome) << "  \n  to record it: `" << st.verdict.edit
          << "`\n";
    }
  }
  out << "\nImplementations:\n\n";
  for (const auto& impl : report.implementations) {
    auto st = report.standing.find(impl.id);
    out << "- `" << impl.id << "` " << impl.name << " " << impl.version << " (" << impl.executable
        << ")" << (st == report.standing.end() ? "" : ": " + st->second) << "\n";
  }
  out << "\nLegend: ✓ passed · Q showed only registered CPython quirks "
         "(compat/cpython.json) · ᵖ judged by the registry's prediction for an unverified "
         "CPython version · N new CPython behaviour (not a failure) · ✗ failed · blank: binding "
         "not run. Columns name implementations without the `py` prefix.\n";
  for (const auto& t : tables) {
    out << "\n## " << arity_title(t.arity) << "\n\n| group | scenario |";
    for (const auto& c : t.columns) out << " " << c << " |";
    out << "\n|---|---|";
    for (std::size_t i = 0; i < t.columns.size(); ++i) out << ":-:|";
    out << "\n";
    for (const auto& s : t.rows) {
      out << "| G" << t.group_of.at(s) << " | `" << s << "` |";
      for (const auto& c : t.columns) {
        auto it = t.cell.find({s, c});
        out << " " << mark(it == t.cell.end() ? nullptr : it->second) << " |";
      }
      out << "\n";
    }
  }
  out << "\n## Groups (scenarios that behave alike)\n\n";
  for (const auto& g : groups) out << "- " << g << "\n";
  bool any_fail = false;
  for (const auto& r : report.results) {
    if (r.status != Status::kFail) continue;
    if (!any_fail) out << "\n## Failures\n\n";
    any_fail = true;
    out << "- `" << r.cell->id << "`: " << failure_summary(r) << "  \n  rerun: `"
        << rerun_command(report, r.cell->id) << "`\n";
  }
  if (!report.problems.empty()) {
    out << "\n## Run problems\n\n";
    for (const auto& p : report.problems) out << "- " << p << "\n";
  }
  if (!report.skipped.empty()) {
    out << "\n## Skipped\n\n";
    for (const auto& s : report.skipped) out << "- " << s << "\n";
  }
}

nlohmann::json cell_json(const CellResult& r, const RunReport& report) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps) {
    nlohmann::json j = {{"label", s.label}, {"as", s.as}, {"impl", s.impl}, {"op", s.op}};
    if (s.skipped) {
      j["skipped"] = true;
    } else {
      j["request"] =
          abbreviate(s.request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 800);
      j["expected"] = describe_expect(s.verdict.expected);
      j["actual"] = describe(s.outcome);
      j["verdict"] = s.verdict.status == Status::kPass    ? "pass"
                     : s.verdict.status == Status::kQuirk ? "quirk " + s.verdict.quirk
                     : s.verdict.status == Status::kNew   ? "NEW CPython behaviour"
                                                          : "FAIL";
      if (s.verdict.predicted) j["verdict"] = j["verdict"].get<std::string>() + " (predicted)";
      if (!s.verdict.why.empty()) j["why"] = s.verdict.why;
      if (!s.verdict.edit.empty()) j["edit"] = s.verdict.edit;
    }
    steps.push_back(j);
  }
  nlohmann::json stderr_tails = nlohmann::json::object();
  for (const auto& [role, tail] : r.stderr_tails) stderr_tails[role] = tail;
  return {{"id", r.cell->id},
          {"status", mark(&r)},
          {"seconds", r.seconds},
          {"description", r.cell->scenario->description},
          {"upstream", r.cell->scenario->upstream},
          {"steps", steps},
          {"problems", r.problems},
          {"stderr", stderr_tails},
          {"rerun", rerun_command(report, r.cell->id)}};
}

void write_html(const std::string& path, const RunReport& report) {
  std::vector<std::string> groups;
  auto tables = build_tables(report, &groups);
  std::map<const CellResult*, std::size_t> index;
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& r : report.results) {
    index[&r] = cells.size();
    cells.push_back(cell_json(r, report));
  }
  std::string data = cells.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  for (std::size_t at = data.find("</"); at != std::string::npos; at = data.find("</", at)) {
    data.replace(at, 2, "<\\/");
  }
  std::ofstream out(path);
  out << R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>libshm conformance matrix</title>
<style>
body{font:14px system-ui,sans-serif;margin:1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 5px;text-align:center}
th.r{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:12px}
td.s{text-align:left;font-family:monospace}
td.p{background:#c8f0c8;cursor:pointer} td.q{background:#ffe19a;cursor:pointer}
td.f{background:#f4a0a0;cursor:pointer;font-weight:bold} td.g{color:#777}
td.n{background:#a8d0ff;cursor:pointer;font-weight:bold}
tr.gs td{border-top:2px solid #555}
#detail{position:fixed;right:0;top:0;bottom:0;width:46%;overflow:auto;background:#fafafa;
 border-left:2px solid #888;padding:1em;display:none;font-size:13px}
#detail pre{white-space:pre-wrap;background:#eee;padding:4px}
#detail table{width:100%} #detail td{text-align:left;vertical-align:top}
.FAIL{background:#f4a0a0}
</style></head><body>
<h1>libshm conformance matrix</h1>
)";
  out << "<p><b>" << xml_escape(summary_line(report)) << "</b> in "
      << static_cast<int>(report.seconds + 0.5) << " s. Click a cell for its steps.</p>\n<p>";
  for (const auto& r : report.results) {
    if (r.status != Status::kNew) continue;
    for (const auto& st : r.steps) {
      if (st.skipped || st.verdict.status != Status::kNew) continue;
      out << "<p style='background:#a8d0ff'><b>New CPython behaviour</b> (not a failure; "
             "record it with the edit): <code>"
          << xml_escape(r.cell->id) << "</code> step " << xml_escape(st.label) << ": "
          << xml_escape(st.verdict.why) << "<br>edit: <code>" << xml_escape(st.verdict.edit)
          << "</code></p>\n";
    }
  }
  out << "<p>";
  for (const auto& impl : report.implementations) {
    auto st = report.standing.find(impl.id);
    out << "<code>" << xml_escape(impl.id) << "</code> " << xml_escape(impl.executable)
        << (st == report.standing.end() ? "" : " — " + xml_escape(st->second)) << "<br>";
  }
  out << "</p>\n<p>Legend: <span style='background:#c8f0c8'>&nbsp;✓ passed&nbsp;</span> "
         "<span style='background:#ffe19a'>&nbsp;Q registered CPython quirk&nbsp;</span> "
         "<span style='background:#a8d0ff'>&nbsp;N new CPython behaviour&nbsp;</span> "
         "<span style='background:#f4a0a0'>&nbsp;✗ failed&nbsp;</span> "
         "(ᵖ: judged by a prediction for an unverified CPython version)</p>\n";
  for (const auto& t : tables) {
    out << "<h2>" << xml_escape(arity_title(t.arity)) << "</h2>\n<table><tr><th>group</th>"
        << "<th>scenario</th>";
    for (const auto& c : t.columns) out << "<th class=r>" << xml_escape(c) << "</th>";
    out << "</tr>\n";
    int last_group = -1;
    for (const auto& s : t.rows) {
      int g = t.group_of.at(s);
      out << "<tr" << (g != last_group ? " class=gs" : "") << "><td class=g>G" << g
          << "</td><td class=s>" << xml_escape(s) << "</td>";
      last_group = g;
      for (const auto& c : t.columns) {
        auto it = t.cell.find({s, c});
        if (it == t.cell.end()) {
          out << "<td></td>";
          continue;
        }
        const CellResult* r = it->second;
        std::string cls = r->status == Status::kPass    ? "p"
                          : r->status == Status::kQuirk ? "q"
                          : r->status == Status::kNew   ? "n"
                                                        : "f";
        std::string title = r->cell->id;
        if (r->status == Status::kQuirk) {
          title += "\nquirks:";
          for (const auto& q : r->quirks) title += " " + q;
        }
        if (r->status == Status::kFail || r->status == Status::kNew) {
          title += "\n" + failure_summary(*r);
        }
        out << "<td class=" << cls << " data-i=" << index[r] << " title=\"" << xml_escape(title)
            << "\">" << mark(r) << "</td>";
      }
      out << "</tr>\n";
    }
    out << "</table>\n";
  }
  out << "<h2>Groups (scenarios that behave alike)</h2><ul>";
  for (const auto& g : groups) out << "<li>" << xml_escape(g) << "</li>";
  out << "</ul>\n";
  if (!report.problems.empty()) {
    out << "<h2>Run problems</h2><ul>";
    for (const auto& p : report.problems) out << "<li class=FAIL>" << xml_escape(p) << "</li>";
    out << "</ul>\n";
  }
  if (!report.skipped.empty()) {
    out << "<h2>Skipped</h2><ul>";
    for (const auto& s : report.skipped) out << "<li>" << xml_escape(s) << "</li>";
    out << "</ul>\n";
  }
  out << "<div id=detail></div>\n<script>\nconst CELLS=" << data << R"(;
function esc(s){return String(s).replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));}
function show(i){const c=CELLS[i];let h='<p><a href="#" onclick="hide();return false">close ✕</a></p>';
h+='<h3>'+esc(c.id)+' — '+esc(c.status)+'</h3><p>'+esc(c.description)+'</p>';
if(c.upstream)h+='<p><a href="'+esc(c.upstream)+'">'+esc(c.upstream)+'</a></p>';
h+='<p>'+c.seconds.toFixed(3)+' s · rerun:</p><pre>'+esc(c.rerun)+'</pre><table><tr><th>step</th><th>who</th><th>request</th><th>expected</th><th>actual</th><th>verdict</th></tr>';
for(const s of c.steps){
 if(s.skipped){h+='<tr><td>'+esc(s.label)+'</td><td colspan=5>skipped</td></tr>';continue;}
 h+='<tr class="'+(s.verdict=='FAIL'?'FAIL':'')+'"><td>'+esc(s.label)+'</td><td>'+esc(s.as)+'='+esc(s.impl)+'<br>'+esc(s.op)+'</td><td><code>'+esc(s.request)+'</code></td><td>'+esc(s.expected)+'</td><td>'+esc(s.actual)+'</td><td>'+esc(s.verdict)+(s.why?'<br>'+esc(s.why):'')+(s.edit?'<br><b>registry edit:</b> '+esc(s.edit):'')+'</td></tr>';}
h+='</table>';
for(const p of c.problems)h+='<p class=FAIL>'+esc(p)+'</p>';
for(const r in c.stderr){if(c.stderr[r])h+='<p>stderr of '+esc(r)+':</p><pre>'+esc(c.stderr[r])+'</pre>';}
const d=document.getElementById('detail');d.innerHTML=h;d.style.display='block';}
function hide(){document.getElementById('detail').style.display='none';}
document.addEventListener('click',e=>{const t=e.target.closest('td[data-i]');if(t)show(+t.dataset.i);});
</script>
</body></html>
)";
}

}  // namespace

void write_matrix(const std::string& dir, const RunReport& report) {
  std::filesystem::create_directories(dir);
  write_md(dir + "/matrix.md", report);
  write_html(dir + "/matrix.html", report);
}

}  // namespace harness
