"""The one place minigd writes and reads its own files, so every file gets the same care.

Three promises, each tested in ``tests/test_files.py``:

* **Atomic writes.** ``atomic_write`` writes to a temporary file in the same folder,
  flushes it to disk and renames it over the target. A crash, an exception or Ctrl-C
  midway leaves the old file exactly as it was, and no temporary file behind.
* **Ordinary permissions.** A new file gets the mode any program would give it under
  the user's umask (usually 0644); a replaced file keeps its mode.
* **Safe reading.** ``read_archive`` reads only ordinary files (a named pipe or
  ``/dev/zero`` is refused before it is opened), never unpickles, checks sizes before
  unpacking anything, and checks that the file is the kind the caller expects.

Archives are ``.npz`` files (a zip of ``.npy`` arrays, as ``np.savez`` writes) with one
extra member, ``minigd-format``, declaring what the file holds, e.g.
``{"kind": "minigd-weights", "version": 1}``. ``np.load`` still opens them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import IO, BinaryIO

import numpy as np

from ._validation import check_positive_int

FORMAT_MEMBER = "minigd-format"  # has a dash, so no Python identifier can clash with it
FORMAT_VERSION = 1
# what read_archive unpacks at most, by default: 100 times the file's size, but never less
# than 64 MiB. Real weights unpack to about their file's size (minigd stores, it does
# not compress), so only a crafted "zip bomb" comes near the limit.
UNPACK_RATIO = 100
UNPACK_FLOOR = 64 * 2**20


# -- writing ---------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open ``path`` for writing so that it changes all at once, or not at all.

    Everything goes to a temporary file in the same folder; when the ``with`` block
    ends normally the file is flushed to disk and renamed over ``path`` (a rename is
    atomic). If the block raises anything, KeyboardInterrupt included, the temporary
    file is removed and ``path`` is untouched.

    Args:
        path: the file to write.
        mode: ``"wb"`` for bytes or ``"w"`` for text (UTF-8).

    Yields:
        The open file object.

    Raises:
        ValueError: for a mode other than ``"wb"`` or ``"w"``.
        OSError: (FileNotFoundError, PermissionError, IsADirectoryError, ...) naming
            ``path`` when the folder is missing, not writable, or ``path`` is a folder.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> with atomic_write(path, "w") as file:
        ...     _ = file.write("hello")
        >>> open(path).read()
        'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' (bytes) or 'w' (text), got {mode!r}.")
    path = os.fspath(path)
    if os.path.isdir(path):  # found now, not after a long write
        raise _named_error(IsADirectoryError(), path)
    handle, temporary = _create_temporary(path)
    try:
        with os.fdopen(handle, mode, encoding="utf-8" if mode == "w" else None) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it the real file
        _replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _create_temporary(path: str) -> tuple[int, str]:
    """Create an empty temporary file next to ``path``; return (descriptor, name).

    Not ``tempfile.mkstemp``: it makes files 0600. Creating with 0666 lets the system
    apply the user's umask, exactly as for any new file.
    """
    folder = os.path.dirname(os.path.abspath(path))
    mode = _existing_mode(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = os.path.join(folder, f".minigd-{secrets.token_hex(6)}.tmp")
        try:
            handle = os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue  # another writer drew the same name; draw again
        except OSError as error:
            raise _named_error(error, path) from None
        if mode is not None:  # replacing a file: keep its permissions
            os.chmod(temporary, mode)
        return handle, temporary


def _existing_mode(path: str) -> int | None:
    """The permission bits of the file at ``path``, or None if there is none."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _replace(temporary: str, path: str) -> None:
    """Rename ``temporary`` over ``path``; errors name ``path``, never the temporary file."""
    try:
        os.replace(temporary, path)  # atomic on POSIX and Windows
    except OSError as error:
        raise _named_error(error, path) from None
    # make the rename itself durable; folders cannot be opened on Windows, hence suppress
    with contextlib.suppress(OSError):
        folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _named_error(error: OSError, path: str) -> OSError:
    """The same kind of OSError, with a message that names the user's ``path``."""
    folder = os.path.dirname(path) or "."
    if isinstance(error, IsADirectoryError) or os.path.isdir(path):
        message = f"cannot write {path}: it is a folder; give a file name."
    elif isinstance(error, FileNotFoundError):
        message = f"cannot write {path}: the folder {folder} does not exist."
    elif isinstance(error, PermissionError):
        message = f"cannot write {path}: no permission to write in the folder {folder}."
    else:
        message = f"cannot write {path}: {error.strerror or error}."
    named = type(error)(message)
    named.errno = error.errno
    return named


