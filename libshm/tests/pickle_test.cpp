// shm::pickle: dumps writes CPython's bytes for every golden vector of every CPython 3.8 - 3.13,
// loads reads every one of them back, and attaching through a pickle works as unpickling does.
#include "libshm/pickle.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "libshm/hex.hpp"
#include "pickle_vectors.hpp"
#include "test_support.hpp"

namespace shm::pickle {
namespace {

using test::BlockCleanup;

std::string hex(const std::vector<std::byte>& bytes) {
  return to_hex(bytes);
}

// Pickles written by CPython 3.13.0 and 3.8.18 (identical) that the vectors do not have:
// sizes 0, 2**63 and 2**64-1 (LONG1 with 9 bytes) and a name with a newline and a colon
// (protocol 0 escapes the newline). Made with gen_vectors.py's fake_shared_memory(name, size)
// and pickle.dumps(obj, protocol) for protocols 0 - 5.
struct ExtraVector {
  const char* label;
  const char* name;
  std::uint64_t size;
  std::array<const char*, 6> hex;  // protocols 0 - 5
};
const ExtraVector kExtraVectors[] = {
    {"ok_sm_size_0",
     "rq_pk",
     0,
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a285672715f706b0a70310a4930300a49300a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930300a4b007471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101894b008771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101894b008771025271032e",
         /* 4 */
         "80049541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94894b00879452942e",
         /* 5 */
         "80059541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94894b00879452942e",
     }},
    {"ok_sm_size_2_63",
     "rq_pk",
     9223372036854775808u,
     {
         /* 0 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a70300a285672715f706b0a70310a4930300a4c393232333337323033363835343737353830384c0a"
         "7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930300a4c393232333337323033363835343737353830384c"
         "0a7471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898a090000000000000080008771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898a090000000000000080008771025271032e",
         /* 4 */
         "8004954a000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94898a0900000000000000800087945294"
         "2e",
         /* 5 */
         "8005954a000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94898a0900000000000000800087945294"
         "2e",
     }},
    {"ok_sm_size_2_64m1",
     "rq_pk",
     18446744073709551615u,
     {
         /* 0 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a70300a285672715f706b0a70310a4930300a4c31383434363734343037333730393535313631354c"
         "0a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930300a4c3138343436373434303733373039353531363135"
         "4c0a7471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898a09ffffffffffffffff008771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898a09ffffffffffffffff008771025271032e",
         /* 4 */
         "8004954a000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94898a09ffffffffffffffff0087945294"
         "2e",
         /* 5 */
         "8005954a000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94898a09ffffffffffffffff0087945294"
         "2e",
     }},
    {"ok_sm_name_newline_colon",
     "a\nb:c",
     16,
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a2856615c7530303061623a630a70310a4930300a4931360a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a7100285805000000610a623a6371014930300a4b107471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a71005805000000610a623a637101894b108771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a71005805000000610a623a637101894b108771025271032e",
         /* 4 */
         "80049541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c05610a623a6394894b10879452942e",
         /* 5 */
         "80059541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c05610a623a6394894b10879452942e",
     }},
};

// The Style a vector says its bytes have.
Style style_of(const test::PickleVector& v) {
  EXPECT_TRUE(v.reducer == "pickle" || v.reducer == "forking") << v.reducer;
  return {v.reducer == "forking" ? Style::Reducer::forking : Style::Reducer::pickle, v.optimized};
}

