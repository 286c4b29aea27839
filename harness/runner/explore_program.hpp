// A generated test program (shm-harness --explore) and the model that turns it into a scenario.
//
// A program is what the explorer generates and shrinks: who plays each role, at most one
// ShareableList and one plain block with their creators, and a sequence of actions on them.
// render() simulates the program on a model of the correct behaviour (libshm's policy, which is
// CPython's wherever the registry records no quirk) and writes it as a scenario file's JSON,
// expectations included; the runner then parses and judges it like any scenario file. The model
// keeps every program inside the region no registered quirk touches (no trailing NULs, str slots
// that fit their UTF-8, no negative index below -N, no int outside int64, no name with '/', ':',
// a newline, a NUL or non-ASCII, no attacher that exits): render() refuses a program that leaves
// it, so that a shrunk program stays as meaningful as a generated one.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "discovery.hpp"

namespace harness {

/// One step of a generated program on the list (object 0) or the block (object 1).
struct Action {
  /// What the action does.
  enum class Op {
    kGet,     ///< list.get `index`
    kSet,     ///< list.set `index` = `value`
    kLen,     ///< list.len
    kFormat,  ///< list.format
    kItems,   ///< list.items
    kCount,   ///< list.count `value`
    kIndex,   ///< list.index `value`
    kSlice,   ///< list.slice `start`, `stop`, `step`
    kPickle,  ///< `role` pickles its handle of `object`, `target` loads it as its new handle
    kWrite,   ///< block.write `hex` at `offset`
    kRead,    ///< block.read `length` bytes at `offset`
  };
  Op op = Op::kGet;         // what
  int role = 0;             // who (a role number)
  int object = 0;           // 0: the list, 1: the block
  std::int64_t index = 0;   // kGet, kSet
  std::int64_t start = 0;   // kSlice
  std::int64_t stop = 0;    // kSlice
  std::int64_t step = 1;    // kSlice
  nlohmann::json value;     // kSet, kCount, kIndex: Item JSON
  int target = 0;           // kPickle: the loading role
  std::string pickler;      // kPickle: "pickle", "python", "forking", "optimized", ...
  int protocol = 4;         // kPickle: 0 - 5
  std::int64_t offset = 0;  // kWrite, kRead
  std::int64_t length = 0;  // kRead
  std::string hex;          // kWrite
};

/// How the program ends for the list's creator.
enum class Ending {
  kUnlink,  ///< every creator unlinks what it made
  kExit,    ///< the list's creator exits without unlinking: its resource tracker removes it
  kKill,    ///< the same after SIGKILL
};

/// A generated program.
struct Program {
  std::uint64_t seed = 0;                    // the sequence seed it was generated from
  std::vector<const Implementation*> roles;  // who plays role i (named "a", "b", ...)
  bool has_list = false;                     // a ShareableList "l" exists
  int list_creator = 0;                      // its creator's role
  std::string layout = "$layout";            // "$layout" (the cell's common one), "3.8", "3.9"
  nlohmann::json items = nlohmann::json::array();  // its items at creation (Item JSON)
  bool has_block = false;                          // a plain block "b" exists
  int block_creator = 0;                           // its creator's role
  std::string name_suffix;                         // appended to the cell's unique name
  std::int64_t block_size = 8;                     // its size
  std::vector<Action> actions;                     // in order
  Ending ending = Ending::kUnlink;                 // how the list's creator leaves
};

/// A role's name in the rendered scenario: "a", "b", ...
std::string role_name(int role);

/// The scenario file that `program` is, with `id` and `description`, or nothing if the program
/// leaves the region the model covers (see above) or asks a role for a capability its
/// implementation lacks.
std::optional<nlohmann::json> render(const Program& program, const std::string& id,
                                     const std::string& description);

/// The number of steps the rendered scenario has (what a shrunk case is measured by).
std::size_t step_count(const nlohmann::json& scenario);

/// Whether `item` (Item JSON) can be a list item in the modelled region: a str or bytes without
/// a trailing NUL, an int inside int64, and `at_creation` a str whose UTF-8 fits CPython's
/// character-count slot.
bool item_in_region(const nlohmann::json& item, bool at_creation = true);

/// The slot CPython (and libshm, for items in the region) allocates for `item` at creation.
std::int64_t slot_size(const nlohmann::json& item);

/// Python's == between two Item JSON values (1 == 1.0 == True, NaN equals nothing, str and
/// bytes never equal).
bool python_equal(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace harness
