"""minigd.files: atomic writes, file modes, clear errors, and safe .npz archives."""

import io
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from minigd.files import (
    atomic_write,
    check_writable,
    open_regular,
    read_archive,
    write_archive,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, FIFOs and /dev/zero")
as_root = hasattr(os, "geteuid") and os.geteuid() == 0


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.startswith(".minigd-")]


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


# -- atomic_write ----------------------------------------------------------------------

@pytest.mark.parametrize("mode, content", [("wb", b"\x00bytes"), ("w", "text, café")])
def test_atomic_write_writes_bytes_and_utf8_text(tmp_path, mode, content):
    path = tmp_path / "out"
    with atomic_write(path, mode) as file:
        file.write(content)
    expected = content if mode == "wb" else content.encode("utf-8")
    assert path.read_bytes() == expected and leftovers(tmp_path) == []


@posix_only
def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path, umask_027):
    with atomic_write(tmp_path / "new.json", "w") as file:
        file.write("{}")
    assert mode_of(tmp_path / "new.json") == 0o666 & ~umask_027 == 0o640


@posix_only
@pytest.mark.parametrize("old_mode", [0o644, 0o600, 0o664])
def test_a_replaced_file_keeps_its_mode(tmp_path, umask_027, old_mode):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"old")
    path.chmod(old_mode)
    with atomic_write(path) as file:
        file.write(b"new")
    assert path.read_bytes() == b"new" and mode_of(path) == old_mode


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_an_interruption_inside_the_block_keeps_the_old_file_and_leaves_no_temporary(
        tmp_path, interruption):
    path = tmp_path / "run.npz"
    path.write_bytes(b"the old, good file")
    with pytest.raises(interruption):
        with atomic_write(path) as file:
            file.write(b"half of the new")
            raise interruption()
    assert path.read_bytes() == b"the old, good file"
    assert leftovers(tmp_path) == []


