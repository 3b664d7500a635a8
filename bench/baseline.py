"""A server of another checkout (an older commit), to measure today's code against it.

The tracing phase's "off" server already pays for the observability work
(per-resolver timing, the SDK's provider with a sampler that drops instead of
the no-op tracer), so "off" alone cannot show what that work costs when
nothing is traced. `--baseline-checkout DIR` adds a server run from DIR (a
clone or worktree of an older commit) to the same interleaved rounds.

The project is an editable install: its `.pth` puts this checkout on
`sys.path`, after whatever comes first. The baseline server starts with the
same interpreter, its working directory and `PYTHONPATH` set to DIR (so DIR
is found before the `.pth` entry), through a launcher that imports the app's
module and writes where every module of our packages came from to a marker
file before uvicorn starts; the benchmark refuses the run unless every one of
them is under DIR.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

# What the launcher imports before writing the marker: the app factory's module,
# which imports the app and, through it, every layer the server runs.
APP_MODULE = "infra.asgi"
# Run with `python -c`: argv[1] the marker path, argv[2] the module to import,
# argv[3] our top-level packages (comma-separated), the rest uvicorn's own
# arguments. `-c` puts the working directory (DIR) first on sys.path; uvicorn's
# spawned workers inherit sys.path.
LAUNCHER = """\
import importlib, json, os, sys
marker, app, packages = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
importlib.import_module(app)
files = {
    name: getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
    for name, module in sorted(sys.modules.items())
    if name.split(".")[0] in packages
}
with open(marker, "w") as out:
    json.dump({"cwd": os.getcwd(), "sys_path": sys.path[:4], "modules": files}, out)
sys.argv = ["uvicorn", *sys.argv[4:]]
from uvicorn.main import main
main()
"""


class BaselineError(Exception):
    """The baseline checkout is unusable, or its server ran another checkout's code."""


@dataclass(frozen=True)
class Checkout:
    """Another checkout of the project: where it is and which commit it holds."""

    root: Path
    sha: str
    dirty: bool

    @property
    def label(self) -> str:
        return f"before ({self.sha}{', modified' if self.dirty else ''})"


def _git(root: Path, *args: str) -> str:
    """A read-only git command in `root` (rev-parse, status): its stdout."""
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BaselineError(f"git {' '.join(args)} in {root}: {done.stderr.strip()}")
    return done.stdout


def open_checkout(directory: Path) -> Checkout:
    """The checkout at `directory`: it must hold the app module and be a git work tree."""
    root = directory.resolve()
    if not (root / Path(*APP_MODULE.split("."))).with_suffix(".py").is_file():
        raise BaselineError(f"{root} is not a checkout of this project (no {APP_MODULE})")
    sha = _git(root, "rev-parse", "--short", "HEAD").strip()
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no").strip())
    return Checkout(root, sha, dirty)


def packages(root: Path) -> list[str]:
    """Our top-level packages in a checkout: the directories with an __init__.py."""
    return sorted(p.parent.name for p in root.glob("*/__init__.py"))


def launch_command(checkout: Checkout, marker: Path, uvicorn_args: Sequence[str]) -> list[str]:
    """The command that runs uvicorn on the checkout's code, writing `marker` first."""
    return [
        sys.executable,
        "-c",
        LAUNCHER,
        str(marker),
        APP_MODULE,
        ",".join(packages(checkout.root)),
        *uvicorn_args,
    ]


def launch_env(checkout: Checkout, env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the checkout first on PYTHONPATH (before the editable install's .pth)."""
    rest = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": os.pathsep.join([str(checkout.root), *([rest] if rest else [])])}


def foreign_modules(checkout: Checkout, marker: Mapping[str, object]) -> list[str]:
    """The marker's modules whose file is not under the checkout ("name: file")."""
    modules = marker.get("modules")
    if not isinstance(modules, dict) or not modules:
        return ["(the marker lists no module of ours)"]
    root = str(checkout.root) + os.sep
    return [
        f"{name}: {path or '(no file)'}"
        for name, path in modules.items()
        if not (isinstance(path, str) and path.startswith(root))
    ]


def verify_marker(checkout: Checkout, marker: Path) -> int:
    """Raise BaselineError unless every module of ours the server imported is the
    checkout's; return how many there were."""
    try:
        found = orjson.loads(marker.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise BaselineError(
            f"the baseline server wrote no readable marker {marker}: {exc}"
        ) from exc
    foreign = foreign_modules(checkout, found)
    if foreign:
        shown = "; ".join(foreign[:5])
        raise BaselineError(
            f"the baseline server imported {len(foreign)} module(s) from outside"
            f" {checkout.root}: {shown}"
        )
    return len(found["modules"])
