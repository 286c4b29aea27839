// shm::pickle::loads on hostile input: pickles of other objects written by real CPython,
// truncation at every byte, every single-byte mutation, trailing bytes, wrong frame lengths,
// huge claimed lengths and deep nesting. Each is rejected with PickleError (or, for a
// mutation that happens to give another valid handle pickle, read exactly as dumps writes it);
// none may crash, hang or allocate what the input claims (run under ASan/UBSan too).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "libshm/hex.hpp"
#include "libshm/pickle.hpp"
#include "pickle_vectors.hpp"

namespace shm::pickle {
namespace {

using Bytes = std::vector<std::byte>;
using namespace std::string_literals;

Bytes raw(std::string_view text) {
  Bytes bytes(text.size());
  if (!text.empty()) std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

std::string text_of(const Bytes& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// PROTO `protocol`, then FRAME with the exact length of `body`, then `body`.
Bytes framed(int protocol, std::string_view body) {
  std::string out = "\x80";
  out += static_cast<char>(protocol);
  out += '\x95';
  std::uint64_t length = body.size();
  for (int i = 0; i < 8; ++i, length >>= 8) out += static_cast<char>(length & 0xff);
  out += body;
  return raw(out);
}

// The pickle after its PROTO and FRAME headers (protocol 4 and 5).
std::string body_of(const Bytes& pickle) {
  return text_of(pickle).substr(11);
}

::testing::AssertionResult rejected(const Bytes& data, std::string_view why = {}) {
  try {
    const PickledHandle handle = loads(data);
    return ::testing::AssertionFailure() << "accepted, as a " << to_string(handle.kind) << " '"
                                         << handle.name << "': " << to_hex(data);
  } catch (const PickleError& e) {
    if (std::string_view(e.what()).find(why) == std::string_view::npos) {
      return ::testing::AssertionFailure() << "rejected for another reason: " << e.what();
    }
    return ::testing::AssertionSuccess() << e.what();
  }
}

// loads either rejects `data` with PickleError or returns a handle that dumps to `data`
// exactly. Returns whether it was accepted. Any other exception fails the test.
bool rejected_or_exact(const Bytes& data) {
  try {
    const PickledHandle handle = loads(data);
    EXPECT_EQ(dumps(handle), data) << to_hex(data);
    EXPECT_NO_THROW(check_picklable_name(handle.name));
    return true;
  } catch (const PickleError&) {
    return false;
  }
}

// Pickles of objects that are not handles, or handles CPython would not write, made by real
// CPython 3.13.0 (3.8.18 gives the same bytes) with, for protocols 0 - 5:
//   class R:  __reduce__ returns (f, args)     # a stand-in for any malicious object
//   os_system          pickle.dumps(R(os.system, ('echo pwned',)), p)
//   eval               pickle.dumps(R(eval, ('1+1',)), p)
//   partial_os_system  pickle.dumps(functools.partial(os.system, name='rq_pkl'), p)  # the
//                      ShareableList shape with another callable
//   sm_create_true     pickle.dumps(R(SharedMemory, ('rq_pk', True, 16)), p)
//   sm_two_args        pickle.dumps(R(SharedMemory, ('rq_pk', False)), p)
//   sm_size_true       pickle.dumps(R(SharedMemory, ('rq_pk', False, True)), p)
//   sm_name_bytes      pickle.dumps(R(SharedMemory, (b'rq_pk', False, 16)), p)
//   sm_<other>         pickle.dumps(fake_shared_memory(name, size), p) (gen_vectors.py) with
//                      size -1, size 2**64, name 'rq_\xe9', '', 'a'*256, '/rq_slash', 'rq_\0x'
//   forking_partial_os_system       ForkingPickler.dumps(functools.partial(os.system,
//                                   name='rq_pkl'), p): the forking shape, another callable
//   optimized_os_system             pickletools.optimize(the os_system pickle)
//   optimized_partial_os_system     pickletools.optimize(the partial_os_system pickle)
//   optimized_forking_partial_eval  pickletools.optimize(ForkingPickler.dumps(
//                                   functools.partial(eval, name='rq_pkl'), p))
// Each row: the text the rejection must contain for protocols 0 - 3 and for 4 - 5.
struct HostileVector {
  const char* label;
  const char* why_0_to_3;
  const char* why_4_to_5;
  std::array<const char*, 6> hex;  // protocols 0 - 5
};
const HostileVector kHostileVectors[] = {
    {"os_system",
     "is not allowed: only",
     "is not allowed: only",
     {
         /* 0 */ "63706f7369780a73797374656d0a70300a28566563686f2070776e65640a70310a7470320a5270330"
                 "a2e",
         /* 1 */
         "63706f7369780a73797374656d0a710028580a0000006563686f2070776e656471017471025271032e",
         /* 2 */
         "800263706f7369780a73797374656d0a7100580a0000006563686f2070776e656471018571025271032e",
         /* 3 */
         "800363706f7369780a73797374656d0a7100580a0000006563686f2070776e656471018571025271032e",
         /* 4 */
         "80049525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e6564"
         "94859452942e",
         /* 5 */
         "80059525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e6564"
         "94859452942e",
     }},
    {"eval",
     "is not allowed: only",
     "is not allowed: only",
     {
         /* 0 */ "635f5f6275696c74696e5f5f0a6576616c0a70300a2856312b310a70310a7470320a5270330a2e",
         /* 1 */ "635f5f6275696c74696e5f5f0a6576616c0a7100285803000000312b3171017471025271032e",
         /* 2 */ "8002635f5f6275696c74696e5f5f0a6576616c0a71005803000000312b3171018571025271032e",
         /* 3 */ "8003636275696c74696e730a6576616c0a71005803000000312b3171018571025271032e",
         /* 4 */
         "8004951f000000000000008c086275696c74696e73948c046576616c9493948c03312b3194859452942e",
         /* 5 */
         "8005951f000000000000008c086275696c74696e73948c046576616c9493948c03312b3194859452942e",
     }},
    {"partial_os_system",
     "global 'posix.system' is not allowed here: expected "
     "'multiprocessing.shared_memory.ShareableList'",
     "global 'posix.system' is not allowed here: expected "
     "'multiprocessing.shared_memory.ShareableList'",
     {
         /* 0 */
         "6366756e63746f6f6c730a7061727469616c0a70300a2863706f7369780a73797374656d0a70310a7470"
         "320a5270330a2867310a2874286470340a566e616d650a70350a5672715f706b6c0a70360a734e747037"
         "0a622e",
         /* 1 */
         "6366756e63746f6f6c730a7061727469616c0a71002863706f7369780a73797374656d0a710174710252"
         "7103286801297d710458040000006e616d657105580600000072715f706b6c7106734e747107622e",
         /* 2 */
         "80026366756e63746f6f6c730a7061727469616c0a710063706f7369780a73797374656d0a7101857102"
         "527103286801297d710458040000006e616d657105580600000072715f706b6c7106734e747107622e",
         /* 3 */
         "80036366756e63746f6f6c730a7061727469616c0a710063706f7369780a73797374656d0a7101857102"
         "527103286801297d710458040000006e616d657105580600000072715f706b6c7106734e747107622e",
         /* 4 */
         "8004954b000000000000008c0966756e63746f6f6c73948c077061727469616c9493948c05706f736978"
         "948c0673797374656d94939485945294286805297d948c046e616d65948c0672715f706b6c94734e7494"
         "622e",
         /* 5 */
         "8005954b000000000000008c0966756e63746f6f6c73948c077061727469616c9493948c05706f736978"
         "948c0673797374656d94939485945294286805297d948c046e616d65948c0672715f706b6c94734e7494"
         "622e",
     }},
    {"sm_create_true",
     "the create flag is True",
     "the create flag is True",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a285672715f706b0a70310a4930310a4931360a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930310a4b107471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101884b108771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101884b108771025271032e",
         /* 4 */
         "80049541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94884b10879452942e",
         /* 5 */
         "80059541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94884b10879452942e",
     }},
    {"sm_two_args",
     "expected the size",
     "expected the size",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a285672715f706b0a70310a4930300a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930300a7471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898671025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898671025271032e",
         /* 4 */
         "8004953f000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b9489869452942e",
         /* 5 */
         "8005953f000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b9489869452942e",
     }},
    {"sm_negative_size",
     "the size is negative",
     "the size is negative",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a285672715f706b0a70310a4930300a492d310a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930300a4affffffff7471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101894affffffff8771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101894affffffff8771025271032e",
         /* 4 */
         "80049544000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94894affffffff879452942e",
         /* 5 */
         "80059544000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94894affffffff879452942e",
     }},
    {"sm_size_2_64",
     "does not fit 64 bits",
     "does not fit 64 bits",
     {
         /* 0 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a70300a285672715f706b0a70310a4930300a4c31383434363734343037333730393535313631364c"
         "0a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930300a4c3138343436373434303733373039353531363136"
         "4c0a7471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898a090000000000000000018771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b7101898a090000000000000000018771025271032e",
         /* 4 */
         "8004954a000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94898a0900000000000000000187945294"
         "2e",
         /* 5 */
         "8005954a000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b94898a0900000000000000000187945294"
         "2e",
     }},
    {"sm_name_nonascii",
     "non-ASCII",
     "non-ASCII",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a285672715fe90a70310a4930300a4931360a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715fc3a971014930300a4b107471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715fc3a97101894b108771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715fc3a97101894b108771025271032e",
         /* 4 */
         "80049541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715fc3a994894b10879452942e",
         /* 5 */
         "80059541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715fc3a994894b10879452942e",
     }},
    {"sm_name_empty",
     "the name is empty",
     "the name is empty",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a28560a70310a4930300a4931360a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580000000071014930300a4b107471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a710058000000007101894b108771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a710058000000007101894b108771025271032e",
         /* 4 */
         "8004953c000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0094894b10879452942e",
         /* 5 */
         "8005953c000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0094894b10879452942e",
     }},
    {"sm_name_256",
     "longer than 255 bytes",
     "expected SHORT_BINUNICODE (the block's name), found BINUNICODE",
     {
         /* 0 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a70300a28566161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "61616161616161616161610a70310a4930300a4931360a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a71002858000100006161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616171014930300a4b107471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580001000061616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "6161616161616161616161616161617101894b108771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580001000061616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "6161616161616161616161616161617101894b108771025271032e",
         /* 4 */
         "8004953f010000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f7279949394580001000061616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "61616161616161616161616161616161616161616161616161616194894b10879452942e",
         /* 5 */
         "8005953f010000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f7279949394580001000061616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
         "61616161616161616161616161616161616161616161616161616194894b10879452942e",
     }},
    {"sm_name_slash",
     "'/' at byte 0",
     "'/' at byte 0",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a28562f72715f736c6173680a70310a4930300a4931360a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a71002858090000002f72715f736c61736871014930300a4b107471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a710058090000002f72715f736c6173687101894b108771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a710058090000002f72715f736c6173687101894b108771025271032e",
         /* 4 */
         "80049545000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c092f72715f736c61736894894b10879452942e",
         /* 5 */
         "80059545000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c092f72715f736c61736894894b10879452942e",
     }},
    {"sm_name_nul",
     "embedded NUL at byte 3",
     "embedded NUL at byte 3",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a285672715f5c7530303030780a70310a4930300a4931360a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f007871014930300a4b107471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f00787101894b108771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f00787101894b108771025271032e",
         /* 4 */
         "80049541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f007894894b10879452942e",
         /* 5 */
         "80059541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f007894894b10879452942e",
     }},
    {"sm_size_true",
     "the size",
     "expected the size (an integer), found NEWTRUE",
     {
         /* 0 */ "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6"
                 "f72"
                 "790a70300a285672715f706b0a70310a4930300a4930310a7470320a5270330a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028580500000072715f706b71014930300a4930310a7471025271032e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b710189888771025271032e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100580500000072715f706b710189888771025271032e",
         /* 4 */
         "80049540000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b948988879452942e",
         /* 5 */
         "80059540000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f72799493948c0572715f706b948988879452942e",
     }},
    {"sm_name_bytes",
     "(the block's name), found",
     "(the block's name), found",
     {
         /* 0 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a70300a28635f636f646563730a656e636f64650a70310a285672715f706b0a70320a566c6174696e"
         "310a70330a7470340a5270350a4930300a4931360a7470360a5270370a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72"
         "790a710028635f636f646563730a656e636f64650a710128580500000072715f706b710258060000006c"
         "6174696e3171037471045271054930300a4b107471065271072e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100635f636f646563730a656e636f64650a7101580500000072715f706b710258060000006c"
         "6174696e317103867104527105894b108771065271072e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d"
         "6f72790a7100430572715f706b7101894b108771025271032e",
         /* 4 */
         "80049541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f7279949394430572715f706b94894b10879452942e",
         /* 5 */
         "80059541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279"
         "948c0c5368617265644d656d6f7279949394430572715f706b94894b10879452942e",
     }},
    {"forking_partial_os_system",
     "is not allowed",
     "is not allowed",
     {
         /* 0 */
         "636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f706172746961"
         "6c0a70300a2863706f7369780a73797374656d0a70310a2874286470320a566e616d650a70330a567271"
         "5f706b6c0a70340a737470350a5270360a2e",
         /* 1 */
         "636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f706172746961"
         "6c0a71002863706f7369780a73797374656d0a7101297d710258040000006e616d657103580600000072"
         "715f706b6c7104737471055271062e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f70617274"
         "69616c0a710063706f7369780a73797374656d0a7101297d710258040000006e616d6571035806000000"
         "72715f706b6c7104738771055271062e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f70617274"
         "69616c0a710063706f7369780a73797374656d0a7101297d710258040000006e616d6571035806000000"
         "72715f706b6c7104738771055271062e",
         /* 4 */
         "8004955d000000000000008c196d756c746970726f63657373696e672e726564756374696f6e948c105f"
         "72656275696c645f7061727469616c9493948c05706f736978948c0673797374656d949394297d948c04"
         "6e616d65948c0672715f706b6c9473879452942e",
         /* 5 */
         "8005955d000000000000008c196d756c746970726f63657373696e672e726564756374696f6e948c105f"
         "72656275696c645f7061727469616c9493948c05706f736978948c0673797374656d949394297d948c04"
         "6e616d65948c0672715f706b6c9473879452942e",
     }},
    {"optimized_os_system",
     "is not allowed",
     "is not allowed",
     {
         /* 0 */
         "63706f7369780a73797374656d0a28566563686f2070776e65640a74522e",
         /* 1 */
         "63706f7369780a73797374656d0a28580a0000006563686f2070776e656474522e",
         /* 2 */
         "800263706f7369780a73797374656d0a580a0000006563686f2070776e656485522e",
         /* 3 */
         "800363706f7369780a73797374656d0a580a0000006563686f2070776e656485522e",
         /* 4 */
         "8004951f000000000000008c05706f7369788c0673797374656d938c0a6563686f2070776e656485522e",
         /* 5 */
         "8005951f000000000000008c05706f7369788c0673797374656d938c0a6563686f2070776e656485522e",
     }},
    {"optimized_partial_os_system",
     "is not allowed",
     "is not allowed",
     {
         /* 0 */
         "6366756e63746f6f6c730a7061727469616c0a2863706f7369780a73797374656d0a70300a7452286730"
         "0a28742864566e616d650a5672715f706b6c0a734e74622e",
         /* 1 */
         "6366756e63746f6f6c730a7061727469616c0a2863706f7369780a73797374656d0a7100745228680029"
         "7d58040000006e616d65580600000072715f706b6c734e74622e",
         /* 2 */
         "80026366756e63746f6f6c730a7061727469616c0a63706f7369780a73797374656d0a71008552286800"
         "297d58040000006e616d65580600000072715f706b6c734e74622e",
         /* 3 */
         "80036366756e63746f6f6c730a7061727469616c0a63706f7369780a73797374656d0a71008552286800"
         "297d58040000006e616d65580600000072715f706b6c734e74622e",
         /* 4 */
         "80049540000000000000008c0966756e63746f6f6c738c077061727469616c938c05706f7369788c0673"
         "797374656d93948552286800297d8c046e616d658c0672715f706b6c734e74622e",
         /* 5 */
         "80059540000000000000008c0966756e63746f6f6c738c077061727469616c938c05706f7369788c0673"
         "797374656d93948552286800297d8c046e616d658c0672715f706b6c734e74622e",
     }},
    {"optimized_forking_partial_eval",
     "is not allowed",
     "is not allowed",
     {
         /* 0 */
         "636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f706172746961"
         "6c0a28635f5f6275696c74696e5f5f0a6576616c0a28742864566e616d650a5672715f706b6c0a737452"
         "2e",
         /* 1 */
         "636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f706172746961"
         "6c0a28635f5f6275696c74696e5f5f0a6576616c0a297d58040000006e616d65580600000072715f706b"
         "6c7374522e",
         /* 2 */
         "8002636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f70617274"
         "69616c0a635f5f6275696c74696e5f5f0a6576616c0a297d58040000006e616d65580600000072715f70"
         "6b6c7387522e",
         /* 3 */
         "8003636d756c746970726f63657373696e672e726564756374696f6e0a5f72656275696c645f70617274"
         "69616c0a636275696c74696e730a6576616c0a297d58040000006e616d65580600000072715f706b6c73"
         "87522e",
         /* 4 */
         "80049553000000000000008c196d756c746970726f63657373696e672e726564756374696f6e8c105f72"
         "656275696c645f7061727469616c938c086275696c74696e738c046576616c93297d8c046e616d658c06"
         "72715f706b6c7387522e",
         /* 5 */
         "80059553000000000000008c196d756c746970726f63657373696e672e726564756374696f6e8c105f72"
         "656275696c645f7061727469616c938c086275696c74696e738c046576616c93297d8c046e616d658c06"
         "72715f706b6c7387522e",
     }},
};

