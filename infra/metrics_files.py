"""prometheus-client's multiprocess directory: which one, wiped when a run starts, a
worker's live gauges removed when it stops.

prometheus-client decides at import whether values live in memory or in files
under `PROMETHEUS_MULTIPROC_DIR` (one file per process and metric type), so the
environment variable is the switch and the library's choice is read back here
rather than parsed again.

Wiping at start cannot be left to the first worker blindly: under
`uvicorn --workers N` every worker builds the app, and a late one must not
delete what its siblings already counted. A run is identified by the process
that started this one: its parent's pid and start time (pids are reused; a
pid and a start time, with the boot they belong to, are not). Workers
spawned or forked by one supervisor (uvicorn's, or any other that forks) share
a run, and so do the workers it restarts; a new supervisor, or a container
whose PID 1 started again, is a new run. A process whose parent cannot be
read (pid 0: it is PID 1 itself) is a run of its own. Without /proc (not
Linux) the parent's pid alone identifies the run.

The first process of a new run removes the files of processes that are gone
(the last run's); a worker that joins a run (a sibling, or one the supervisor
restarted) only drops the live gauges of dead workers, keeping their counters
so the sums never go backwards. One consequence: a lone process started again
by the same parent (the same shell, the same supervisor) continues the run,
its predecessor's counts included.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_RUN_FILE = ".run"  # not *.db: MultiProcessCollector reads only those
_LOCK_FILE = ".lock"


def multiprocess_directory() -> Path | None:
    """The directory values are written to, or None when prometheus-client keeps them in
    memory (PROMETHEUS_MULTIPROC_DIR was unset when it was imported)."""
    if not getattr(values.ValueClass, "_multiprocess", False):
        return None
    directory = os.environ.get(VARIABLE) or os.environ.get(VARIABLE.lower())
    return None if not directory else Path(directory)


def current_run() -> str:
    """The same for every process one parent started, new for each start of the parent."""
    parent = os.getppid()
    if parent == 0:  # PID 1 of a container, or a process whose parent is outside its namespace
        return run_of("process", os.getpid(), _read(f"/proc/{os.getpid()}/stat"), _boot_id())
    return run_of("children of", parent, _read(f"/proc/{parent}/stat"), _boot_id())


def run_of(who: str, pid: int, stat: str | None, boot_id: str | None) -> str:
    """A run's name from a process's pid and its /proc/<pid>/stat text (None: unreadable).

    The start time is the stat line's 22nd field, counted after the command name, which
    is in parentheses and may itself hold spaces and parentheses."""
    name = f"{who} {pid}"
    if stat is None:
        return name
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or not fields[19].isdigit():
        return name
    return f"{name} started {fields[19]} of boot {boot_id or 'unknown'}"


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _boot_id() -> str | None:
    boot = _read("/proc/sys/kernel/random/boot_id")
    return None if boot is None else boot.strip()


def _pid_of(file: Path) -> int | None:
    tail = file.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, not ours to judge
    return True


def prepare_directory(directory: Path, run: str) -> None:
    """Create `directory`; on a new run remove dead processes' files, within a run only
    their live gauges. Call before this process creates any metric value."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / _LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = directory / _RUN_FILE
        previous = marker.read_text() if marker.exists() else None
        dead = {
            pid
            for file in directory.glob("*.db")
            if (pid := _pid_of(file)) is not None and not _alive(pid)
        }
        for pid in dead:
            if previous == run:
                mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
            else:
                for file in directory.glob(f"*_{pid}.db"):
                    with contextlib.suppress(FileNotFoundError):
                        file.unlink()
        marker.write_text(run)


def release(directory: Path, pid: int) -> None:
    """At a worker's exit: its live gauges stop counting (its counters stay summed)."""
    mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