def test_a_missing_folder_is_named_not_the_temporary_file(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "x.json"
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_write(path, "w"):
            pass
    message = str(caught.value)
    assert str(path) in message and "does not exist" in message and ".minigd-" not in message


def test_a_folder_as_the_target_is_refused_before_writing(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder") as caught:
        with atomic_write(tmp_path):
            pytest.fail("the block must not run")
    assert str(tmp_path) in str(caught.value) and leftovers(tmp_path) == []


def test_a_folder_appearing_during_the_write_is_named_too(tmp_path):
    path = tmp_path / "out"
    with pytest.raises(OSError) as caught:
        with atomic_write(path) as file:
            file.write(b"data")
            path.mkdir()
            (path / "inside").write_text("so the folder cannot be replaced")
    assert str(path) in str(caught.value) and ".minigd-" not in str(caught.value)
    assert leftovers(tmp_path) == []


@posix_only
@pytest.mark.skipif(as_root, reason="root may write anywhere")
def test_no_permission_names_the_path(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="no permission") as caught:
            with atomic_write(folder / "x.npz"):
                pass
    finally:
        folder.chmod(0o700)
    assert str(folder / "x.npz") in str(caught.value)


def test_a_permission_error_names_the_path_even_for_root(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/somewhere/.minigd-abc.tmp")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError) as caught:
        with atomic_write(tmp_path / "x.npz"):
            pass
    assert str(tmp_path / "x.npz") in str(caught.value) and ".minigd-" not in str(caught.value)


def test_a_bad_mode_is_named():
    with pytest.raises(ValueError, match="mode must be 'wb'"):
        with atomic_write("x", "a"):
            pass


# -- check_writable --------------------------------------------------------------------

def test_check_writable_accepts_a_new_or_existing_file(tmp_path):
    check_writable(tmp_path / "new.json")
    (tmp_path / "old.json").write_text("{}")
    check_writable(tmp_path / "old.json")


@pytest.mark.parametrize("name, message", [
    ("missing/x.json", "does not exist"), (".", "is a folder"), ("file/x.json", "is a file, not a folder"),
])
def test_check_writable_names_the_path_and_the_problem(tmp_path, name, message):
    (tmp_path / "file").write_text("")
    path = tmp_path / name
    with pytest.raises(ValueError, match=message) as caught:
        check_writable(path, what="--json file")
    assert str(caught.value).startswith(f"--json file {path}")


@posix_only
@pytest.mark.skipif(as_root, reason="root may write anywhere")
def test_check_writable_refuses_a_read_only_folder(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="no permission"):
            check_writable(tmp_path / "x.json")
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_check_writable_tries_the_folder_for_real():
    # os.access says yes to root for /proc, where no file can be created
    with pytest.raises(ValueError, match="no permission to write|cannot create a file") as caught:
        check_writable("/proc/run.json", what="--json file")
    assert str(caught.value).startswith("--json file /proc/run.json: ")


# -- open_regular ----------------------------------------------------------------------

@posix_only
def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)  # no writer: opening it would block forever
    with pytest.raises(ValueError, match=r"named pipe \(FIFO\)") as caught:
        read_archive(fifo, "minigd-weights")
    assert str(fifo) in str(caught.value)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused():
    with pytest.raises(ValueError, match="/dev/zero is a character device"):
        read_archive("/dev/zero", "minigd-weights")


def test_missing_and_folder_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_regular(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="is a folder, not a .npz archive"):
        read_archive(tmp_path, "minigd-weights")


# -- write_archive / read_archive ------------------------------------------------------

WEIRD_NAMES = ["file", "allow_pickle", "trainer", "kind", "arrays", "path", "self", "param/w",
               "optimizer/velocity/w", "with space", "ünïcode", "class", "x.npy", "0"]


def test_any_parameter_name_round_trips(tmp_path):
    arrays = {name: np.arange(i + 1, dtype=np.float64) * 0.1 for i, name in enumerate(WEIRD_NAMES)}
    write_archive(tmp_path / "w.npz", arrays, "minigd-weights")
    back = read_archive(tmp_path / "w.npz", "minigd-weights")
    assert list(back) == WEIRD_NAMES
    for name in WEIRD_NAMES:
        np.testing.assert_array_equal(back[name], arrays[name])
        assert back[name].dtype == arrays[name].dtype and back[name].flags.writeable


def test_shapes_dtypes_and_orders_round_trip_bit_for_bit(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"scalar": np.array(np.pi), "empty": np.zeros((0, 3)), "int": np.arange(6).reshape(2, 3),
              "fortran": np.asfortranarray(rng.normal(size=(3, 4))), "text": np.array('{"a": 1}'),
              "big_endian": np.arange(3, dtype=">f8"), "special": np.array([np.nan, -0.0, np.inf])}
    write_archive(tmp_path / "a.npz", arrays, "minigd-checkpoint")
    back = read_archive(tmp_path / "a.npz", "minigd-checkpoint")
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape
        assert back[name].tobytes(order="A") == array.tobytes(order="A"), name


def test_numpy_still_reads_the_archive(tmp_path):
    write_archive(tmp_path / "w.npz", {"w": np.ones(2), "b": np.array(0.5)}, "minigd-weights")
    with np.load(tmp_path / "w.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["b", "minigd-format", "w"]
        assert json.loads(str(archive["minigd-format"])) == {"kind": "minigd-weights", "version": 1}


def test_write_archive_writes_atomically(tmp_path):
    path = tmp_path / "w.npz"
    write_archive(path, {"w": np.ones(2)}, "minigd-weights")
    with pytest.raises(ValueError, match="Python objects"):
        write_archive(path, {"w": np.zeros(3), "bad": np.array([object()])}, "minigd-weights")
    np.testing.assert_array_equal(read_archive(path, "minigd-weights")["w"], np.ones(2))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("arrays, kind, message", [
    ({"minigd-format": np.ones(1)}, "minigd-weights", "reserved"),
    ({"": np.ones(1)}, "minigd-weights", "non-empty strings"),
    ({3: np.ones(1)}, "minigd-weights", "non-empty strings"),
    ({"w": np.ones(1)}, "", "kind must be"),
])
def test_write_archive_refuses_bad_names_and_kinds(tmp_path, arrays, kind, message):
    with pytest.raises(ValueError, match=message):
        write_archive(tmp_path / "w.npz", arrays, kind)
    assert not (tmp_path / "w.npz").exists()


def test_a_wrong_kind_names_the_path_and_both_kinds(tmp_path):
    path = tmp_path / "w.npz"
    write_archive(path, {"w": np.ones(1)}, "minigd-weights")
    with pytest.raises(ValueError) as caught:
        read_archive(path, "minigd-checkpoint")
    assert str(caught.value) == f"{path} is a minigd-weights file, not a minigd-checkpoint file."
    assert "w" in read_archive(path, ("minigd-weights", "minigd-checkpoint"))


def test_a_plain_npz_reads_as_weights_only(tmp_path):
    path = tmp_path / "legacy.npz"
    np.savez(path, w=np.array([1.0, 2.0]), b=np.array(0.5))
    assert sorted(read_archive(path, "minigd-weights")) == ["b", "w"]
    with pytest.raises(ValueError, match="plain .npz file that declares no kind, not a minigd-checkpoint"):
        read_archive(path, "minigd-checkpoint")


def test_a_legacy_checkpoint_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "old-run.npz"
    np.savez(path, **{"param/w": np.ones(1), "trainer": np.array('{"format": "minigd-checkpoint-1"}')})
    for kind in ("minigd-checkpoint", "minigd-weights"):
        with pytest.raises(ValueError, match="trainer checkpoint from an older minigd") as caught:
            read_archive(path, kind)
        assert str(path) in str(caught.value) and kind in str(caught.value)


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "future.npz"
    np.savez(path, **{"minigd-format": np.array('{"kind": "minigd-weights", "version": 99}')})
    with pytest.raises(ValueError, match="format version 99.*upgrade minigd"):
        read_archive(path, "minigd-weights")


def test_pickled_object_arrays_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="Python objects.*no pickle"):
        read_archive(path, "minigd-weights")


def zip_with(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_before_unpacking_with_the_sizes_named(tmp_path):
    # 64 MiB of zeros deflates to ~64 KiB: a 1000x ratio, far past the 100x allowed
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (8 * 2**20,)})
    bomb = zip_with(tmp_path / "bomb.npz", {"w.npy": header.getvalue() + bytes(64 * 2**20)})
    assert bomb.stat().st_size < 2**20
    with pytest.raises(ValueError, match=r"would unpack to 67,108,9\d\d bytes.*limit of \d[\d,]* bytes"):
        read_archive(bomb, "minigd-weights")
    read_archive(bomb, "minigd-weights", max_bytes=2**27)  # trusted: it is only zeros


def test_the_total_of_the_members_is_limited_too(tmp_path):
    members = {f"w{i}.npy": bytes(10_000) for i in range(5)}
    path = zip_with(tmp_path / "many.npz", members)
    with pytest.raises(ValueError, match="would unpack to 50,000 bytes in all"):
        read_archive(path, "minigd-weights", max_bytes=20_000)


def test_a_header_promising_a_huge_array_is_refused_without_allocating(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**15,)})
    path = zip_with(tmp_path / "liar.npz", {"w.npy": header.getvalue() + bytes(16)})
    with pytest.raises(ValueError, match="damaged: its header declares"):
        read_archive(path, "minigd-weights")


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable .npz archive"),
    (b"PK\x03\x04 garbage", "not a readable .npz archive"),
    (b"not a zip at all" * 100, "not a readable .npz archive"),
])
def test_damaged_files_are_a_value_error_naming_the_path(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        read_archive(path, "minigd-weights")
    assert str(path) in str(caught.value)


def test_members_that_are_not_arrays_are_refused(tmp_path):
    path = zip_with(tmp_path / "odd.npz", {"readme.txt": b"hello"})
    with pytest.raises(ValueError, match="holds 'readme.txt'"):
        read_archive(path, "minigd-weights")
    path = zip_with(tmp_path / "fake.npz", {"w.npy": b"not an npy header"})
    with pytest.raises(ValueError, match="not a readable .npy array"):
        read_archive(path, "minigd-weights")


def test_a_truncated_archive_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    write_archive(path, {"w": np.arange(1000.0)}, "minigd-weights")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        read_archive(path, "minigd-weights")


def test_importing_minigd_files_imports_nothing_heavy():
    code = "import sys, minigd.files; print('pandas' in sys.modules, 'tensorflow' in sys.modules)"
    import subprocess

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@posix_only
def test_other_open_failures_name_the_path(tmp_path):
    loop = tmp_path / "loop.npz"
    os.symlink(loop, loop)  # a link to itself: "too many levels of symbolic links"
    with pytest.raises(OSError) as caught:
        open_regular(loop)
    assert str(caught.value).startswith(f"{loop} cannot be read: ")


@pytest.mark.parametrize("max_bytes", [0, -1, 2.5, "big"])
def test_a_bad_max_bytes_is_named(tmp_path, max_bytes):
    write_archive(tmp_path / "w.npz", {"w": np.ones(1)}, "minigd-weights")
    with pytest.raises(ValueError, match="max_bytes must be a whole number >= 1"):
        read_archive(tmp_path / "w.npz", "minigd-weights", max_bytes=max_bytes)
