"""Driving wrk: one Lua script per run, its JSON summary parsed back, the server's
CPU time and memory measured around it.

wrk generates load from C at a fixed concurrency, so the client costs little
of the shared CPU; our Lua only hands it pre-formatted requests. Every run,
GraphQL or floor, goes through the same template and settings, which is what
makes their ratio meaningful.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.procstats import RssSampler, cpu_by_pid, cpu_seconds, database_backends
from bench.server import Server

TEMPLATE = Path(__file__).resolve().parent / "lua" / "bodies.lua"
WRK_MISSING = (
    "wrk is not installed: sudo apt-get install wrk (Debian/Ubuntu) or brew install wrk (macOS)"
)


class LoadError(Exception):
    """wrk is missing, failed, or reported nothing."""


@dataclass(frozen=True)
class LoadSettings:
    """The wrk settings shared by every run of a suite."""

    connections: int
    threads: int
    duration: float
    warmup: float
    timeout: float = 10.0


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms) and errors."""

    requests: int
    duration_s: float
    bytes: int
    errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def non_2xx(self) -> int:
        return self.errors["status"]

    @property
    def socket_errors(self) -> int:
        return sum(self.errors[k] for k in ("connect", "read", "write", "timeout"))

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rps": round(self.rps, 1),
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
        }


def parse_wrk_json(text: str) -> WrkResult:
    """The JSON our Lua `done()` writes (microseconds) as a WrkResult (seconds, ms)."""
    raw = json.loads(text)
    latency = raw["latency_us"]
    return WrkResult(
        requests=int(raw["requests"]),
        duration_s=float(raw["duration_us"]) / 1e6,
        bytes=int(raw["bytes"]),
        errors={k: int(v) for k, v in raw["errors"].items()},
        latency_ms={k: float(latency[k]) / 1000 for k in ("p50", "p95", "p99", "mean", "max")},
    )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadError(WRK_MISSING)
    return path


def lua_string(value: str) -> str:
    """A Lua string literal (JSON's escapes are a subset of Lua's)."""
    return json.dumps(value)


def lua_headers(extra: Mapping[str, str] | None = None) -> str:
    """The request headers as a Lua table: JSON's content type, then `extra` (the
    dashboard phase's Authorization)."""
    headers = {"Content-Type": "application/json", **(extra or {})}
    fields = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
    return "{ " + fields + " }"


def render_script(
    *,
    bodies: Path,
    result: Path,
    request_path: str,
    threads: int,
    headers: Mapping[str, str] | None = None,
) -> str:
    return (
        TEMPLATE.read_text()
        .replace("{{BODIES}}", lua_string(str(bodies)))
        .replace("{{RESULT}}", lua_string(str(result)))
        .replace("{{PATH}}", lua_string(request_path))
        .replace("{{THREADS}}", str(threads))
        .replace("{{HEADERS}}", lua_headers(headers))
    )


def write_bodies(path: Path, bodies: Sequence[dict[str, Any]]) -> None:
    """One compact JSON body per line (orjson never emits a raw newline)."""
    path.write_bytes(b"\n".join(orjson.dumps(body) for body in bodies) + b"\n")


# Given the run's result path and label, the text of its Lua script (the cache phase's).
ScriptFactory = Callable[[Path, str], str]


def run_wrk(
    base_url: str,
    *,
    bodies: Path,
    request_path: str,
    settings: LoadSettings,
    seconds: float,
    workdir: Path,
    label: str,
    on_progress: Callable[[float], None] | None = None,
    script: ScriptFactory | None = None,
) -> WrkResult:
    """Run wrk for `seconds` against base_url + request_path; raises LoadError if it fails.

    The script is bodies.lua over `bodies`, unless `script` writes another one."""
    wrk = require_wrk()
    result = workdir / f"{label}.json"
    script_path = workdir / f"{label}.lua"
    result.unlink(missing_ok=True)
    script_path.write_text(
        script(result, label)
        if script is not None
        else render_script(
            bodies=bodies, result=result, request_path=request_path, threads=settings.threads
        )
    )
    command = [
        wrk,
        f"--threads={settings.threads}",
        f"--connections={settings.connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={settings.timeout:g}s",
        f"--script={script_path}",
        base_url,
    ]
    with (workdir / f"{label}.out").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        started = last = time.monotonic()
        while process.poll() is None:
            time.sleep(0.25)
            now = time.monotonic()
            if on_progress is not None:
                on_progress(min(now, started + seconds) - min(last, started + seconds))
            last = now
    if process.returncode != 0 or not result.exists():
        output = (workdir / f"{label}.out").read_text(errors="replace")[-2000:]
        raise LoadError(f"wrk failed (exit {process.returncode}) for {label}:\n{output}")
    return parse_wrk_json(result.read_text())


def measure_load(
    server: Server,
    *,
    settings: LoadSettings,
    bodies: Path,
    request_path: str,
    label: str,
    scratch: Path,
    logdir: Path,
    tick: Callable[[float], None] | None = None,
    script: ScriptFactory | None = None,
) -> dict[str, Any]:
    """A warm-up, then one measured run with the server's CPU time and RSS around it.

    CPU is utime + stime of the whole process tree before and after the
    measured run (warm-up excluded), divided by the requests it completed;
    the same for the dataset's PostgreSQL backends when they run here."""

    def run(seconds: float, workdir: Path, name: str) -> WrkResult:
        return run_wrk(
            server.url,
            bodies=bodies,
            request_path=request_path,
            settings=settings,
            seconds=seconds,
            workdir=workdir,
            label=name,
            on_progress=tick,
            script=script,
        )

    if settings.warmup > 0:
        run(settings.warmup, scratch, f"{label}-warmup")
        server.check()
    pids = server.pids()
    cpu_before = cpu_seconds(pids)
    db_before = cpu_by_pid(database_backends(server.database))
    with RssSampler(pids) as sampler:
        result = run(settings.duration, logdir, label)
    cpu = cpu_seconds(pids) - cpu_before
    db_after = cpu_by_pid(database_backends(server.database))
    # A backend that started during the run counts from zero; one that ended is lost
    # (rare: the pool keeps its connections).
    db_cpu = sum(seconds - db_before.get(pid, 0.0) for pid, seconds in db_after.items())
    server.check()
    return {
        **result.as_dict(),
        "cpu_seconds": round(cpu, 3),
        "cpu_us_per_request": _per_request(cpu, result.requests),
        "db_backends": len(db_after),
        "db_cpu_seconds": round(db_cpu, 3) if db_after else None,
        "db_cpu_us_per_request": _per_request(db_cpu, result.requests) if db_after else None,
        "memory": sampler.result(),
    }


def _per_request(seconds: float, requests: int) -> float | None:
    return round(seconds / requests * 1e6, 1) if requests else None
