"""libshm.SharedMemory: the stdlib's API and exceptions, libshm's documented differences."""

import gc
import os
import pickle
import signal
import subprocess
import sys
import time
import unittest

import libshm
from support import BlockTest, exists, run_python, stdlib, stdlib_attach
from multiprocessing import resource_tracker


def _tracker_sends_json():
    """Whether this CPython's tracker sends every name as a JSON line (3.13.10, 3.14.1, 3.15),
    read from the running stdlib's resource_tracker (the module decides the same way)."""
    return (hasattr(resource_tracker, "_decode_message")
            and not getattr(resource_tracker._resource_tracker, "_use_simple_format", False))


class Basics(BlockTest):
    def test_create_attach_name_size_repr(self):
        name = self.name()
        a = libshm.SharedMemory(name, create=True, size=4097)
        self.assertEqual((a.name, a._name, a.size, len(a.buf)), (name, "/" + name, 4097, 4097))
        self.assertEqual(repr(a), "SharedMemory(%r, size=4097)" % name)
        self.assertEqual(os.stat("/dev/shm/" + name).st_mode & 0o777, 0o600)
        b = libshm.SharedMemory(name, size=10**9)  # attach ignores size, as the stdlib
        self.assertEqual(b.size, 4097)
        a.buf[4096] = 42
        self.assertEqual(b.buf[4096], 42)
        b.close()
        a.close()
        a.unlink()
        self.assertFalse(exists(name))

    def test_default_names_are_the_stdlibs(self):
        a = libshm.SharedMemory(create=True, size=1)
        self.keep(a.name)
        self.assertRegex(a.name, r"^psm_[0-9a-f]{8}$")
        a.close()
        a.unlink()

    def test_buf_is_a_writable_zero_copy_view(self):
        a = libshm.SharedMemory(self.name(), create=True, size=16)
        self.assertIs(a.buf, a.buf)
        self.assertFalse(a.buf.readonly)
        self.assertEqual((a.buf.format, a.buf.itemsize, a.buf.nbytes), ("B", 1, 16))
        a.buf[:5] = b"hello"
        s = stdlib_attach(a.name)
        self.assertEqual(bytes(s.buf[:5]), b"hello")
        s.buf[5:8] = b"!!!"
        self.assertEqual(bytes(a.buf[:8]), b"hello!!!")
        s.close()
        a.close()
        a.unlink()

    def test_stdlib_block_attached_by_libshm(self):
        s = stdlib.SharedMemory(self.name(), create=True, size=100)
        s.buf[:3] = b"abc"
        a = libshm.SharedMemory(s.name, track=False)
        self.assertEqual((a.size, bytes(a.buf[:3])), (100, b"abc"))
        a.close()
        s.close()
        s.unlink()

    def test_close(self):
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        a.close()
        a.close()  # twice is fine
        self.assertIsNone(a.buf)
        self.assertEqual(repr(a), "SharedMemory(%r, size=8)" % a.name)
        a.unlink()  # a closed handle can still unlink

    def test_close_with_an_exported_view_raises_buffer_error(self):
        # As the stdlib: the memoryview is released, the mapping stays until the view goes.
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        view = a.buf[2:4]
        with self.assertRaisesRegex(BufferError, "exported pointers exist"):
            a.close()
        self.assertIsNone(a.buf)
        view[0] = 7  # still mapped
        view.release()
        a.close()
        a.unlink()

    def test_close_while_buf_itself_is_exported(self):
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        inner = memoryview(a.buf)
        with self.assertRaises(BufferError):
            a.close()
        inner.release()
        a.close()
        a.unlink()

    def test_a_temporary_releases_its_view(self):
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        b = libshm.SharedMemory(a.name).buf
        gc.collect()
        with self.assertRaises(ValueError):  # operation forbidden on released memoryview
            b[0]
        a.close()
        a.unlink()

    def test_pickle_attaches_as_libshm(self):
        a = libshm.SharedMemory(self.name(), create=True, size=16)
        a.buf[:2] = b"pk"
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            data = pickle.dumps(a, protocol=proto)
            b = pickle.loads(data)
            self.assertIs(type(b), libshm.SharedMemory)
            self.assertEqual((b.name, b.size, bytes(b.buf[:2])), (a.name, 16, b"pk"))
            b.close()
            if proto <= 3:  # the stdlib's bytes, with libshm's module name
                s = stdlib_attach(a.name)
                expected = pickle.dumps(s, protocol=proto)
                s.close()
                self.assertEqual(data, expected.replace(b"multiprocessing.shared_memory", b"libshm"))
        self.assertEqual(a.__reduce__(), (libshm.SharedMemory, (a.name, False, 16)))
        a.close()
        a.unlink()
        with self.assertRaises(FileNotFoundError):
            pickle.loads(data)