TEST(PickleHostile, CPythonPicklesOfOtherObjectsAreRejected) {
  int count = 0;
  for (const auto& v : kHostileVectors) {
    for (std::size_t protocol = 0; protocol < 6; ++protocol) {
      SCOPED_TRACE(std::string(v.label) + " protocol " + std::to_string(protocol));
      EXPECT_TRUE(rejected(from_hex(v.hex[protocol]), protocol < 4 ? v.why_0_to_3 : v.why_4_to_5));
      ++count;
    }
  }
  RecordProperty("hostile_cpython_pickles", count);
}

TEST(PickleHostile, ForeignGlobalIsNamedWithItsOffset) {
  const auto& os_system = kHostileVectors[0];
  ASSERT_EQ(std::string(os_system.label), "os_system");
  for (std::size_t protocol = 0; protocol < 6; ++protocol) {
    try {
      (void)loads(from_hex(os_system.hex[protocol]));
      ADD_FAILURE() << "accepted";
    } catch (const PickleError& e) {
      EXPECT_EQ(e.offset(), protocol < 2 ? 0u : protocol < 4 ? 2u : 11u);
      EXPECT_EQ(e.problem(),
                "global 'posix.system' is not allowed: only multiprocessing.shared_memory."
                "SharedMemory, functools.partial and multiprocessing.reduction._rebuild_partial "
                "(of multiprocessing.shared_memory.ShareableList) make a handle");
    }
  }
}