def check_writable(path: str | os.PathLike, what: str = "output file") -> None:
    """Check, cheaply and before a long run, that ``path`` can be written later.

    Args:
        path: the file that will be written.
        what: what the file is, for the message (e.g. ``"--json file"``).

    Raises:
        ValueError: naming ``path`` if its folder does not exist or a file cannot be
            created in it, or if ``path`` is a folder.

    Examples:
        >>> check_writable("no/such/folder/run.json")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: output file no/such/folder/run.json: the folder no/such/folder does not exist; ...
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise ValueError(f"{what} {path} is a folder: give a file name inside it.")
    if not os.path.exists(folder):
        raise ValueError(
            f"{what} {path}: the folder {folder} does not exist; create it first or choose another path."
        )
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path}: {folder} is a file, not a folder; choose another path.")
    import tempfile  # (milliseconds at import; only the CLI checks its outputs)

    # The real test: the file will be written beside its final name, then renamed, so try
    # creating one there (os.access would say yes to root everywhere, /proc included).
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        if isinstance(error, PermissionError):
            why = f"no permission to write in the folder {folder}"
        else:
            why = f"cannot create a file in the folder {folder} (the system says: {error.strerror})"
        raise ValueError(f"{what} {path}: {why}; choose a folder you own.") from None


# -- reading ---------------------------------------------------------------------------

def open_regular(path: str | os.PathLike, what: str = "file") -> BinaryIO:
    """Open an ordinary file for reading in binary mode; refuse anything else.

    A named pipe would block forever and ``/dev/zero`` never ends, so the type is
    checked with ``os.stat`` before opening, and again on the open file in case the
    path was swapped in between.

    Args:
        path: the file to read.
        what: what the file should be, for messages (e.g. ``"CSV file"``).

    Returns:
        The open binary file; close it (``with open_regular(path) as file:``).

    Raises:
        FileNotFoundError: ``"<path>: no such file."``
        PermissionError: naming ``path`` when it cannot be read.
        OSError: naming ``path`` for any other failure to open it.
        ValueError: naming ``path`` when it is a folder, a pipe, a device or a socket.

    Examples:
        >>> open_regular("/dev/zero", "CSV file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: /dev/zero is a character device, not a CSV file: ...
    """
    path = os.fspath(path)
    try:
        _check_regular(path, os.stat(path).st_mode, what)
        # O_NONBLOCK: should a pipe be swapped in after the check, opening it cannot hang
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file.") from None
    except PermissionError:
        raise PermissionError(f"{path}: no permission to read it.") from None
    except OSError as error:
        raise type(error)(f"{path} cannot be read: {error.strerror or error}.") from None
    try:
        _check_regular(path, os.fstat(handle).st_mode, what)
    except BaseException:
        os.close(handle)
        raise
    return os.fdopen(handle, "rb")


def _check_regular(path: str, mode: int, what: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise ValueError(f"{path} is a folder, not a {what}.")
    kinds = {stat.S_ISFIFO: "a named pipe (FIFO)", stat.S_ISCHR: "a character device",
             stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
    kind = next((name for test, name in kinds.items() if test(mode)), "not an ordinary file")
    raise ValueError(f"{path} is {kind}, not a {what}: minigd reads ordinary files only.")


# -- .npz archives ---------------------------------------------------------------------

def write_archive(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], kind: str) -> None:
    """Write named arrays to a ``.npz`` archive that declares its ``kind``, atomically.

    Any string works as a name (``"file"``, ``"allow_pickle"``, ``"param/w"``), except
    ``"minigd-format"``, the member declaring the kind. Arrays of Python objects are
    refused: they would need pickle to read back.

    Args:
        path: the file to write (``atomic_write``: all or nothing).
        arrays: name -> array (anything ``np.asarray`` takes, of numbers or strings).
        kind: what the file holds, e.g. ``"minigd-weights"``; ``read_archive`` checks it.

    Raises:
        ValueError: for a bad kind, a bad or reserved name, or an array of objects.
        OSError: as ``atomic_write``, naming ``path``.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> write_archive(path, {"w": np.array([1.5, 2.0]), "file": np.array(3.0)}, "minigd-weights")
        >>> read_archive(path, "minigd-weights")
        {'w': array([1.5, 2. ]), 'file': array(3.)}
    """
    _check_kind_name(kind)
    checked = {name: _checked_array(name, value) for name, value in arrays.items()}
    declaration = np.array(json.dumps({"kind": kind, "version": FORMAT_VERSION}))
    with atomic_write(path, "wb") as file, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        _write_member(archive, FORMAT_MEMBER, declaration)
        for name, array in checked.items():
            _write_member(archive, name, array)


def _check_kind_name(kind) -> None:
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string such as 'minigd-weights', got {kind!r}.")


def _checked_array(name, value) -> np.ndarray:
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"array names must be non-empty strings without NUL, got {name!r}.")
    if name == FORMAT_MEMBER:
        raise ValueError(f"{FORMAT_MEMBER!r} is reserved for the archive's own declaration; rename it.")
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise ValueError(
            f"array {name!r} holds Python objects ({array.dtype}); only numbers and strings can "
            "be saved without pickle."
        )
    return array


def _write_member(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    # what np.savez does inside, minus its keyword arguments, which clash with names
    # such as "file" or "allow_pickle"
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, array, allow_pickle=False)


def read_archive(path: str | os.PathLike, kind: str | tuple[str, ...],
                 max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Read the arrays of a ``.npz`` archive written by ``write_archive``, safely.

    Only ordinary files are opened; pickle is never used; every member's declared
    size, and their total, is checked against ``max_bytes`` before anything is
    unpacked.

    Older files: a plain ``np.savez`` archive (no ``minigd-format`` member) is read
    as ``"minigd-weights"`` when that kind is expected, as the old
    ``model.save_weights`` wrote them. An old trainer checkpoint (it has a
    ``trainer`` member but no declaration) is refused: its layout is not this one.

    Args:
        path: the ``.npz`` file.
        kind: the kind expected, or a tuple of kinds any of which will do.
        max_bytes: the most bytes the arrays may unpack to. None (the default) allows
            100 times the file's size, and at least 64 MiB.

    Returns:
        name -> array, without the declaration member.

    Raises:
        FileNotFoundError: ``"<path>: no such file."`` (other OSErrors, such as
            PermissionError, name ``path`` too).
        ValueError: naming ``path``: not an ordinary file, not a zip of ``.npy``
            arrays, damaged, too big once unpacked (sizes named), arrays of objects,
            or another kind than ``kind`` (both kinds named).

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> write_archive(path, {"w": np.zeros(2)}, "minigd-weights")
        >>> read_archive(path, "minigd-checkpoint")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: .../w.npz is a minigd-weights file, not a minigd-checkpoint file.
    """
    path = os.fspath(path)
    expected = (kind,) if isinstance(kind, str) else tuple(kind)
    for name in expected:
        _check_kind_name(name)
    max_bytes = check_positive_int(max_bytes, "max_bytes", allow_none=True)
    with open_regular(path, ".npz archive") as file:
        size = os.fstat(file.fileno()).st_size
        limit = max(UNPACK_FLOOR, UNPACK_RATIO * size) if max_bytes is None else max_bytes
        try:
            with zipfile.ZipFile(file) as archive:
                members = _members(path, archive, limit)
                declaration = members.pop(FORMAT_MEMBER, None)
                if declaration is not None:
                    declaration = _read_member(path, archive, declaration)
                _check_declared_kind(path, declaration, expected, members)
                return {name: _read_member(path, archive, info) for name, info in members.items()}
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError,
                KeyError) as error:
            raise ValueError(f"{path} is not a readable .npz archive: {error}") from None


