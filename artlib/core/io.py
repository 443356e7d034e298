"""File I/O at the library's edge: atomic writes (a crash never leaves a truncated file where a
good one was, and outputs get the permissions the umask allows), and reads of regular files only,
with size limits (a FIFO, device or socket is refused by name, never opened)."""
from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import ArtlibError

#: Largest JSON file read (schedules, configs).
JSON_MAX_BYTES = 16 << 20
#: Largest checkpoint or weights file read.
TORCH_MAX_BYTES = 4 << 30


def check_input_file(path: str | os.PathLike, what: str, max_bytes: int) -> Path:
    """``path`` as a Path after checking it is an existing regular file of at most ``max_bytes``."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ArtlibError(f"{what} {path}: file not found") from None
    except OSError as e:
        raise ArtlibError(f"{what} {path}: cannot read ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ArtlibError(f"{what} {path}: is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise ArtlibError(f"{what} {path}: not a regular file (a FIFO, device or socket is not read)")
    if st.st_size > max_bytes:
        raise ArtlibError(f"{what} {path}: {st.st_size} bytes is over the limit of {max_bytes}")
    if not os.access(path, os.R_OK):
        raise ArtlibError(f"{what} {path}: permission denied")
    return path


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file: the same resolved path, or (both existing) the same inode
    (a hard link, or a path through another link)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_path_text(path: str | os.PathLike, what: str) -> None:
    """Refuse a path with control characters (a newline in a file name breaks every listing)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in str(path)):
        raise ArtlibError(f"{what} {str(path)!r}: the path holds a control character (a newline, tab, ...)")


def check_output_file(path: str | os.PathLike, what: str, *, not_same_as=()) -> Path:
    """Check, before any work, that ``path`` can be written: no control characters, not a
    directory, its folder exists and is writable, and it is none of the files in ``not_same_as``
    (the inputs: by resolved path and by inode)."""
    check_path_text(path, what)
    path = Path(path)
    if path.is_dir():
        raise ArtlibError(f"{what} {path}: is a directory, expected a file path")
    if str(path) == "" or path.name in ("", ".", ".."):
        raise ArtlibError(f"{what}: expected a file path, got {str(path)!r}")
    if path.exists() and not path.is_file():
        raise ArtlibError(f"{what} {path}: exists and is not a regular file")
    parent = path.parent
    if not parent.is_dir():
        raise ArtlibError(f"{what} {path}: folder {parent} does not exist")
    for other in not_same_as:
        if other and same_file(other, path):
            raise ArtlibError(f"{what} {path}: must differ from {other}, which it would overwrite")
    try:   # the one reliable test (read-only mounts, /proc, quotas): create a file there
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ArtlibError(f"{what} {path}: cannot write in {parent} ({e.strerror})") from None
    return path


def check_folder(path: str | os.PathLike, what: str, *, writes=None, not_same_as=()) -> Path:
    """An output folder, checked before any work: a folder, or creatable in an existing one, and
    writable. ``writes(name)`` says whether the command writes a file of that path relative to the
    folder; none of them may be one of the files in ``not_same_as`` (by path or inode)."""
    check_path_text(path, what)
    path = Path(path)
    for other in not_same_as:
        if other and writes is not None and _writes_onto(path, Path(other), writes):
            raise ArtlibError(f"{what} {path}: would overwrite {other}, an input")
    if path.exists() and not path.is_dir():
        raise ArtlibError(f"{what} {path} exists and is not a folder")
    if not path.exists() and not path.parent.is_dir():
        raise ArtlibError(f"{what} {path}: folder {path.parent} does not exist")
    where = path if path.exists() else path.parent
    try:                                   # a real probe: os.access says yes to root on /proc
        tempfile.TemporaryDirectory(dir=where, prefix=".artlib-probe-").cleanup()
    except OSError as e:
        raise ArtlibError(f"{what} {path}: not writable ({e.strerror or e})") from None
    return path


def _writes_onto(folder: Path, other: Path, writes) -> bool:
    """Whether the folder's outputs (``writes(relative path)``) include the file ``other``: by its
    resolved path, or by inode through any existing file of the folder."""
    if not other.exists():
        return False
    try:
        rel = other.resolve().relative_to(folder.resolve())
        if writes(rel.as_posix()):
            return True
    except ValueError:
        pass
    if not folder.is_dir():
        return False
    target = os.stat(other)
    for root, _, files in os.walk(folder):
        for name in files:
            p = Path(root) / name
            if writes(p.relative_to(folder).as_posix()):
                st = os.stat(p)
                if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                    return True
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place."""
    return atomic_write_many([(path, write)])[0]


def atomic_write_many(items: list[tuple[str | os.PathLike, Callable[[str], None]]]) -> list[Path]:
    """Write several files together: every ``write(tmp)`` first, then every rename, so a failure
    in any write leaves all the old files as they were. New files get mode 0666 less the umask."""
    paths = [Path(p) for p, _ in items]
    for path in paths:
        if path.is_dir():
            raise ArtlibError(f"{path} is a directory, expected a file path")
        path.parent.mkdir(parents=True, exist_ok=True)
    tmps: list[str] = []
    try:
        for path, (_, write) in zip(paths, items):
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            tmps.append(tmp)
            write(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
    except BaseException:
        for tmp in tmps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    return paths


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read a JSON file (a regular file of at most ``JSON_MAX_BYTES``), with one-line errors."""
    path = check_input_file(path, what, JSON_MAX_BYTES)
    try:
        with open(path) as f:
            return json.load(f)
    except PermissionError:
        raise ArtlibError(f"{what} {path}: permission denied") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtlibError(f"{what} {path}: not valid JSON ({e})") from None
    except RecursionError:
        raise ArtlibError(f"{what} {path}: nested too deeply") from None


def torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` atomically (tensors, numbers, strings, lists and dicts only). A write that
    fails (a full disk) is an ``OSError`` naming the file, as any other failed write is; torch
    reports it as a RuntimeError of its own."""
    import torch

    def write(tmp: str) -> None:
        try:
            torch.save(obj, tmp)
        except RuntimeError as e:
            raise OSError(errno.EIO, f"cannot write ({str(e).splitlines()[0][:120]}); is the disk full?", str(path)) from None
    return atomic_write(path, write)


def torch_load(path: str | os.PathLike, what: str = "checkpoint") -> Any:
    """Load one of our own files with ``weights_only=True`` (nothing of ours is a pickle); a file
    that is not one of ours is refused with one line, without torch's advice to unpickle it."""
    import torch
    path = check_input_file(path, what, TORCH_MAX_BYTES)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several unrelated types for corrupt or foreign files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Weights only load failed" in str(e):
            first = "it holds Python objects, not plain tensors (artlib never unpickles code)"
        raise ArtlibError(f"cannot load {what} {path}: {first}") from None
    if not isinstance(obj, dict):
        raise ArtlibError(f"{what} {path}: expected a dict of tensors, got {type(obj).__name__}")
    return obj