TEST(PickleHostile, TruncationAtEveryByteIsRejected) {
  std::size_t count = 0;
  for (const auto& hex : test::distinct_vector_pickles()) {
    const Bytes whole = from_hex(hex);
    for (std::size_t n = 0; n < whole.size(); ++n) {
      const Bytes prefix(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
      ASSERT_TRUE(rejected(prefix)) << "prefix of " << n << " bytes of " << hex;
      ++count;
    }
  }
  RecordProperty("truncations", static_cast<int>(count));
}

TEST(PickleHostile, BytesAfterStopAreRejected) {
  for (const auto& hex : test::distinct_vector_pickles()) {
    const Bytes whole = from_hex(hex);
    for (const std::string& tail : {std::string(1, '\0'), std::string("."), std::string("\n"),
                                    std::string(1000, '('), text_of(whole)}) {
      const Bytes extra = raw(tail);
      Bytes longer = whole;
      longer.insert(longer.end(), extra.begin(), extra.end());
      ASSERT_TRUE(rejected(longer, "more bytes after STOP")) << hex;
    }
  }
}

TEST(PickleHostile, WrongFrameLengthIsRejected) {
  int count = 0;
  for (const auto& hex : test::distinct_vector_pickles()) {
    const Bytes whole = from_hex(hex);
    if (whole[0] != std::byte{0x80} || whole[1] < std::byte{4}) continue;
    const std::uint64_t length = whole.size() - 11;
    for (std::uint64_t wrong :
         {length - 1, length + 1, std::uint64_t{0}, std::uint64_t{1} << 62, ~std::uint64_t{0}}) {
      Bytes changed = whole;
      for (int i = 0; i < 8; ++i)
        changed[3 + i] = static_cast<std::byte>((wrong >> (8 * i)) & 0xff);
      ASSERT_TRUE(rejected(changed)) << wrong << " for " << hex;
      ++count;
    }
  }
  EXPECT_GT(count, 0);
}

TEST(PickleHostile, FrameLongerThanTheInputSaysSo) {
  Bytes changed = dumps_shared_memory("rq_pk", 16);
  changed[10] = std::byte{0x80};  // 2**63 + 65
  EXPECT_TRUE(rejected(changed, "FRAME says 9223372036854775873 bytes follow, but only 65 do"));
}

// Every value of every byte of a few vectors: each result is rejected or is exactly the
// pickle of the handle it reads as (a changed name character, say).
TEST(PickleHostile, EverySingleByteMutation) {
  std::size_t accepted = 0;
  std::size_t total = 0;
  for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
    for (const Bytes& original :
         {dumps_shared_memory("rq_pk", 16, protocol), dumps_shareable_list("rq_pkl", protocol),
          dumps_shared_memory("ctl\t\\\r\x1a", (std::uint64_t{1} << 63) - 1, protocol),
          dumps_shareable_list("rq_pkl", protocol, {Style::Reducer::forking, false}),
          dumps_shareable_list("rq_pkl", protocol, {Style::Reducer::pickle, true})}) {
      for (std::size_t at = 0; at < original.size(); ++at) {
        for (int value = 0; value < 256; ++value) {
          if (std::byte(value) == original[at]) continue;
          Bytes mutated = original;
          mutated[at] = std::byte(value);
          accepted += rejected_or_exact(mutated) ? 1 : 0;
          ++total;
        }
      }
    }
  }
  RecordProperty("mutations", static_cast<int>(total));
  RecordProperty("mutations_accepted", static_cast<int>(accepted));
  EXPECT_GT(accepted, 0u);  // name characters and size bits
  EXPECT_LT(accepted, total / 10);
}

