"""Drives the real pyshm binary (path in $PYSHM) against real blocks, some made by CPython.

Run by ctest with the system python3: python3 -m unittest test_pyshm.
"""
import json
import os
import secrets
import struct
import subprocess
import sys
import unittest
from multiprocessing import resource_tracker, shared_memory

PYSHM = os.environ["PYSHM"]
SHM_DIR = "/dev/shm"

ALL_TYPES = [0, -1, 2**63 - 1, -2**63, 2.5, -0.0, 1e300, {"float": "nan"}, {"float": "inf"},
             {"float": "-inf"}, True, False, None, "", "text", "é€😀", "x" * 40,
             {"bytes": ""}, {"bytes": "00ff10"}, {"bytes": "61" * 17}]


def pyshm(*args, stdin=None):
    return subprocess.run([PYSHM, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def fresh_name():
    return "clitest_" + secrets.token_hex(6)


def write_block(name, data):
    """A block with exactly these bytes, made without any library."""
    with open(os.path.join(SHM_DIR, name), "wb") as f:
        f.write(data)


def list_block_39(items_packed, formats, codes, sizes):
    """Raw 3.9+ layout from parts, for building corrupted lists by hand."""
    n = len(sizes)
    offsets = [0]
    for s in sizes:
        offsets.append(offsets[-1] + s)
    return (struct.pack("q", n) + struct.pack("%dq" % (n + 1), *offsets) + items_packed
            + b"".join(f.ljust(8, b"\0") for f in formats) + bytes(codes))


class PyshmTest(unittest.TestCase):
    def setUp(self):
        self.names = []

    def tearDown(self):
        for name in self.names:
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except FileNotFoundError:
                pass

    def name(self):
        n = fresh_name()
        self.names.append(n)
        return n

    def ok(self, *args, stdin=None):
        r = pyshm(*args, stdin=stdin)
        self.assertEqual(r.returncode, 0, "pyshm %s failed: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def fails(self, *args, code=1):
        r = pyshm(*args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        if code == 1:
            self.assertTrue(r.stderr.startswith("pyshm: "), r.stderr)
        return r.stderr

    def stdlib_attach(self, name):
        sl = shared_memory.ShareableList(name=name)
        # gh-82300: this process only looks; don't let its tracker unlink the block.
        resource_tracker.unregister(sl.shm._name, "shared_memory")
        return sl

    # create-list → dump --json, every type, both layouts

    def test_round_trip_every_item_type(self):
        for layout in ("3.9", "3.8"):
            with self.subTest(layout=layout):
                name = self.name()
                out = self.ok("create-list", "--name", name, "--layout", layout,
                              json.dumps(ALL_TYPES))
                self.assertEqual(out, name + "\n")
                dumped = json.loads(self.ok("dump", name, "--json"))
                self.assertEqual(dumped["items"], ALL_TYPES)
                self.assertEqual(dumped["name"], name)
                self.assertEqual(dumped["layout"], "3.9+" if layout == "3.9" else "3.8")
                self.assertEqual(dumped["size"], os.stat(os.path.join(SHM_DIR, name)).st_size)

    def test_create_list_reads_stdin_and_makes_a_random_name(self):
        out = self.ok("create-list", "-", stdin="[1, \"a\"]")
        name = out.strip()
        self.names.append(name)
        self.assertRegex(name, r"^psm_[0-9a-f]{8}$")
        self.assertEqual(json.loads(self.ok("dump", name, "--json"))["items"], [1, "a"])

    def test_created_list_is_what_cpython_reads(self):
        name = self.name()
        self.ok("create-list", "--name", name, '[1, 2.5, true, null, "ab", {"bytes": "7879"}]')
        sl = self.stdlib_attach(name)
        try:
            self.assertEqual(list(sl), [1, 2.5, True, None, "ab", b"xy"])
            self.assertEqual(sl.format, "qdxxxxxxx?xxxxxx?x8s8s")
        finally:
            sl.shm.close()

    def test_cpython_made_list_dumps_to_what_cpython_reads(self):
        name = self.name()
        values = [7, -1.5, False, None, "howdy", b"\x00HoWdY\x00", "é" * 8]
        sl = shared_memory.ShareableList(values, name=name)
        try:
            dumped = json.loads(self.ok("dump", name, "--json"))
            expected = [7, -1.5, False, None, "howdy", {"bytes": "00486f576459"}, "é" * 8]
            self.assertEqual(dumped["items"], expected)
            self.assertEqual([sl[i] for i in range(len(sl))][:5], values[:5])
            self.assertEqual(dumped["format"], sl.format)
            table = self.ok("dump", name)
            self.assertIn("'howdy'", table)
            self.assertIn("b'\\x00HoWdY'", table)
            self.assertEqual(json.loads(self.ok("get", name, "-1")), "é" * 8)
        finally:
            sl.shm.close()
            sl.shm.unlink()

    def test_dump_table_escapes_as_the_chosen_cpython(self):
        # U+31EF is printable from Unicode 15.1 (CPython 3.13) on; U+0600 (Cf) never is.
        name = self.name()
        self.ok("create-list", "--name", name, '["a\\u31efb\\u0600"]')
        newest = self.ok("dump", name)
        self.assertIn("'a\u31efb\\u0600'", newest)
        self.assertEqual(newest, self.ok("dump", name, "--python", "3.13"))
        self.assertIn("'a\\u31efb\\u0600'", self.ok("dump", name, "--python", "3.12"))
        self.assertNotEqual(pyshm("dump", name, "--python", "3.7").returncode, 0)

    # get / set / create / rm

    def test_get_set_change_types_and_cpython_sees_them(self):
        name = self.name()
        self.ok("create-list", "--name", name, '[1, "abcdefgh", null]')
        self.ok("set", name, "0", '"xy"')
        self.ok("set", name, "-1", "2.25")
        self.ok("set", name, "1", '{"bytes": "ff"}')
        self.assertEqual(json.loads(self.ok("get", name, "0")), "xy")
        sl = self.stdlib_attach(name)
        try:
            self.assertEqual(list(sl), ["xy", b"\xff", 2.25])
        finally:
            sl.shm.close()
        err = self.fails("set", name, "0", '"too long for eight"')
        self.assertIn("exceeds available storage", err)
        self.assertEqual(json.loads(self.ok("get", name, "0")), "xy")  # unchanged
        self.assertIn("out of range", self.fails("get", name, "3"))
        self.assertIn("out of range", self.fails("get", name, "-4"))
        self.assertIn("INDEX must be an integer", self.fails("get", name, "zero"))

    def test_strict_refuses_trailing_nul(self):
        name = self.name()
        self.fails("create-list", "--strict", "--name", name, '["a\\u0000"]')
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, name)))

    def test_create_raw_block_and_rm(self):
        name = self.name()
        self.assertEqual(self.ok("create", name, "--size", "100"), name + "\n")
        self.assertEqual(os.stat(os.path.join(SHM_DIR, name)).st_size, 100)
        raw = subprocess.run([PYSHM, "dump", name, "--raw"], capture_output=True).stdout
        self.assertEqual(raw, bytes(100))
        self.fails("create", name, "--size", "100")  # exists
        other = self.name()
        write_block(other, b"")  # 0 bytes: cannot be mapped, can be removed
        self.ok("rm", name, other)
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, name)))
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, other)))
        self.assertIn("No such file", self.fails("rm", name))

    # check, on good and corrupted blocks

    def test_check_accepts_lists_of_both_layouts(self):
        for layout in ("3.9", "3.8"):
            name = self.name()
            self.ok("create-list", "--name", name, "--layout", layout, '[1, "a"]')
            self.assertIn("valid ShareableList", self.ok("check", name))

    def test_check_rejects_corrupted_blocks_with_a_reason(self):
        good = list_block_39(struct.pack("q", 5) + b"ab".ljust(8, b"\0"), [b"q", b"8s"], [0, 1],
                             [8, 8])
        cases = {
            "truncated": good[:-5],
            "tiny": b"\x01\x00",
            "huge-count": struct.pack("q", 2**40) + good[8:],
            "negative-count": struct.pack("q", -1) + good[8:],
            "offsets-decreasing": good[:16] + struct.pack("q", 16) + struct.pack("q", 8) + good[32:],
            "offset-past-end": good[:24] + struct.pack("q", 10**6) + good[32:],
            "bad-format": good.replace(b"8s\0\0\0\0\0\0", b"10000000"),
            "unknown-code": good[:-1] + b"\x09",
            "garbage": secrets.token_bytes(64),
        }
        for label, data in cases.items():
            with self.subTest(label):
                name = self.name()
                write_block(name, data)
                r = pyshm("check", name)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertTrue(r.stderr.startswith("pyshm: "), r.stderr)
                self.assertIn("not a valid ShareableList", r.stderr)
                self.assertNotEqual(r.returncode, -11)
                # --hex still works on anything; dump (table) reports the same failure.
                self.assertEqual(pyshm("dump", name, "--hex").returncode, 0)
                self.assertEqual(pyshm("dump", name).returncode, 1)

    # ls

    def test_ls_identifies_lists_of_both_layouts_and_raw_blocks(self):
        l39, l38, raw = self.name(), self.name(), self.name()
        self.ok("create-list", "--name", l39, "[1]")
        self.ok("create-list", "--name", l38, "--layout", "3.8", "[1]")
        self.ok("create", raw, "--size", "64")
        kinds = {b["name"]: b for b in json.loads(self.ok("ls", "--json"))}
        self.assertEqual(kinds[l39]["kind"], "shareable-list 3.9+")
        self.assertEqual(kinds[l38]["kind"], "shareable-list 3.8")
        self.assertEqual(kinds[raw]["kind"], "raw")
        self.assertEqual(kinds[raw]["size"], 64)
        self.assertEqual(kinds[raw]["mode"] & 0o777, 0o600 & ~current_umask())
        table = self.ok("ls")
        self.assertIn(l39, table)
        self.assertIn("shareable-list 3.8", table)

    def test_hex_dump_labels_the_regions(self):
        name = self.name()
        self.ok("create-list", "--name", name, '[1, "ab", null]')
        dump = self.ok("dump", name, "--hex")
        for label in ("count", "offsets", "data", "formats", "codes"):
            self.assertIn(label, dump)
        self.assertTrue(dump.startswith("00000000: 03 00 00 00 00 00 00 00"), dump)

    # pickle / unpickle

    def test_pickle_matches_cpython_for_every_protocol(self):
        import pickle
        name = self.name()
        shm = shared_memory.SharedMemory(name, create=True, size=300)
        try:
            for protocol in range(6):
                with self.subTest(protocol=protocol):
                    out = self.ok("pickle", name, "--protocol", str(protocol)).strip()
                    self.assertEqual(out, pickle.dumps(shm, protocol=protocol).hex())
            self.assertEqual(self.ok("pickle", name).strip(), pickle.dumps(shm, protocol=4).hex())
            self.assertIn("not a valid ShareableList", self.fails("pickle", name, "--list"))
        finally:
            shm.close()
            shm.unlink()
        lst = self.name()
        sl = shared_memory.ShareableList([1, "a"], name=lst)
        try:
            for protocol in range(6):
                out = self.ok("pickle", lst, "--list", "--protocol", str(protocol)).strip()
                self.assertEqual(out, pickle.dumps(sl, protocol=protocol).hex())
        finally:
            sl.shm.close()
            sl.shm.unlink()
        self.assertEqual(pyshm("pickle", lst, "--protocol", "6").returncode, 2)

    def test_unpickle_reads_cpython_pickles_and_refuses_everything_else(self):
        import pickle
        name = self.name()
        shm = shared_memory.SharedMemory(name, create=True, size=77)
        try:
            data = pickle.dumps(shm, protocol=2).hex()
            self.assertEqual(json.loads(self.ok("unpickle", data)),
                             {"kind": "shared_memory", "name": name, "size": 77})
            sl_pickle = ("8004956d000000000000008c0966756e63746f6f6c73948c077061727469616c9493948c"
                         "1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279948c0d536861"
                         "726561626c654c69737494939485945294286805297d948c046e616d65948c0672715f706b"
                         "6c94734e7494622952942e")  # CPython's, ShareableList 'rq_pkl', p4
            self.assertEqual(json.loads(self.ok("unpickle", "-", stdin=sl_pickle + "\n")),
                             {"kind": "shareable_list", "name": "rq_pkl"})
            # What a Queue or a Pool carries, and what pickletools.optimize leaves of it.
            import pickletools
            from multiprocessing.reduction import ForkingPickler
            sl = shared_memory.ShareableList([1], name=self.name())
            try:
                forked = bytes(ForkingPickler.dumps(sl, 3))
                self.assertEqual(json.loads(self.ok("unpickle", forked.hex())),
                                 {"kind": "shareable_list", "name": sl.shm.name,
                                  "reducer": "forking"})
                self.assertEqual(json.loads(self.ok("unpickle",
                                                    pickletools.optimize(forked).hex())),
                                 {"kind": "shareable_list", "name": sl.shm.name,
                                  "reducer": "forking", "optimized": True})
            finally:
                sl.shm.close()
                sl.shm.unlink()
        finally:
            shm.close()
            shm.unlink()
        evil = pickle.dumps(os.system, protocol=4).hex()
        self.assertIn("not allowed", self.fails("unpickle", evil))
        self.assertIn("pyshm: ", self.fails("unpickle", data[:-2]))  # truncated
        self.assertIn("pyshm: ", self.fails("unpickle", "zz"))  # not hex

    # usage

    def test_usage_errors_exit_2_and_help_exits_0(self):
        self.assertEqual(pyshm().returncode, 2)
        self.assertEqual(pyshm("frobnicate").returncode, 2)
        self.assertEqual(pyshm("dump").returncode, 2)
        self.assertEqual(pyshm("create", "x").returncode, 2)  # --size missing
        self.assertEqual(pyshm("create-list", "--layout", "3.7", "[]").returncode, 2)
        for command in ("ls", "dump", "check", "create-list", "create", "get", "set", "rm",
                        "pickle", "unpickle"):
            r = pyshm(command, "--help")
            self.assertEqual(r.returncode, 0, command)
            self.assertIn("Usage", r.stdout)
        self.assertIn("does not track", pyshm("create-list", "--help").stdout.replace("\n", " "))
        self.assertRegex(pyshm("--version").stdout, r"pyshm \(libshm\) \d+\.\d+\.\d+")

    def test_missing_block_and_bad_name_exit_1(self):
        self.assertIn("No such file", self.fails("dump", fresh_name()))
        self.assertIn("invalid shared memory name", self.fails("check", "a:b"))

    # hostile /dev/shm (issue 13): another user's block, a FIFO, a failing stdout

    def test_ls_survives_a_sparse_block_claiming_a_huge_count(self):
        good, hostile = self.name(), self.name()
        self.ok("create-list", "--name", good, "[1]")
        with open(os.path.join(SHM_DIR, hostile), "wb") as f:
            f.truncate(1 << 40)  # 1 TB, all holes but the header's first two words
            f.write(struct.pack("qq", ((1 << 40) - 16) // 17, 0))
        kinds = {b["name"]: b for b in json.loads(self.ok("ls", "--json"))}
        self.assertEqual(kinds[good]["kind"], "shareable-list 3.9+")
        self.assertEqual(kinds[hostile]["kind"], "raw")
        self.assertIn("offset 16: item 1's offset 0 equals", kinds[hostile]["problem"])
        self.assertIn("offset 16", self.fails("check", hostile))
        self.assertIn("offset 16", self.fails("get", hostile, "0"))

    def test_fifo_is_not_a_block_and_never_blocks(self):
        fifo, good = self.name(), self.name()
        self.ok("create", good, "--size", "64")
        os.mkfifo(os.path.join(SHM_DIR, fifo))
        names = [b["name"] for b in json.loads(self.ok("ls", "--json"))]
        self.assertIn(good, names)
        self.assertNotIn(fifo, names)
        for command in (["check", fifo], ["dump", fifo], ["dump", "--hex", fifo],
                        ["pickle", fifo], ["get", fifo, "0"]):
            self.assertIn("a FIFO, not a regular file", self.fails(*command), command)

    def test_ls_never_blocks_on_a_fifo_renamed_over_a_block(self):
        # Another user swaps a regular file and a FIFO under the same name as fast as possible
        # while ls runs: ls must judge what it opened, and never block in open().
        import threading
        target, spare_file, spare_fifo = self.name(), self.name(), self.name()
        write_block(target, b"\0" * 16)
        stop = threading.Event()

        def swap():
            while not stop.is_set():
                try:
                    os.mkfifo(os.path.join(SHM_DIR, spare_fifo))
                    os.rename(os.path.join(SHM_DIR, spare_fifo), os.path.join(SHM_DIR, target))
                    write_block(spare_file, b"\0" * 16)
                    os.rename(os.path.join(SHM_DIR, spare_file), os.path.join(SHM_DIR, target))
                except OSError:
                    pass
        swapper = threading.Thread(target=swap)
        swapper.start()
        try:
            for _ in range(30):
                r = subprocess.run([PYSHM, "ls", "--json"], capture_output=True, text=True,
                                   timeout=20)
                self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            stop.set()
            swapper.join()

    def test_undeliverable_output_is_an_error_and_leaves_no_block(self):
        def run_to_full(*args):
            with open("/dev/full", "w") as full:
                return subprocess.run([PYSHM, *args], stdout=full, stderr=subprocess.PIPE,
                                      text=True, timeout=60)
        # Named blocks, so that other users of /dev/shm cannot disturb the check.
        for args in (["create-list", "--name", self.name(), "[1]"],
                     ["create", self.name(), "--size", "64"]):
            r = run_to_full(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn("cannot write to stdout: No space left on device", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(SHM_DIR, self.names[-1])), args)
        name = self.name()
        self.ok("create-list", "--name", name, "[1]")
        for args in (["get", name, "0"], ["ls"], ["check", name], ["dump", "--json", name],
                     ["dump", "--raw", name]):
            self.assertEqual(run_to_full(*args).returncode, 1, args)
        # A closed pipe too (SIGPIPE ignored, EPIPE reported): the reader is gone before
        # pyshm writes, since pyshm reads the items from stdin first.
        piped = self.name()
        r, w = os.pipe()
        os.close(r)
        p = subprocess.Popen([PYSHM, "create-list", "--name", piped, "-"], stdin=subprocess.PIPE,
                             stdout=w, stderr=subprocess.PIPE, text=True)
        os.close(w)
        _, err = p.communicate("[1]", timeout=60)
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("Broken pipe", err)
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, piped)))

    def test_ls_table_escapes_names_as_json_does(self):
        name = self.name() + "\x1b[2J\nFORGED"
        self.names.append(name)
        write_block(name, b"\0" * 8)
        table = self.ok("ls")
        self.assertNotIn("\x1b", table)
        self.assertNotIn("\nFORGED", table)
        self.assertIn(json.dumps(name)[1:-1], table)

    def test_minor_messages(self):
        self.assertIn("--size must be a positive number of bytes, not '0'",
                      pyshm("create", fresh_name(), "--size", "0").stderr)
        self.assertNotIn("1.79", pyshm("create", fresh_name(), "--size", "0").stderr)
        r = pyshm("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown subcommand 'frobnicate'", r.stderr)
        name = self.name()
        self.ok("create-list", "--name", name, "[1, 2]")
        for bad in (" 1", "+1", "1 ", "", "-", "0x1"):
            self.assertIn("INDEX must be an integer", self.fails("get", name, bad), bad)
        self.assertEqual(self.ok("get", name, "-1"), "2\n")
        # get attaches read-only: a block one may read but not write works as for dump.
        os.chmod(os.path.join(SHM_DIR, name), 0o444)
        if os.geteuid() == 0 and os.path.exists("/usr/bin/setpriv"):
            r = subprocess.run(["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                "--clear-groups", PYSHM, "get", name, "0"],
                               capture_output=True, text=True, timeout=60)
            if not r.stderr.startswith("setpriv:"):
                self.assertEqual((r.returncode, r.stdout), (0, "1\n"), r.stderr)
                r = subprocess.run(["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                    "--clear-groups", PYSHM, "set", name, "0", "5"],
                                   capture_output=True, text=True, timeout=60)
                self.assertIn("Permission denied", r.stderr)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


if __name__ == "__main__":
    unittest.main()
