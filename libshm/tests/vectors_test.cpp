// Golden vectors: every ShareableList case that every CPython here wrote (compat/vectors/
// <version>/shareable_list.json, made by compat/tools/gen_vectors.py), checked against
// libshm with no Python needed:
//   - libshm creates the same block from the same items, in that version's layout;
//   - libshm attaches CPython's block, detects its layout and reads what CPython read;
//   - the recorded assignments, done by libshm, leave CPython's block_after, errors included.
// Where CPython cuts a non-ASCII str (its slot is sized by characters), libshm's block
// differs on purpose: there the policy is checked instead (docs/cpython-quirks.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "libshm/shareable_list.hpp"
#include "list_test_support.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> vector_versions() {
  std::vector<std::string> versions;
  for (const auto& entry : fs::directory_iterator(LIBSHM_VECTORS_DIR)) {
    if (fs::exists(entry.path() / "shareable_list.json")) {
      versions.push_back(entry.path().filename().string());
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

Json load(const std::string& version) {
  std::ifstream in(fs::path(LIBSHM_VECTORS_DIR) / version / "shareable_list.json");
  return Json::parse(in);
}

// A "read" entry: an Item, or the name of the exception CPython raised.
struct Read {
  std::optional<Item> value;  // what CPython read
  std::string error;          // or the exception type, e.g. "UnicodeDecodeError"
};

Read parse_read(const Json& entry) {
  if (entry.is_object() && entry.contains("error")) {
    return {std::nullopt, entry["error"]["type"].get<std::string>()};
  }
  return {entry.get<Item>(), ""};
}

// Checks libshm's read of item i against CPython's. The only errors CPython records are
// UnicodeDecodeErrors (a character cut by its slot sizing), which libshm reports as
// DecodeError.
void expect_read(const ShareableList& list, std::size_t i, const Json& entry) {
  SCOPED_TRACE("item " + std::to_string(i));
  const Read expected = parse_read(entry);
  if (expected.value) {
    EXPECT_TRUE(test::SameItem(list.get(static_cast<std::ptrdiff_t>(i)), *expected.value));
  } else {
    ASSERT_EQ(expected.error, "UnicodeDecodeError");
    EXPECT_THROW((void)list.get(static_cast<std::ptrdiff_t>(i)), DecodeError);
  }
}

class Vectors : public ::testing::TestWithParam<std::string> {};

TEST(VectorFiles, EveryCPythonVersionIsThere) {
  // The six minor versions the issue requires (and any extra patch levels).
  const auto versions = vector_versions();
  for (const char* minor : {"3.8.", "3.9.", "3.10.", "3.11.", "3.12.", "3.13."}) {
    EXPECT_TRUE(std::any_of(versions.begin(), versions.end(),
                            [&](const std::string& v) { return v.rfind(minor, 0) == 0; }))
        << "no vectors for " << minor;
  }
}

TEST_P(Vectors, LibshmWritesAndReadsWhatCPythonDid) {
  const Json doc = load(GetParam());
  const Layout layout = doc["layout"] == "3.8" ? Layout::v38 : Layout::v39;
  ASSERT_EQ(doc["byteorder"], "little");
  ASSERT_GE(doc["cases"].size(), 200u);
  std::size_t identical = 0, policy = 0, attached = 0, set_cases = 0;
  for (const Json& c : doc["cases"]) {
    const std::string id = c["id"];
    SCOPED_TRACE(GetParam() + " case " + id);
    test::BlockCleanup cleanup;
    const std::vector<Item> items = c["items"].get<std::vector<Item>>();
    const std::string cpython_block = test::unhex(c["block"].get<std::string>());
    ASSERT_EQ(cpython_block.size(), c["size"].get<std::size_t>());

    // 1. libshm creates the list itself.
    auto mine =
        ShareableList::create(items, {.name = cleanup.fresh(), .layout = layout, .track = false});
    const bool truncating = std::any_of(items.begin(), items.end(), test::cpython_truncates);
    if (!truncating) {
      EXPECT_EQ(test::hex(test::block_bytes(mine.shm().buf())), c["block"].get<std::string>());
      EXPECT_EQ(mine.format(), c["format"]);
      for (std::size_t i = 0; i < items.size(); ++i) expect_read(mine, i, c["read"][i]);
      ++identical;
    } else {
      // Policy: the slot is sized by UTF-8, so every item reads back whole.
      for (std::size_t i = 0; i < items.size(); ++i) {
        EXPECT_TRUE(
            test::SameItem(mine.get(static_cast<std::ptrdiff_t>(i)), test::stripped(items[i])))
            << "item " << i;
      }
      EXPECT_GT(mine.shm().size(), cpython_block.size());
      ++policy;
    }

    // 2. libshm attaches CPython's block.
    auto theirs_block = test::make_block(cleanup.fresh(), cpython_block);
    EXPECT_EQ(ShareableList::detect_layout(theirs_block.buf()), layout);
    auto theirs = ShareableList::from_block(std::move(theirs_block));
    EXPECT_EQ(theirs.layout(), layout);
    ASSERT_EQ(theirs.size(), items.size());
    EXPECT_EQ(theirs.format(), c["format"]);
    for (std::size_t i = 0; i < items.size(); ++i) expect_read(theirs, i, c["read"][i]);
    ++attached;

    // 3. The recorded assignments, on CPython's block (and on libshm's identical one).
    if (!c.contains("sets")) continue;
    ++set_cases;
    std::vector<ShareableList*> targets{&theirs};
    if (!truncating) targets.push_back(&mine);
    for (ShareableList* list : targets) {
      for (const Json& s : c["sets"]) {
        const auto index = s["index"].get<std::ptrdiff_t>();
        const Item value = s["value"].get<Item>();
        if (s["error"].is_null()) {
          EXPECT_NO_THROW(list->set(index, value)) << "sl[" << index << "] = " << s["value"];
        } else {
          ASSERT_EQ(s["error"]["type"], "ValueError");  // exceeds available storage
          const std::string before = test::block_bytes(list->shm().buf());
          EXPECT_THROW(list->set(index, value), std::invalid_argument);
          EXPECT_EQ(test::block_bytes(list->shm().buf()), before) << "a failed set wrote";
        }
      }
      EXPECT_EQ(test::hex(test::block_bytes(list->shm().buf())),
                c["block_after"].get<std::string>());
      EXPECT_EQ(list->format(), c["format_after"]);
      for (std::size_t i = 0; i < items.size(); ++i) expect_read(*list, i, c["read_after"][i]);
    }
  }
  std::cout << "[ vectors  ] " << GetParam() << ": " << identical << " created byte-identical, "
            << policy << " checked against the UTF-8 policy, " << attached
            << " CPython blocks read, " << set_cases << " assignment sequences\n";
  EXPECT_EQ(identical + policy, doc["cases"].size());
}

INSTANTIATE_TEST_SUITE_P(AllVersions, Vectors, ::testing::ValuesIn(vector_versions()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = "CPython_" + param.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

}  // namespace
}  // namespace shm
