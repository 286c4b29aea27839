#include "standing.hpp"

#include <algorithm>
#include <sstream>

#include "cell.hpp"

namespace harness {

std::string standing_text(const Implementation& impl, const Registry& registry) {
  if (!impl.is_cpython()) {
    return "under test" + (impl.policy.empty() ? "" : ", policy " + impl.policy) +
           (impl.host.empty() ? "" : ", on CPython " + impl.host);
  }
  std::string from, standing;
  auto v = Version::parse(impl.version);
  switch (v ? registry.standing_of(*v, &from) : Standing::kNewer) {
    case Standing::kVerified:
      standing = "verified";
      break;
    case Standing::kPredicted:
      standing = "predicted from " + from;
      break;
    case Standing::kNewer:
      standing = "newer than anything known (newest verified: " + from + ")";
      break;
  }
  if (impl.candidate.empty()) return standing;
  return "candidate " + impl.candidate + ", judged as " + impl.candidate_of + " (" + standing + ")";
}

std::string implementations_header(const Discovery& found, const Registry& registry,
                                   RunReport& report) {
  std::ostringstream header;
  header << "shm-harness: " << found.implementations.size() << " implementations\n";
  for (const auto& impl : found.implementations) {
    const std::string standing = standing_text(impl, registry);
    report.standing[impl.id] = standing;
    header << "  " << impl.id << "  " << impl.name << " " << impl.version << "  " << standing
           << "  " << impl.executable << "  (" << impl.found_via;
    for (const char* notable : {"numpy", "track-option", "other-user"}) {
      if (impl.capabilities.count(notable) != 0) header << ", " << notable;
    }
    header << ")\n";
  }
  for (const auto& n : found.notes) header << "  note: " << n << "\n";
  return header.str();
}

void print_verification_notes(std::ostream& out, const RunReport& report, const Registry& registry,
                              bool filtered) {
  for (const auto& impl : report.implementations) {
    if (!impl.is_cpython() || !impl.candidate.empty() ||
        subject_of(impl, registry).standing == Standing::kVerified) {
      continue;
    }
    bool all_ok = true, any = false;
    for (const auto& r : report.results) {
      bool plays = std::any_of(r.cell->bound.begin(), r.cell->bound.end(),
                               [&](const Implementation* i) { return i->id == impl.id; });
      if (!plays) continue;
      any = true;
      all_ok = all_ok && (r.status == Status::kPass || r.status == Status::kQuirk);
    }
    if (any && all_ok && !filtered) {
      out << "\nnote: every cell of " << impl.id << " met the registry's prediction; to record "
          << impl.version << " as verified, add it to verified_runs and to the verified "
          << "list of each quirk whose ranges cover it (" << registry.display_path() << ")\n";
    }
  }
}

}  // namespace harness