TEST(Pickle, DumpsWritesEveryGoldenVector) {
  const auto vectors = test::load_pickle_vectors();
  std::set<std::string> versions;
  std::map<std::string, std::set<std::string>> picklers;  // minor version -> picklers
  std::size_t checked = 0;
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.version + " " + v.id);
    const Style style = style_of(v);
    const auto bytes = v.kind == "shared_memory"
                           ? dumps_shared_memory(v.name, v.size.value(), v.protocol, style)
                           : dumps_shareable_list(v.name, v.protocol, style);
    ASSERT_EQ(hex(bytes), v.hex);
    const std::string minor = v.version.substr(0, v.version.rfind('.'));
    versions.insert(minor);
    picklers[minor].insert(v.pickler);
    ++checked;
  }
  // Every minor version 3.8 - 3.13 contributed, each with every pickler.
  EXPECT_EQ(versions, (std::set<std::string>{"3.8", "3.9", "3.10", "3.11", "3.12", "3.13"}));
  const std::set<std::string> all{
      "c",           "python",           "forking",          "copyreg-c", "copyreg-python",
      "optimized-c", "optimized-python", "optimized-forking"};
  for (const auto& [minor, found] : picklers) EXPECT_EQ(found, all) << minor;
  RecordProperty("vector_cases", static_cast<int>(checked));
}

TEST(Pickle, LoadsReadsEveryGoldenVector) {
  std::map<std::pair<std::string, std::string>, int> loaded;  // (kind, pickler) -> count
  for (const auto& v : test::load_pickle_vectors()) {
    SCOPED_TRACE(v.version + " " + v.id);
    const auto bytes = from_hex(v.hex);
    const PickledHandle handle = loads(bytes);
    EXPECT_EQ(to_string(handle.kind), v.kind);
    EXPECT_EQ(handle.name, v.name);
    EXPECT_EQ(handle.size, v.size);
    EXPECT_EQ(handle.protocol, v.protocol);
    EXPECT_EQ(handle.style, style_of(v));
    EXPECT_EQ(dumps(handle), bytes);
    ++loaded[{v.kind, v.pickler}];
  }
  // Both kinds from every pickler, and the ForkingPickler's list in its own shape.
  EXPECT_EQ(loaded.size(), 16u);
  for (const auto& [key, count] : loaded) EXPECT_GT(count, 0) << key.first << " " << key.second;
}

TEST(Pickle, ForkingAndOptimizedShapesDiffer) {
  // The four styles of a list are four different pickles in every protocol; a SharedMemory
  // has two (the reducer does not touch it), and loads() tells them all apart.
  for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
    SCOPED_TRACE(protocol);
    std::set<std::vector<std::byte>> lists;
    std::set<std::vector<std::byte>> blocks;
    for (const auto reducer : {Style::Reducer::pickle, Style::Reducer::forking}) {
      for (const bool optimized : {false, true}) {
        const Style style{reducer, optimized};
        const auto list = dumps_shareable_list("rq_pkl", protocol, style);
        lists.insert(list);
        EXPECT_EQ(loads(list).style, style);
        const auto block = dumps_shared_memory("rq_pk", 16, protocol, style);
        blocks.insert(block);
        EXPECT_EQ(loads(block).style, (Style{Style::Reducer::pickle, optimized}));
      }
    }
    EXPECT_EQ(lists.size(), 4u);
    EXPECT_EQ(blocks.size(), 2u);
  }
  EXPECT_EQ(to_string(Style::Reducer::pickle), "pickle");
  EXPECT_EQ(to_string(Style::Reducer::forking), "forking");
}

TEST(Pickle, DesignExampleBytes) {
  // CPython's pickle (docs/format.md), protocol 4 for SharedMemory("pk_demo", size 16).
  EXPECT_EQ(hex(dumps_shared_memory("pk_demo", 16)),
            "80049543000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f"
            "7279948c0c5368617265644d656d6f72799493948c07706b5f64656d6f94894b10879452942e");
}

TEST(Pickle, ExtraCPythonPicklesBothWays) {
  for (const auto& v : kExtraVectors) {
    for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
      SCOPED_TRACE(std::string(v.label) + " protocol " + std::to_string(protocol));
      const std::string want = v.hex[static_cast<std::size_t>(protocol)];
      EXPECT_EQ(hex(dumps_shared_memory(v.name, v.size, protocol)), want);
      const PickledHandle handle = loads(from_hex(want));
      EXPECT_EQ(handle,
                (PickledHandle{PickledHandle::Kind::shared_memory, v.name, v.size, protocol}));
    }
  }
}