def _members(path: str, archive: zipfile.ZipFile, limit: int) -> dict[str, zipfile.ZipInfo]:
    """name -> member, after checking names and unpacked sizes (before unpacking)."""
    members, total = {}, 0
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"{path} is not a .npz archive of arrays: it holds {info.filename!r}.")
        name = info.filename[: -len(".npy")]
        if name in members:
            raise ValueError(f"{path} is damaged: it holds {info.filename!r} twice.")
        if info.file_size > limit:
            raise ValueError(
                f"{path}: {info.filename!r} would unpack to {info.file_size:,} bytes, more than the "
                f"limit of {limit:,} bytes; if you trust the file, pass a larger max_bytes."
            )
        total += info.file_size
        members[name] = info
    if total > limit:
        raise ValueError(
            f"{path} would unpack to {total:,} bytes in all, more than the limit of {limit:,} bytes; "
            "if you trust the file, pass a larger max_bytes."
        )
    return members


def _read_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member, never trusting its header to size an allocation."""
    where = f"{path}, {info.filename!r}"
    with archive.open(info) as member:
        shape, order, dtype = _npy_header(where, member)
        if dtype.hasobject:
            raise ValueError(f"{where} holds Python objects, which minigd never reads (no pickle).")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size:  # a header promising more data than the member holds
            raise ValueError(f"{where} is damaged: its header declares {nbytes:,} bytes of data.")
        buffer = bytearray(nbytes)  # a bytearray, so the array is writable without a copy
        if member.readinto(buffer) != nbytes or member.read(1):  # reading to the end checks the CRC
            raise ValueError(f"{where} is damaged: its data do not match its header.")
    try:
        return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape, order=order)
    except ValueError as error:
        raise ValueError(f"{where} is damaged: {error}") from None


def _npy_header(where: str, member: IO[bytes]) -> tuple[tuple[int, ...], str, np.dtype]:
    """(shape, "C" or "F", dtype) from a ``.npy`` header."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        version = np.lib.format.read_magic(member)
        if version not in readers:
            raise ValueError(f"unsupported .npy version {version}")
        shape, fortran_order, dtype = readers[version](member)
    except ValueError as error:
        raise ValueError(f"{where} is not a readable .npy array: {error}") from None
    return shape, "F" if fortran_order else "C", dtype


def _check_declared_kind(path: str, declaration: np.ndarray | None, expected: tuple[str, ...],
                         members: Mapping[str, zipfile.ZipInfo]) -> None:
    """Raise ValueError unless the archive is one of the ``expected`` kinds."""
    wanted = " or ".join(expected)
    if declaration is None:
        if "trainer" in members:
            raise ValueError(
                f"{path} is a trainer checkpoint from an older minigd (no {FORMAT_MEMBER!r} member), "
                f"which this version cannot read; expected a {wanted} file. Start the run again."
            )
        if "minigd-weights" in expected:
            return  # a plain np.savez file, as older minigd wrote weights
        raise ValueError(f"{path} is a plain .npz file that declares no kind, not a {wanted} file.")
    try:
        found = json.loads(str(declaration))
        found_kind, version = found["kind"], found["version"]
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path}: its {FORMAT_MEMBER!r} member is damaged ({error!r}).") from None
    if found_kind not in expected:
        raise ValueError(f"{path} is a {found_kind} file, not a {wanted} file.")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} is a {found_kind} file of format version {version!r}, newer than this minigd "
            f"reads ({FORMAT_VERSION}); upgrade minigd."
        )