TEST(PickleHostile, EveryDeletionAndInsertion) {
  for (const auto& hex : test::distinct_vector_pickles()) {
    const Bytes whole = from_hex(hex);
    for (std::size_t at = 0; at < whole.size(); ++at) {
      Bytes shorter = whole;
      shorter.erase(shorter.begin() + static_cast<std::ptrdiff_t>(at));
      rejected_or_exact(shorter);
      for (std::byte b : {std::byte{'('}, std::byte{0}, std::byte{'\n'}, std::byte{0x94}}) {
        Bytes longer = whole;
        longer.insert(longer.begin() + static_cast<std::ptrdiff_t>(at), b);
        rejected_or_exact(longer);
      }
    }
  }
}

TEST(PickleHostile, DeepNestingIsRejectedAtOnce) {
  const std::string marks(200000, '(');
  const std::string lists(200000, ']');
  EXPECT_TRUE(rejected(raw(marks), "offset 0: expected GLOBAL, found MARK"));
  EXPECT_TRUE(rejected(raw("\x80\x02" + lists), "offset 2: expected GLOBAL, found EMPTY_LIST"));
  EXPECT_TRUE(rejected(framed(4, marks), "offset 11: expected SHORT_BINUNICODE"));
  EXPECT_TRUE(rejected(framed(5, lists + "."), "offset 11: expected SHORT_BINUNICODE"));
  // After a valid start: the name's place holds thousands of MARKs.
  const std::string start = body_of(dumps_shared_memory("rq_pk", 16)).substr(0, 49);
  EXPECT_TRUE(rejected(framed(4, start + marks), "expected SHORT_BINUNICODE (the block's name)"));
  const std::string text_start = "cmultiprocessing.shared_memory\nSharedMemory\np0\n";
  EXPECT_TRUE(rejected(raw(text_start + marks), "expected UNICODE (the block's name)"));
}