TEST(Pickle, DefaultProtocolIsFour) {
  EXPECT_EQ(dumps_shared_memory("rq_pk", 16), dumps_shared_memory("rq_pk", 16, 4));
  EXPECT_EQ(dumps_shareable_list("rq_pkl"), dumps_shareable_list("rq_pkl", 4));
  EXPECT_EQ(PickledHandle{}.protocol, 4);
}

TEST(Pickle, ProtocolOutsideZeroToFiveIsRefused) {
  for (int protocol : {-1, 6, 100}) {
    EXPECT_THROW(dumps_shared_memory("rq_pk", 16, protocol), std::invalid_argument);
    EXPECT_THROW(dumps_shareable_list("rq_pk", protocol), std::invalid_argument);
    EXPECT_THROW(dumps(PickledHandle{PickledHandle::Kind::shareable_list, "rq_pk", {}, protocol}),
                 std::invalid_argument);
  }
}

TEST(Pickle, NamesCarriedAreAsciiWithoutNulOrSlash) {
  // Names CPython can use, some of which libshm itself refuses to create (':', newline, "."),
  // round-trip through a pickle.
  for (const std::string& name : {std::string(255, 'z'), std::string("a:b"), std::string("a\nb"),
                                  std::string("."), std::string("\x01\x7f"), std::string(" ")}) {
    for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
      const auto bytes = dumps_shared_memory(name, 1, protocol);
      EXPECT_EQ(loads(bytes).name, name);
      EXPECT_EQ(loads(dumps_shareable_list(name, protocol)).name, name);
    }
  }
  for (const std::string& name :
       {std::string(), std::string(256, 'z'), std::string("a/b"), std::string("/a"),
        std::string("a\0b", 3), std::string("caf\xc3\xa9")}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(check_picklable_name(name), std::invalid_argument);
    EXPECT_THROW(dumps_shared_memory(name, 16), std::invalid_argument);
    EXPECT_THROW(dumps_shareable_list(name), std::invalid_argument);
  }
}

TEST(Pickle, SharedMemoryHandleNeedsASize) {
  EXPECT_THROW(dumps(PickledHandle{PickledHandle::Kind::shared_memory, "rq_pk", {}, 4}),
               std::invalid_argument);
  EXPECT_EQ(dumps(PickledHandle{PickledHandle::Kind::shared_memory, "rq_pk", 16, 2}),
            dumps_shared_memory("rq_pk", 16, 2));
}

TEST(Pickle, KindNames) {
  EXPECT_EQ(to_string(PickledHandle::Kind::shared_memory), "shared_memory");
  EXPECT_EQ(to_string(PickledHandle::Kind::shareable_list), "shareable_list");
}

TEST(Pickle, ErrorCarriesOffsetAndProblem) {
  auto bytes = dumps_shared_memory("rq_pk", 16, 2);
  bytes.back() = std::byte{'!'};
  try {
    (void)loads(bytes);
    FAIL() << "accepted";
  } catch (const PickleError& e) {
    EXPECT_EQ(e.offset(), bytes.size() - 1);
    EXPECT_EQ(std::string(e.what()),
              "offset " + std::to_string(bytes.size() - 1) + ": " + e.problem());
    EXPECT_NE(e.problem().find("expected STOP"), std::string::npos) << e.what();
  }
  static_assert(std::is_base_of_v<std::invalid_argument, PickleError>);
}

