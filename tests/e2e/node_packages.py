"""Node.js test programs: their tools found (or the test skipped, or failed where CI
requires them) and their package installed with `npm ci` on first use."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def installed_node(
    directory: Path, package: str, *, needs: tuple[str, ...], missing: str, required_by: str
) -> str:
    """The path of `node`, once `package` is installed in `directory`. Without one of the
    commands `needs` names: a skip, or a failure when the variable `required_by` is 1."""
    found = {command: shutil.which(command) for command in ("node", "npm", *needs)}
    node, npm = found["node"], found["npm"]
    if node is None or npm is None or None in found.values():
        if os.environ.get(required_by) == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    if not (directory / "node_modules" / package).is_dir():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}{installed.stderr}"
    return node