TEST(PickleHostile, HugeClaimedLengthsAreCheckedBeforeUse) {
  const std::string sm4 = body_of(dumps_shared_memory("rq_pk", 16, 4));
  const std::size_t name_at = sm4.find("\x8c\x05rq_pk");
  ASSERT_NE(name_at, std::string::npos);
  const std::string before = sm4.substr(0, name_at);
  const std::string after = sm4.substr(name_at + 7);
  // BINUNICODE8 of 2**62 bytes where the name goes.
  const std::string u8_length("\x00\x00\x00\x00\x00\x00\x00\x40", 8);
  EXPECT_TRUE(rejected(framed(4, before + "\x8d" + u8_length + "rq_pk" + after),
                       "expected SHORT_BINUNICODE (the block's name), found BINUNICODE8"));
  // SHORT_BINUNICODE of 255 bytes with 5 there.
  EXPECT_TRUE(rejected(framed(4, before + "\x8c\xffrq_pk"),
                       "SHORT_BINUNICODE's string needs 255 bytes, but only 5 remain before "
                       "the end of the frame"));
  // BINUNICODE of 4 GiB - 1 in protocol 2.
  const std::string sm2 = text_of(dumps_shared_memory("rq_pk", 16, 2));
  const std::size_t x_at = sm2.find("X\x05\x00\x00\x00"s);
  ASSERT_NE(x_at, std::string::npos);
  EXPECT_TRUE(rejected(raw(sm2.substr(0, x_at) + "X\xff\xff\xff\xffrq_pk"),
                       "BINUNICODE's string needs 4294967295 bytes, but only 5 remain"));
  // LONG1 of 255 bytes for the size.
  const std::size_t k_at = sm2.find("\x89K\x10");
  ASSERT_NE(k_at, std::string::npos);
  EXPECT_TRUE(rejected(raw(sm2.substr(0, k_at) + "\x89\x8a\xff\x01\x02"),
                       "LONG1's number needs 255 bytes, but only 2 remain"));
  // LONG1 of 200 real bytes: a number far beyond 64 bits.
  EXPECT_TRUE(rejected(
      raw(sm2.substr(0, k_at) + "\x89\x8a\xc8" + std::string(200, '\x7f') + "\x87q\x02Rq\x03."),
      "the size does not fit 64 bits"));
  // FRAME of 2**63 and 2**64 - 1 bytes.
  for (const char* length :
       {"\x00\x00\x00\x00\x00\x00\x00\x80", "\xff\xff\xff\xff\xff\xff\xff\xff"}) {
    EXPECT_TRUE(rejected(raw("\x80\x04\x95" + std::string(length, 8) + sm4), "FRAME says"));
  }
}