TEST(Pickle, DumpsOfABlockIsDumpsOfItsNameAndSize) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(4097, cleanup.fresh());
  for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
    EXPECT_EQ(dumps(block, protocol), dumps_shared_memory(block.name(), 4097, protocol));
  }
  block.close();  // a closed handle keeps its name and size, as CPython's
  EXPECT_EQ(dumps(block), dumps_shared_memory(block.name(), 4097));
  block.unlink();
  SharedMemory moved = std::move(block);
  EXPECT_THROW(dumps(block), std::invalid_argument);  // NOLINT(bugprone-use-after-move)
}

TEST(Pickle, AttachThroughAPickleSeesTheBlock) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(16, cleanup.fresh(), {.track = false});
  std::memcpy(block.buf().data(), "pickled!", 8);
  for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
    auto attached = attach(loads(dumps(block, protocol)));
    EXPECT_EQ(attached.name(), block.name());
    EXPECT_EQ(attached.size(), 16u);
    EXPECT_EQ(std::memcmp(attached.buf().data(), "pickled!", 8), 0);
    EXPECT_FALSE(attached.tracked());  // libshm's policy: attaching does not track
    attached.buf()[8] = std::byte{42};
    EXPECT_EQ(block.buf()[8], std::byte{42});
  }
  block.unlink();
}

TEST(Pickle, AttachIgnoresThePickledSize) {
  // CPython: "a stream edited to say 99999 still gives size=16".
  BlockCleanup cleanup;
  auto block = SharedMemory::create(16, cleanup.fresh(), {.track = false});
  auto attached = attach(loads(dumps_shared_memory(block.name(), 99999)));
  EXPECT_EQ(attached.size(), 16u);
  block.unlink();
}

TEST(Pickle, AttachCanTrackWhenAsked) {
  BlockCleanup cleanup;
  auto block = SharedMemory::create(16, cleanup.fresh(), {.track = false});
  auto attached = attach(loads(dumps(block)), {.track = true});
  EXPECT_TRUE(attached.tracked());
  attached.unlink();  // unregisters too
}

TEST(Pickle, AttachToAGoneBlockIsNotFound) {
  const std::string name = test::unique_name();
  try {
    (void)attach(loads(dumps_shared_memory(name, 16)));
    FAIL() << "attached";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
}

TEST(Pickle, DumpsOfAListIsDumpsOfItsName) {
  BlockCleanup cleanup;
  auto list = ShareableList::create({1, std::string("a")}, {.name = cleanup.fresh()});
  for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
    EXPECT_EQ(dumps(list, protocol), dumps_shareable_list(list.name(), protocol));
  }
  list.shm().unlink();
}

TEST(Pickle, AttachListThroughAPickleSeesTheItems) {
  BlockCleanup cleanup;
  auto list = ShareableList::create({1, std::string("a"), None{}},
                                    {.name = cleanup.fresh(), .track = false});
  for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
    auto attached = attach_list(loads(dumps(list, protocol)));
    EXPECT_EQ(attached.name(), list.name());
    EXPECT_EQ(attached.items(), list.items());
    EXPECT_FALSE(attached.shm().tracked());  // libshm's policy: attaching does not track
    attached.set(0, std::int64_t{protocol});
    EXPECT_EQ(list.get(0), Item(std::int64_t{protocol}));
  }
  list.shm().unlink();
}

TEST(Pickle, AttachListToAGoneListIsNotFound) {
  try {
    (void)attach_list(loads(dumps_shareable_list(test::unique_name())));
    FAIL() << "attached";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
}

TEST(Pickle, AttachChecksTheKind) {
  EXPECT_THROW((void)attach(loads(dumps_shareable_list("rq_pkl"))), std::invalid_argument);
  EXPECT_THROW((void)attach_list(loads(dumps_shared_memory("rq_pk", 16))), std::invalid_argument);
}

TEST(Pickle, AttachRefusesNamesLibshmRefuses) {
  // A pickle may carry a name CPython accepts but whose block CPython's tracker mishandles.
  EXPECT_THROW((void)attach(loads(dumps_shared_memory("a:b", 16))), std::invalid_argument);
}

}  // namespace
}  // namespace shm::pickle
