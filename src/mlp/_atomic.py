"""Writing a file atomically, the one way every writer in mlp does it (model files, ONNX
models, the command line's CSV and JSON): a new file beside the target, written, flushed to
disk and renamed over the target, so that a crash or error leaves either the old file or the
new one, never a mixture, and no temporary file behind."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from typing import Any, BinaryIO, Callable


def write_atomically(target: str, write: Callable[[BinaryIO], Any], what: str) -> None:
    """Replace ``target`` by what ``write(file)`` writes to a binary file.

    ``what`` names the action in error messages ("cannot {what}: ..."), e.g. "save the
    model". A folder, a path that names no file or a missing folder raise
    ``IsADirectoryError``, ``ValueError`` and ``FileNotFoundError`` before anything is
    written; an exception from ``write`` removes the temporary file and propagates.
    """
    folder, name = os.path.split(os.path.abspath(target))
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, f"cannot {what}: the path is a folder", target)
    if not name or target.endswith((os.sep, os.altsep or os.sep)):
        raise ValueError(f"cannot {what} to {target!r}: the path names no file")
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot {what}: the folder {folder!r} does not exist", target)
    fd, temp = _create_temporary(folder, name, target, what)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(folder)


def _create_temporary(folder: str, name: str, target: str, what: str) -> tuple[int, str]:
    """Create a new, empty file beside ``target``; return its descriptor and path.

    ``os.open`` with ``O_EXCL`` and mode 0o666 (rather than ``tempfile.mkstemp``, which
    creates the file 0o600) so that the written file gets the permissions the umask gives
    any new file."""
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_CLOEXEC", 0))
    for _ in range(100):
        temp = os.path.join(folder, f".{name[:64]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno is None:
                raise
            raise type(exc)(
                exc.errno, f"cannot {what}: cannot create a file in {folder!r} "
                f"({exc.strerror})", target) from None
    raise FileExistsError(
        errno.EEXIST, f"cannot {what}: no free temporary name in {folder!r}", target)


def _sync_folder(folder: str) -> None:
    """Make the rename durable (POSIX: fsync the folder); best effort."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
