"""`python -m bench`: the same command as `vitrine bench`."""

from __future__ import annotations

from bench.cli import bench

if __name__ == "__main__":
    bench(prog_name="python -m bench")
