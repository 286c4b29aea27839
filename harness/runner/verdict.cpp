#include "verdict.hpp"

#include <iostream>

namespace harness {

namespace {

// The first of `texts` that `report` lacks, or null.
const std::string* first_missing(const std::vector<std::string>& texts, const std::string& report) {
  for (const auto& text : texts) {
    if (report.find(text) == std::string::npos) return &text;
  }
  return nullptr;
}

}  // namespace

int exit_status(const Options& options, const Counts& counts, const std::string& failures,
                const std::string& transcript) {
  if (options.expect_fail) {
    if (counts.unexpected == 0) {
      std::cout << "CANARY NOT CAUGHT: the run passed, but it must fail\n";
      return 1;
    }
    if (const std::string* text = first_missing(options.expect_texts, failures)) {
      std::cout << "CANARY FAILED FOR ANOTHER REASON: the report lacks \"" << *text << "\"\n";
      return 1;
    }
    std::cout << "canary caught: the run failed, as it must\n";
    return 0;
  }
  if (const std::string* text = first_missing(options.expect_texts, transcript)) {
    std::cout << "EXPECTED TEXT MISSING: the report lacks \"" << *text << "\"\n";
    return 1;
  }
  return counts.unexpected == 0 ? 0 : 1;
}

}  // namespace harness