TEST(PickleHostile, LongInputsAreRejectedWithoutCopying) {
  const std::string huge(8 << 20, 'a');
  // A GLOBAL line without end.
  EXPECT_TRUE(rejected(raw("c" + huge), "GLOBAL's module has no newline"));
  // A protocol 0 name of 8 MiB.
  EXPECT_TRUE(rejected(raw("cmultiprocessing.shared_memory\nSharedMemory\np0\n(V" + huge + "\n"),
                       "longer than 255 bytes"));
  // A protocol 2 name of 8 MiB that is really there.
  const std::string length = "\x00\x00\x80\x00"s;  // 8 MiB little-endian
  EXPECT_TRUE(rejected(raw("\x80\x02"s + "cmultiprocessing.shared_memory\nSharedMemory\nq\x00X"s +
                           length + huge + "q\x01\x89K\x10\x87q\x02Rq\x03."),
                       "longer than 255 bytes (8388608)"));
}

TEST(PickleHostile, NonCanonicalEncodingsAreRejected) {
  const std::string sm2 = text_of(dumps_shared_memory("rq_pk", 16, 2));
  const std::size_t k_at = sm2.find("\x89K\x10");
  const std::string head = sm2.substr(0, k_at + 1);
  const std::string tail = sm2.substr(k_at + 3);
  // 16 as BININT2, BININT, LONG1, INT: all mean 16, none is what CPython writes.
  for (const std::string& sixteen :
       {std::string("M\x10\x00", 3), std::string("J\x10\x00\x00\x00", 5),
        std::string("\x8a\x01\x10", 3), std::string("\x8a\x02\x10\x00", 4), std::string("I16\n")}) {
    EXPECT_TRUE(rejected(raw(head + sixteen + tail),
                         "the size 16 is not written as CPython writes it (4b10)"));
  }
  // Protocol 0 names: escapes CPython does not write, and characters it escapes left raw.
  const std::string sm0 = text_of(dumps_shared_memory("rq_pk", 16, 0));
  const std::size_t v_at = sm0.find("Vrq_pk\n");
  for (const std::string& name : {std::string("\\u0072q_pk"), std::string("rq\\U0000005fpk"),
                                  std::string("rq_pk\r"), std::string("rq\x1apk")}) {
    EXPECT_TRUE(rejected(raw(sm0.substr(0, v_at) + "V" + name + sm0.substr(v_at + 6)),
                         "is not written as CPython writes it"))
        << name;
  }
  EXPECT_TRUE(rejected(raw(sm0.substr(0, v_at) + "Vrq\\pk" + sm0.substr(v_at + 6)),
                       "a backslash in the name that starts no \\u escape"));
  EXPECT_TRUE(rejected(raw(sm0.substr(0, v_at) + "Vrq\\u00e9" + sm0.substr(v_at + 6)),
                       "non-ASCII character U+00E9"));
  EXPECT_TRUE(rejected(raw(sm0.substr(0, v_at) + "Vrq\\u00" + sm0.substr(v_at + 6)), "cut short"));
  EXPECT_TRUE(
      rejected(raw(sm0.substr(0, v_at) + "Vrq\\u00zz" + sm0.substr(v_at + 6)), "non-hex digit"));
  // Memo indices other than CPython's.
  std::string memo = sm2;
  memo[memo.find("q\x01")] = 'r';  // LONG_BINPUT
  EXPECT_TRUE(rejected(raw(memo), "expected BINPUT 1, found LONG_BINPUT"));
  memo = sm2;
  memo[memo.find("q\x01") + 1] = '\x07';
  EXPECT_TRUE(rejected(raw(memo), "expected BINPUT 1, found BINPUT (7107)"));
  std::string list4 = text_of(dumps_shareable_list("rq_pkl", 4));
  list4[list4.find("h\x05") + 1] = '\x04';  // BINGET of the wrong memo entry
  EXPECT_TRUE(rejected(raw(list4), "expected BINGET 5"));
}

