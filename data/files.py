"""Writing a file so that a crash never leaves a half-written one: every output of brushwork goes through here.

    atomic_write("report.json", lambda f: f.write(data))   # through a file object
    with atomic_path("holiday.mp4") as tmp:                 # by name, for writers that open the file themselves
        encode_video(tmp)                                   # (tmp keeps the suffix: PyAV picks the container by it)

The temp file sits beside the target (same file system, so the rename is atomic), is fsynced, and replaces the
target only once the writing has returned; on any error or Ctrl-C it is removed and an old target stays as it was.
The result has the permissions a plain open() would give (0666 minus the umask), whichever way it was written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import BrushworkError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temp file's path beside `path` to write; put in place of `path` when the block ends without an error."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as e:
        raise BrushworkError(f"{path}: cannot write there ({e.strerror}); choose another output path") from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the permissions open() would
        os.replace(tmp, path)
    finally:  # on success tmp is already `path`; on any failure nothing stays under either name
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path: str | os.PathLike, write: Callable) -> None:
    """Call write(file_object) on a temp file beside `path`, then put it in place (see atomic_path)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
