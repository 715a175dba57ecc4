"""The server's work folder: made fresh at start, marked with its owner, and what dead servers left is removed.

A server stopped normally removes its folder (uploads, results). One killed with `kill -9` cannot, so each folder is
named after its owner, `brushwork-serve-PID-START-xxxx` (START: the process's start time, which tells a reused pid
from the owner); a starting server removes every sibling folder whose owner is no longer running. Folders named
otherwise are left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "brushwork-serve-"


def make_work_folder(parent: str | os.PathLike | None) -> tuple[Path, list[Path]]:
    """A fresh work folder in `parent` (default: the system temp folder), and the dead servers' folders removed."""
    parent = Path(parent or tempfile.gettempdir())
    removed = [f for f in parent.glob(f"{PREFIX}*") if f.is_dir() and _is_dead(f)]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{_identity(os.getpid()).replace(' ', '-')}-", dir=parent))
    return work, removed


def _is_dead(folder: Path) -> bool:
    pid_text, started, *_ = folder.name.removeprefix(PREFIX).split("-") + ["", ""]
    if not pid_text.isdigit() or not started:
        return False  # not ours to judge
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return _identity(pid) != f"{pid} {started}"  # alive, but is it the owner or a later process with its pid?


def _identity(pid: int) -> str:
    """'pid start-time' of a running process ('pid 0' where /proc has no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        started = stat.rpartition(")")[2].split()[19]  # field 22, after the command name in parentheses
    except (OSError, IndexError):
        started = "0"
    return f"{pid} {started}"