class Errors(BlockTest):
    def test_the_stdlibs_exceptions(self):
        name = self.name()
        with self.assertRaises(FileNotFoundError) as cm:
            libshm.SharedMemory(name)
        self.assertEqual(cm.exception.filename, "/" + name)
        a = libshm.SharedMemory(name, create=True, size=8)
        with self.assertRaises(FileExistsError) as cm:
            libshm.SharedMemory(name, create=True, size=8)
        self.assertEqual(cm.exception.filename, "/" + name)
        for size in (0, -1):
            with self.assertRaises(ValueError):
                libshm.SharedMemory(self.name(), create=True, size=size)
        with self.assertRaises(ValueError):
            libshm.SharedMemory(create=True)
        with self.assertRaises(ValueError):
            libshm.SharedMemory()  # 'name' can only be None if create=True
        with self.assertRaises(ValueError):
            libshm.SharedMemory(name, size=-1)
        with self.assertRaises(TypeError):
            libshm.SharedMemory(name, size=None)
        with self.assertRaises(TypeError):
            libshm.SharedMemory(123)
        a.close()
        a.unlink()
        with self.assertRaises(FileNotFoundError):
            a.unlink()

    def test_empty_block_is_a_value_error(self):
        name = self.name()
        fd = os.open("/dev/shm/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.close(fd)
        with self.assertRaises(ValueError):
            libshm.SharedMemory(name)

    # --- documented differences

    def test_size_must_be_an_int_and_nothing_is_created_otherwise(self):
        name = self.name()
        with self.assertRaises(TypeError):
            libshm.SharedMemory(name, create=True, size=1.5)
        with self.assertRaises(OverflowError):
            libshm.SharedMemory(name, create=True, size=2**63)
        self.assertFalse(exists(name))
        a = libshm.SharedMemory(name, create=True, size=True)  # bool is an int: size 1
        self.assertEqual(a.size, 1)
        a.close()
        a.unlink()

    def test_names_cpython_mishandles_are_value_errors(self):
        base = self.name()
        for bad in ("", ".", "..", base + "\0x", base + "/x", base + ":x", base + "\nx",
                    base + "\u00e9", "a" * 256, base + "\x01"):
            with self.subTest(name=bad):
                with self.assertRaises(ValueError):
                    libshm.SharedMemory(bad, create=True, size=8)
                with self.assertRaises(ValueError):
                    libshm.SharedMemory(bad)
        self.assertEqual([n for n in os.listdir("/dev/shm") if n.startswith(base)], [])
        # The longest name, still unique: concurrent runs (one per CPython) must not meet.
        longest = base + "a" * (255 - len(base))
        if _tracker_sends_json():
            # '/' + 255 bytes is more than a JSON-line tracker takes (3.15): the stdlib creates
            # the block and then raises; the module raises the same before creating anything.
            for make in (lambda: libshm.SharedMemory(longest, create=True, size=8),
                         lambda: libshm.ShareableList([1], name=longest)):
                with self.assertRaisesRegex(ValueError, r"^shared memory name too long"):
                    make()
                self.assertFalse(exists(longest))
            with self.assertRaises(ValueError) as theirs:  # the stdlib: the same, and a leak
                stdlib.SharedMemory(longest, create=True, size=8)
            self.assertTrue(exists(longest))
            os.unlink("/dev/shm/" + longest)
            self.assertEqual(str(theirs.exception), "shared memory name too long (max 255 bytes)")
            ok = libshm.SharedMemory(longest, create=True, size=8, track=False)
        else:
            ok = libshm.SharedMemory(longest, create=True, size=8)
        self.keep(ok.name)
        ok.close()
        ok.unlink()

    def test_one_leading_slash_is_dropped(self):
        name = self.name()
        a = libshm.SharedMemory("/" + name, create=True, size=8)
        self.assertEqual((a.name, a._name), (name, "/" + name))
        b = libshm.SharedMemory("/" + name)
        self.assertEqual(b.name, name)
        b.close()
        a.close()
        a.unlink()

    def test_unlink_uses_name_attribute(self):
        # The stdlib's unlink() works on _name; so does libshm's (CPython's tests rely on it).
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        a._name = a._name + "\0a"
        with self.assertRaises(ValueError):
            a.unlink()
        a._name = a._name[:-2]
        a.close()
        a.unlink()

    def test_subclass_flags_without_excl_create_or_attach(self):
        import os as _os

        class OptionalAttach(libshm.SharedMemory):
            _flags = _os.O_CREAT | _os.O_RDWR

        name = self.name()
        with self.assertRaises(FileNotFoundError):
            OptionalAttach(name)
        a = OptionalAttach(name, size=24)  # absent: created
        b = OptionalAttach(name)  # present: attached
        self.assertEqual((a.size, b.size), (24, 24))
        b.close()
        a.close()
        a.unlink()


TRACKER_CHILD = """if 1:
    import sys, libshm
    m = libshm.SharedMemory(sys.argv[1], track=sys.argv[2] == "1")
    m.close()
"""


class Tracking(BlockTest):
    def wait_gone(self, name, seconds=10):
        deadline = time.monotonic() + seconds
        while exists(name) and time.monotonic() < deadline:
            time.sleep(0.02)
        return not exists(name)

    def test_attach_with_track_false_leaves_the_block(self):
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        p = run_python(TRACKER_CHILD, a.name, "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("resource_tracker", p.stderr)
        self.assertTrue(exists(a.name))
        a.close()
        a.unlink()

    def test_attach_with_track_true_unlinks_at_exit_as_the_stdlib(self):
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        p = run_python(TRACKER_CHILD, a.name, "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        # multiprocessing's resource tracker of the child unlinks it, as the stdlib's would.
        self.assertIn("resource_tracker: There appear to be 1 leaked shared_memory "
                      "objects to clean up at shutdown", p.stderr)
        self.assertNotIn("libshm resource_tracker", p.stderr)
        self.assertTrue(self.wait_gone(a.name))
        a.close()
        libshm._unregister(a._name)  # our own registration is stale now

    def test_a_killed_creator_s_blocks_are_unlinked(self):
        name = self.name()
        code = ("import sys, time, libshm\n"
                "m = libshm.SharedMemory(sys.argv[1], create=True, size=8)\n"
                "l = libshm.ShareableList([1], name=sys.argv[1] + '_l')\n"
                "print('ready', flush=True)\n"
                "time.sleep(60)\n")
        self.keep(name + "_l")
        with subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True) as p:
            self.assertEqual(p.stdout.readline().strip(), "ready")
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.assertTrue(self.wait_gone(name) and self.wait_gone(name + "_l"))
            self.assertIn("There appear to be 2 leaked shared_memory objects", p.stderr.read())

    def test_unlink_from_any_handle_withdraws_the_registration(self):
        # libshm's policy on top of multiprocessing's tracker: the track=False handle's unlink()
        # withdraws what the track=True handle registered, so the tracker is silent at exit
        # (the stdlib's would warn about a leak and fail to unlink it). A 3.13 stdlib handle
        # with track=False shows the difference.
        code = ("import sys, libshm\n"
                "from multiprocessing import shared_memory as stdlib\n"
                "M = libshm if sys.argv[2] == 'libshm' else stdlib\n"
                "a = M.SharedMemory(sys.argv[1], create=True, size=8)\n"
                "b = M.SharedMemory(sys.argv[1], track=False)\n"
                "b.unlink()\n"
                "a.close(); b.close()\n")
        p = run_python(code, self.name(), "libshm")
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        if sys.version_info >= (3, 13):
            p = run_python(code, self.name(), "stdlib")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("leaked shared_memory objects", p.stderr)

    def test_a_registration_names_the_file_the_handle_opened(self):
        # The identity recorded for the exit check is the opened file's (from the handle's
        # descriptor), the same as a stat of the name gives while the block is there.
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        st = os.stat("/dev/shm/" + a.name)
        self.assertEqual(libshm._registered[a._name], (st.st_dev, st.st_ino))
        sl = libshm.ShareableList([1], name=self.name())
        st = os.stat("/dev/shm/" + sl.shm.name)
        self.assertEqual(libshm._registered[sl.shm._name], (st.st_dev, st.st_ino))
        sl.shm.close()
        sl.shm.unlink()
        a.close()
        a.unlink()

    def test_exit_leaves_a_block_put_under_a_registered_name_alone(self):
        # The registered block is removed behind this process's back (as another process's
        # unlink does) and a new, untracked block takes its name: at exit the registration
        # is withdrawn, so multiprocessing's tracker neither warns nor unlinks the new block.
        name = self.name()
        code = ("import os, sys, libshm\n"
                "a = libshm.SharedMemory(sys.argv[1], create=True, size=8)\n"
                "os.unlink('/dev/shm/' + sys.argv[1])\n"
                "b = libshm.SharedMemory(sys.argv[1], create=True, size=16, track=False)\n"
                "a.close(); b.close()\n")
        p = run_python(code, name)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        time.sleep(0.1)
        self.assertTrue(exists(name))
        self.assertEqual(os.stat("/dev/shm/" + name).st_size, 16)

    def test_a_forked_child_starts_without_registrations(self):
        a = libshm.SharedMemory(self.name(), create=True, size=8)
        self.assertIn(a._name, libshm._registered)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(r)
            os.write(w, b"1" if a._name in libshm._registered else b"0")
            os._exit(0)
        os.close(w)
        self.assertEqual(os.read(r, 1), b"0")
        os.close(r)
        os.waitpid(pid, 0)
        a.close()
        a.unlink()
        self.assertNotIn(a._name, libshm._registered)

    def test_track_false_create_is_not_cleaned_up(self):
        name = self.name()
        p = run_python("import sys, libshm\n"
                       "libshm.SharedMemory(sys.argv[1], create=True, size=8, track=False)\n",
                       name)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        time.sleep(0.1)
        self.assertTrue(exists(name))


if __name__ == "__main__":
    unittest.main()
