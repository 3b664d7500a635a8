"""The tracing phase's baseline checkout: the launcher runs another checkout's code, the
summary and table carry ratios to it."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import click
import orjson
import pytest

from bench.baseline import (
    BaselineError,
    Checkout,
    foreign_modules,
    launch_command,
    launch_env,
    packages,
    verify_marker,
)
from bench.cli import build_options
from bench.server import free_port, uvicorn_args
from bench.tracing import (
    BEFORE,
    CONFIGS,
    before_lines,
    configs_for,
    summarize,
    tracing_table,
)

# A checkout whose `infra` shadows this one's: if the launcher imported this checkout's
# infra.asgi, the server would need a database; this one answers "other checkout".
APP = """\
async def _app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"other checkout"})


def app_factory():
    return _app
"""


def _run(rps: float, cpu: float) -> dict[str, Any]:
    return {"rps": rps, "cpu_us_per_request": cpu, "latency_ms": {"p50": 1.0, "p99": 2.0}}


def _checkout(root: Path) -> Checkout:
    return Checkout(root.resolve(), "abc1234", False)


def test_configs_put_the_baseline_checkout_first_with_its_sha(tmp_path: Path) -> None:
    """Without a checkout the three configurations; with one, "before (<sha>)" first, tracing off."""
    assert configs_for(None) == CONFIGS
    first, *rest = configs_for(_checkout(tmp_path))
    assert (first.key, first.label, first.ratio) == (BEFORE, "before (abc1234)", None)
    assert tuple(rest) == CONFIGS
    assert Checkout(tmp_path, "abc1234", True).label == "before (abc1234, modified)"


def test_summary_gives_every_configuration_its_ratios_to_before(tmp_path: Path) -> None:
    """Ratios to before are paired per round like those to off (medians of the rounds')."""
    configs = configs_for(_checkout(tmp_path))
    per_config = {
        BEFORE: [_run(100, 1000), _run(50, 2000), _run(80, 1000)],
        "off": [_run(90, 1100), _run(45, 2200), _run(80, 1200)],
        "sampled_1": [_run(90, 1100), _run(40, 2200), _run(80, 1200)],
        "sampled_100": [_run(50, 2000), _run(25, 4000), _run(40, 2000)],
    }
    rounds = {
        (key, name): runs
        for key, runs in per_config.items()
        for name in ("CategoryListing", "ProductPage")
    }
    found = summarize(rounds, {"CategoryListing": 100, "ProductPage": 50}, configs)
    runs = found["operations"]["ProductPage"]["runs"]
    assert list(runs) == [BEFORE, "off", "sampled_1", "sampled_100"]
    assert runs["off"]["ratio_to_before"] == 0.9
    assert runs["off"]["cpu_ratio_to_before"] == 1.1
    assert runs["off"]["cpu_us_added_to_before"] == 200.0
    assert runs[BEFORE]["ratio_to_off"] == 1.111
    assert runs[BEFORE]["ratio_to_before"] == 1.0
    assert runs["sampled_100"]["ratio_to_before"] == 0.5
    assert runs["sampled_100"]["cpu_us_added_to_before"] == 1000.0
    assert found["operations"]["ProductPage"]["before_spread"] == 2.0
    table = tracing_table(found).splitlines()
    assert table[0].count("|") == table[1].count("|") == 16
    assert "| ratio to before | CPU ratio to before | CPU µs added to before |" in table[0]
    assert table[2].startswith(
        "| CategoryListing | before (abc1234) | 80 | 1.111 | 1,000 | 0.9091 | -200 | 1.0 | 1.0 | 0 |"
    )
    assert table[3].endswith("| 0.9 | 1.1 | 200 | 1.0 | 2.0 | - | - | - |")
    found[BEFORE] = {
        "root": "/tmp/base",
        "sha": "abc1234",
        "modified": False,
        "modules_checked": 256,
        "same_data_as_off": {"CategoryListing": True, "ProductPage": False},
    }
    assert before_lines(found) == [
        "Before: commit abc1234 from /tmp/base, tracing off; its server imported 256 modules"
        " of ours, every one from that checkout; its first answer per operation had the same"
        " data as tracing off's: CategoryListing True, ProductPage False.",
        "CategoryListing: tracing off costs 10.0% of throughput and +10.0% CPU per request"
        " (+200 µs) against before; before's rounds spread 2.0x.",
        "ProductPage: tracing off costs 10.0% of throughput and +10.0% CPU per request"
        " (+200 µs) against before; before's rounds spread 2.0x.",
    ]
    without = summarize(rounds, {"CategoryListing": 100, "ProductPage": 50})
    assert "ratio_to_before" not in without["operations"]["ProductPage"]["runs"]["off"]
    assert [line.count("|") for line in tracing_table(without).splitlines()[:3]] == [13, 13, 13]


def test_modules_outside_the_checkout_are_named(tmp_path: Path) -> None:
    """Every module of ours must come from the checkout; an empty list is refused too."""
    checkout = _checkout(tmp_path)
    inside = str(checkout.root / "infra" / "asgi.py")
    assert foreign_modules(checkout, {"modules": {"infra.asgi": inside}}) == []
    assert foreign_modules(
        checkout, {"modules": {"infra.asgi": inside, "infra.app": "/work/main/infra/app.py"}}
    ) == ["infra.app: /work/main/infra/app.py"]
    assert foreign_modules(checkout, {"modules": {}}) == ["(the marker lists no module of ours)"]


def test_the_checkout_goes_first_on_pythonpath(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    assert launch_env(checkout, {"A": "1"}) == {"A": "1", "PYTHONPATH": str(checkout.root)}
    assert launch_env(checkout, {"PYTHONPATH": "/x"})["PYTHONPATH"] == f"{checkout.root}:/x"


def test_a_baseline_checkout_needs_the_tracing_phase() -> None:
    with pytest.raises(click.BadParameter, match="only the tracing phase"):
        build_options(
            quick=True,
            workers=1,
            connections=4,
            threads=2,
            duration=None,
            warmup=None,
            operations=None,
            scales=None,
            freshness=False,
            rebuild=False,
            only="security",
            baseline_checkout=Path("/tmp"),
        )


def test_the_launcher_serves_the_other_checkouts_code(tmp_path: Path) -> None:
    """A checkout whose `infra` package shadows this one's (the editable install's .pth
    puts this one on sys.path too): its app answers, and the marker lists its files only."""
    root = tmp_path / "checkout"
    (root / "infra").mkdir(parents=True)
    (root / "infra" / "__init__.py").write_text("")
    (root / "infra" / "asgi.py").write_text(APP)
    checkout = _checkout(root)
    assert packages(checkout.root) == ["infra"]
    marker, port = tmp_path / "modules.json", free_port()
    process = subprocess.Popen(
        launch_command(checkout, marker, uvicorn_args(port, 1)),
        env=launch_env(checkout, {"PATH": "/usr/bin:/bin"}),
        cwd=checkout.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        answer = _poll_answer(f"http://127.0.0.1:{port}/", process)
        assert answer == b"other checkout"
        assert verify_marker(checkout, marker) == 2
        written = orjson.loads(marker.read_bytes())
        assert written["modules"] == {
            "infra": str(checkout.root / "infra" / "__init__.py"),
            "infra.asgi": str(checkout.root / "infra" / "asgi.py"),
        }
        assert written["cwd"] == str(checkout.root)
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_marker_from_this_checkout_is_refused(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "base")
    marker = tmp_path / "modules.json"
    marker.write_bytes(orjson.dumps({"modules": {"infra": "/work/main/infra/__init__.py"}}))
    with pytest.raises(
        BaselineError,
        match=r"imported 1 module\(s\) from outside .*: infra: /work/main/infra/__init__.py",
    ):
        verify_marker(checkout, marker)
    with pytest.raises(BaselineError, match="wrote no readable marker"):
        verify_marker(checkout, tmp_path / "missing.json")


def _poll_answer(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> bytes:
    """The server's answer once it listens (polled with a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the launcher exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
