"""Which processes may write an output folder, and for how long.

A run holds its output folder with a lock (``<out>/.glyphgen.lock``, ``flock``), so a second
run on the same folder is refused while the first, or any of its forked workers, still lives;
the kernel drops the lock of a process that dies, so a killed run never leaves a stale one.
Pool workers die with their parent (``PR_SET_PDEATHSIG`` on Linux, and a parent check per
sample everywhere): when the OOM killer takes the parent alone, no orphan keeps writing
shards under a run that resumes. Temporary shard folders carry their writer's pid, and are
only swept once that process is gone (``pid_alive``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX (Windows): runs there do not lock their folder
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".glyphgen.lock"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class FolderBusyError(RuntimeError):
    """Another live process is writing the output folder."""


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this machine and is not a zombie (a dead process
    that nobody reaped yet, common in containers: it writes nothing any more)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): trust kill(0)
    return state not in ("Z", "X")


@contextmanager
def hold_folder(out: Path) -> Iterator[None]:
    """Hold ``out`` for this process (and children it forks) until the block ends.

    Raises ``FolderBusyError`` naming the holder's pid when another process holds it."""
    out.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    path = out / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise FolderBusyError(_busy_message(out, path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Closing drops the lock. The file stays: deleting it would race a new holder.
        os.close(fd)


def _busy_message(out: Path, path: Path) -> str:
    try:
        holder = int(path.read_text(encoding="ascii").strip() or "0")
    except (OSError, ValueError):
        holder = 0
    who = f"pid {holder}" if holder else "another process"
    if holder and not pid_alive(holder):
        who += ", now gone, but its worker processes still run"
    return (
        f"{out} is being written by another glyphgen run ({who}; lock {path}). Wait for it to "
        "finish or stop it, then run this command again to resume; or use another --out folder."
    )


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: this worker is killed when its parent dies, however it dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the per-sample check below still holds
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


class ParentGoneError(RuntimeError):
    """The process that started this worker is gone: stop writing."""


def check_parent(parent_pid: int | None) -> None:
    """Raise ``ParentGoneError`` when this worker has outlived ``parent_pid`` (None: not a
    pool worker, nothing to check)."""
    if parent_pid is not None and os.getppid() != parent_pid:
        raise ParentGoneError(f"the run's main process {parent_pid} is gone; this worker stops")