TEST(PickleHostile, ProtocolHeaders) {
  const std::string sm0 = text_of(dumps_shared_memory("rq_pk", 16, 0));
  EXPECT_TRUE(rejected(raw(""), "offset 0: no data"));
  EXPECT_TRUE(rejected(raw("\x80"), "PROTO's protocol number needs 1 bytes"));
  for (int protocol : {0, 1, 6, 255}) {
    std::string p = "\x80";
    p += static_cast<char>(protocol);
    EXPECT_TRUE(rejected(raw(p + sm0), "offset 1: protocol " + std::to_string(protocol)));
  }
  // Protocol 4 without FRAME, and protocol 2 with one.
  const Bytes sm4 = dumps_shared_memory("rq_pk", 16, 4);
  EXPECT_TRUE(rejected(raw("\x80\x04" + body_of(sm4)), "offset 2: expected FRAME"));
  EXPECT_TRUE(rejected(framed(2, text_of(dumps_shared_memory("rq_pk", 16, 2)).substr(2)),
                       "expected GLOBAL, found FRAME"));
  // Protocol 3 bytes labelled 4 and the reverse.
  std::string relabelled = text_of(dumps_shared_memory("rq_pk", 16, 3));
  relabelled[1] = '\x04';
  EXPECT_TRUE(rejected(raw(relabelled), "expected FRAME"));
}

TEST(PickleHostile, CreateTrueInEveryProtocol) {
  for (int protocol = 0; protocol <= kHighestProtocol; ++protocol) {
    std::string text = text_of(dumps_shared_memory("rq_pk", 16, protocol));
    if (protocol < 2) {
      text.replace(text.find("I00\n"), 4, "I01\n");
    } else {
      text[text.find('\x89')] = '\x88';
    }
    EXPECT_TRUE(rejected(raw(text), "the create flag is True")) << protocol;
  }
}

TEST(PickleHostile, RandomInputs) {
  // A small deterministic fuzz: random bytes, and valid pickles with random bytes overwritten.
  std::mt19937_64 random(20240601);
  const auto pickles = test::distinct_vector_pickles();
  std::size_t accepted = 0;
  for (int round = 0; round < 40000; ++round) {
    Bytes data;
    if (round % 2 == 0) {
      data.resize(random() % 300);
      for (auto& b : data) b = static_cast<std::byte>(random() & 0xff);
      if (round % 4 == 0 && data.size() >= 2) {
        data[0] = std::byte{0x80};
        data[1] = static_cast<std::byte>(random() % 6);
      }
    } else {
      data = from_hex(pickles[random() % pickles.size()]);
      for (int n = static_cast<int>(random() % 4) + 1; n > 0; --n) {
        data[random() % data.size()] = static_cast<std::byte>(random() & 0xff);
      }
    }
    accepted += rejected_or_exact(data) ? 1 : 0;
  }
  RecordProperty("random_accepted", static_cast<int>(accepted));
}

}  // namespace
}  // namespace shm::pickle
