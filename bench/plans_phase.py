"""The plans phase: compiled execution plans against graphql-core, end to end.

Part one, **served operations**: per contract operation, the load phase's
Zipf-drawn variables sent as persisted requests (APQ POSTs carrying only
the hash and the variables; each document registered once before, by a
POST with its text and hash) to two servers of one worker each, the response
cache off:

- **reference**: `VITRINE_COMPILED_PLANS=false`, every request on graphql-core;
- **compiled**: plans on, every request on the document's compiled plan;

each beside the floor of the operation's typical answer size, measured right
before on the same bodies. `/metrics` around every run proves where the
requests ran: `vitrine_plan_executions` must grow by at least the measured
requests on the compiled server, with no fallback, and stay put on the
reference one; otherwise the phase fails. Before any load, every distinct body
is sent once to the compiled server (no errors allowed, and the answers give
the typical size), and a sample is sent to both servers: their answers must be
identical, byte for byte.

Part two, **in memory**: no database, a 50 x 8 list of scalars (400 fields)
from bench/inmemory_app.py (graphql-core, the compiled plan, and a Starlette
floor answering the same bytes, in one uvicorn process), and, when node and npm
are there, graphql-jit serving the same list over node:http
(bench/node_jit/server.mjs, installed into bench/node_jit/node_modules with
`npm ci` on first use), with JSON.stringify and with its fast-json-stringify
serializer. Same wrk settings for all. The targets: the compiled plan at least
as fast as graphql-jit, and its p99 within twice its p50.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.apq import forget_apq
from bench.cache_phase import apq_extensions, probe, ratio_to
from bench.inmemory_app import ANSWER, FIELDS, ITEM_COUNT, QUERY, execution_costs, item_values
from bench.load import LoadSettings, measure_load, write_bodies
from bench.server import (
    Server,
    _stop,
    _wait_ready,
    check_answer,
    free_port,
    preflight,
    running_server,
    uvicorn_command,
)
from bench.workload import Body, Operation, distinct
from infra.progress import console, progress_bar

EXECUTIONS = "vitrine_plan_executions_total"
FALLBACKS = "vitrine_plan_fallbacks_total"
COMPILED = "vitrine_plans_compiled"
DIFFERENTIAL_BODIES = 50
JSON_HEADERS = {"Content-Type": "application/json"}
NODE_DIR = Path(__file__).resolve().parent / "node_jit"
NPM_TIMEOUT = 300
NODE_MEASURE_TIMEOUT = 120
INPROCESS_PASSES = 3
P99_TARGET = 2.0  # compiled p99 at most this many times its p50
NO_DATABASE = "(no database)"  # no PostgreSQL backend has this in its title

# (key, label) of the served runs, in the report's order.
SERVED_RUNS = (
    ("floor", "floor (HTTP only)"),
    ("reference", "graphql-core (plans off)"),
    ("compiled", "compiled plan"),
)
# (key, label, server, path) of the in-memory runs, in the report's order.
INMEMORY_RUNS = (
    ("floor", "Starlette floor (same bytes)", "python", "/floor"),
    ("reference", "graphql-core + orjson", "python", "/reference"),
    ("compiled", "compiled plan + orjson, at the ASGI edge", "python", "/compiled"),
    ("compiled_routed", "compiled plan + orjson, routed", "python", "/starlette/compiled"),
    ("graphql_jit", "graphql-jit (JSON.stringify)", "node", "/graphql"),
    ("graphql_jit_fjs", "graphql-jit (fast-json-stringify)", "node", "/graphql-fjs"),
)


class PlansPhaseError(Exception):
    """Requests did not run where the phase says they did, or answered differently."""


# Pure helpers.


def persisted_body(body: Body) -> Body:
    """The body as a persisted request: the APQ hash and the variables, no text."""
    return {"variables": body.get("variables"), "extensions": apq_extensions(body["query"])}


def registration_body(body: Body) -> Body:
    """The APQ registration: text, hash and variables (runs once, registers the hash)."""
    return {
        "query": body["query"],
        "variables": body.get("variables"),
        "extensions": apq_extensions(body["query"]),
    }


def metric_sums(text: str) -> dict[str, float]:
    """Prometheus text as name -> sum of its samples (labelled ones added up)."""
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0].strip()
        try:
            sums[name] = sums.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return sums


def tail_ratio(run: Mapping[str, Any]) -> float | None:
    """p99 / p50 of a run (None when it has no latencies)."""
    latency = run.get("latency_ms") or {}
    return ratio_to(latency.get("p99"), latency.get("p50"))


def targets(inmemory: Mapping[str, Any]) -> dict[str, Any]:
    """The product's targets on the in-memory list: compiled >= graphql-jit under wrk
    (with each serializer), compiled p99 <= 2 x p50; beside them, the in-process
    speed ratios (graphql-jit's µs / the compiled plan's, without HTTP)."""
    runs = inmemory.get("runs") or {}
    inprocess = inmemory.get("inprocess_us") or {}
    compiled = runs.get("compiled") or {}
    found: dict[str, Any] = {}
    for key in ("graphql_jit", "graphql_jit_fjs"):
        jit = runs.get(key) or {}
        share = ratio_to(compiled.get("rps"), jit.get("rps"))
        found[f"compiled_over_{key}"] = share
        found[f"compiled_at_least_{key}"] = None if share is None else share >= 1
        found[f"inprocess_compiled_over_{key}"] = ratio_to(
            inprocess.get(key), inprocess.get("compiled")
        )
    tail = tail_ratio(compiled)
    found["compiled_p99_over_p50"] = tail
    found["compiled_p99_within_2x_p50"] = None if tail is None else tail <= P99_TARGET
    return found


# The measurements.


@dataclass
class PlansContext:
    """What the phase needs from the suite."""

    database_url: str
    settings: LoadSettings
    scratch: Path
    logdir: Path
    problems: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        self.problems.append(message)
        console.print(f"[bold red]{message}")


Tick = Callable[[float], None]


def measure_plans(
    ctx: PlansContext, chosen: Sequence[Operation], requests: Mapping[str, list[Body]]
) -> dict[str, Any]:
    """Both parts of the phase; raises PlansPhaseError when plans are not where expected."""
    names = [op.name for op in chosen if op.name in requests]
    jit_command, jit = graphql_jit_command()
    if jit_command is None:
        console.print(f"[yellow]graphql-jit skipped[/]: {jit.get('skipped')}")
    inmemory_runs = sum(1 for run in INMEMORY_RUNS if run[2] == "python" or jit_command)
    per_run = ctx.settings.warmup + ctx.settings.duration
    total = (len(SERVED_RUNS) * len(names) + inmemory_runs) * per_run
    results: dict[str, Any] = {
        "workers": 1,
        "response_cache": False,
        "requests": "APQ POST: extensions.persistedQuery.sha256Hash + variables",
    }
    with progress_bar() as progress:
        task = progress.add_task("plans: reference, compiled, in memory", total=total)

        def tick(seconds: float) -> None:
            progress.advance(task, seconds)

        results.update(_served(ctx, names, requests, tick))
        results["inmemory"] = _inmemory(ctx, jit_command, jit, tick)
        progress.update(task, completed=total)
    results["targets"] = targets(results["inmemory"])
    return results


def _plan_counters(server: Server) -> dict[str, float]:
    found = probe(f"{server.url}/metrics")
    if found.status != 200:
        raise PlansPhaseError(f"GET /metrics answered {found.status}")
    sums = metric_sums(found.body.decode(errors="replace"))
    if EXECUTIONS not in sums:
        raise PlansPhaseError(f"/metrics has no {EXECUTIONS}: is the plan compiler wired?")
    return {
        "executions": sums[EXECUTIONS],
        "fallbacks": sums.get(FALLBACKS, 0.0),
        "compiled": sums.get(COMPILED, 0.0),
    }


def _delta(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, int]:
    return {key: int(after[key] - before.get(key, 0.0)) for key in after}


def _served(
    ctx: PlansContext, names: Sequence[str], requests: Mapping[str, list[Body]], tick: Tick
) -> dict[str, Any]:
    """Reference and compiled servers, up side by side; runs alternate between them."""
    persisted = {name: [persisted_body(b) for b in requests[name]] for name in names}
    hashes = [
        apq_extensions(requests[n][0]["query"])["persistedQuery"]["sha256Hash"] for n in names
    ]
    common = {"VITRINE_RESPONSE_CACHE": "false"}
    operations: dict[str, Any] = {}
    counters: dict[str, Any] = {}
    try:
        with (
            running_server(
                ctx.database_url,
                ctx.logdir / "plans-reference-server.log",
                workers=1,
                extra={**common, "VITRINE_COMPILED_PLANS": "false"},
            ) as reference,
            running_server(
                ctx.database_url,
                ctx.logdir / "plans-compiled-server.log",
                workers=1,
                extra={**common, "VITRINE_COMPILED_PLANS": "true"},
            ) as compiled,
        ):
            for server in (reference, compiled):
                for name in names:
                    body = registration_body(requests[name][0])
                    found = probe(
                        f"{server.url}/graphql", body=orjson.dumps(body), headers=JSON_HEADERS
                    )
                    check_answer(f"{name} (APQ registration)", body, found.status, found.body)
            start = {"reference": _plan_counters(reference), "compiled": _plan_counters(compiled)}
            with console.status("plans: every distinct body once on the compiled server"):
                sizes = preflight(compiled, persisted)
            checked = _plan_counters(compiled)
            if checked["executions"] <= start["compiled"]["executions"]:
                raise PlansPhaseError(
                    "the compiled server ran the preflight's persisted requests without a plan"
                    f" (plan counters {checked})"
                )
            for name in names:
                operations[name] = {
                    "response_bytes": sizes[name],
                    "distinct_bodies": len(distinct(requests[name])),
                    "sha256": apq_extensions(requests[name][0]["query"])["persistedQuery"][
                        "sha256Hash"
                    ],
                    "differential": _differential(name, reference, compiled, persisted[name]),
                    "runs": {},
                }
            for name in names:
                operations[name]["runs"] = _operation_runs(
                    ctx, name, persisted[name], sizes[name], reference, compiled, tick
                )
                _summarise(name, operations[name])
            counters = {
                "reference": _delta(start["reference"], _plan_counters(reference)),
                "compiled": _delta(start["compiled"], _plan_counters(compiled)),
            }
            if counters["reference"]["executions"]:
                raise PlansPhaseError(
                    "the reference server (VITRINE_COMPILED_PLANS=false) executed"
                    f" {counters['reference']['executions']} requests on compiled plans"
                )
    finally:
        forget_apq(ctx.database_url, hashes, ctx.problem, "plans")
    return {"operations": operations, "plan_counters": counters}


def _differential(
    name: str, reference: Server, compiled: Server, bodies: Sequence[Body]
) -> dict[str, Any]:
    """A sample of distinct bodies on both servers: the answers must be identical."""
    sample = distinct(bodies)[:DIFFERENTIAL_BODIES]
    differing = []
    for body in sample:
        payload = orjson.dumps(body)
        answers = []
        for server in (reference, compiled):
            found = probe(f"{server.url}/graphql", body=payload, headers=JSON_HEADERS)
            check_answer(name, body, found.status, found.body)
            answers.append(found.body)
        if answers[0] != answers[1]:
            differing.append(body.get("variables"))
    if differing:
        raise PlansPhaseError(
            f"{name}: the compiled plan and graphql-core answered differently for"
            f" {len(differing)} of {len(sample)} bodies, e.g. variables"
            f" {orjson.dumps(differing[0]).decode()}"
        )
    return {"compared": len(sample), "identical": len(sample)}


def _operation_runs(
    ctx: PlansContext,
    name: str,
    bodies: Sequence[Body],
    size: int,
    reference: Server,
    compiled: Server,
    tick: Tick,
) -> dict[str, Any]:
    path = ctx.scratch / f"plans-{name}.bodies"
    write_bodies(path, bodies)
    floor = _run(ctx, compiled, f"plans-{name}-floor", path, f"/bench/floor?bytes={size}", tick)
    runs: dict[str, Any] = {"floor": floor}
    for key, server in (("reference", reference), ("compiled", compiled)):
        before = _plan_counters(server)
        run = _run(ctx, server, f"plans-{name}-{key}", path, "/graphql", tick)
        counters = _delta(before, _plan_counters(server))
        run["plan_counters"] = counters
        if key == "compiled" and (
            counters["executions"] < run["requests"] or counters["fallbacks"]
        ):
            raise PlansPhaseError(
                f"{name}: {run['requests']} requests measured on the compiled server, but"
                f" {counters['executions']} plan executions and {counters['fallbacks']}"
                " fallbacks: the compiled path was not (always) taken"
            )
        if key == "reference" and counters["executions"]:
            raise PlansPhaseError(
                f"{name}: the reference server ran {counters['executions']} requests on plans"
            )
        run["ratio_to_floor"] = ratio_to(run.get("rps"), floor.get("rps"))
        runs[key] = run
    return runs


def _run(
    ctx: PlansContext, server: Server, label: str, bodies: Path, request_path: str, tick: Tick
) -> dict[str, Any]:
    run = measure_load(
        server,
        settings=ctx.settings,
        bodies=bodies,
        request_path=request_path,
        label=label,
        scratch=ctx.scratch,
        logdir=ctx.logdir,
        tick=tick,
    )
    run["p99_over_p50"] = tail_ratio(run)
    if run["non_2xx"] or run["socket_errors"]:
        ctx.problem(
            f"{label}: {run['non_2xx']} non-2xx responses, {run['socket_errors']} socket errors"
        )
    return run


def _summarise(name: str, entry: dict[str, Any]) -> None:
    runs = entry["runs"]
    reference, compiled = runs["reference"], runs["compiled"]
    entry["compiled_over_reference"] = ratio_to(compiled.get("rps"), reference.get("rps"))
    entry["cpu_compiled_over_reference"] = ratio_to(
        compiled.get("cpu_us_per_request"), reference.get("cpu_us_per_request")
    )
    console.print(
        f"{name}: graphql-core {reference['rps']:,.0f} req/s,"
        f" compiled {compiled['rps']:,.0f} req/s"
        f" ({entry['compiled_over_reference']}x), floor {runs['floor']['rps']:,.0f} req/s"
    )


# In memory.


def graphql_jit_command() -> tuple[list[str] | None, dict[str, Any]]:
    """How to start bench/node_jit/server.mjs (npm ci on first use), with the versions;
    or None and why it is skipped."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        return None, {"skipped": "node is not installed"}
    installed = NODE_DIR / "node_modules" / "graphql-jit" / "package.json"
    if not installed.exists():
        if npm is None:
            return None, {"skipped": "npm is not installed"}
        verb = "ci" if (NODE_DIR / "package-lock.json").exists() else "install"
        command = [npm, verb, "--no-audit", "--no-fund"]
        try:
            with console.status(f"npm {verb} in {NODE_DIR} (graphql-jit)"):
                done = subprocess.run(
                    command,
                    cwd=NODE_DIR,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT,
                    check=False,
                )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, {"skipped": f"npm {verb} failed: {type(exc).__name__}: {exc}"}
        if done.returncode != 0 or not installed.exists():
            output = (done.stdout + done.stderr).strip()[-600:]
            return None, {"skipped": f"npm {verb} failed (exit {done.returncode}): {output}"}
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return [node, str(NODE_DIR / "server.mjs")], {
        "node": version.stdout.strip(),
        "graphql_jit": _package_version("graphql-jit"),
        "graphql": _package_version("graphql"),
    }


def _package_version(name: str) -> str | None:
    try:
        manifest = json.loads((NODE_DIR / "node_modules" / name / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    return str(version) if version else None


@contextlib.contextmanager
def _process(command: list[str], url: str, log_path: Path, cwd: Path) -> Iterator[Server]:
    """A server process answering `url`/healthz (stopped with SIGINT afterwards)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    server = Server(process, url, log_path, 1, NO_DATABASE)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(process)


def _python_app(ctx: PlansContext) -> contextlib.AbstractContextManager[Server]:
    """bench/inmemory_app.py under the same uvicorn settings as the server under test."""
    port = free_port()
    command = uvicorn_command(port, 1)
    at = command.index("--factory")
    command[at : at + 2] = ["bench.inmemory_app:app"]
    if command[0] != sys.executable:
        raise PlansPhaseError(f"unexpected uvicorn command {command}")
    root = Path(__file__).resolve().parent.parent
    return _process(command, f"http://127.0.0.1:{port}", ctx.logdir / "plans-inmemory.log", root)


def _items_file(ctx: PlansContext) -> Path:
    items = ctx.scratch / "plans-inmemory-items.json"
    items.write_bytes(orjson.dumps(item_values()))
    return items


def _node_app(ctx: PlansContext, command: list[str]) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    return _process(
        [*command, str(port), str(_items_file(ctx))],
        f"http://127.0.0.1:{port}",
        ctx.logdir / "plans-graphql-jit.log",
        NODE_DIR,
    )


def _inmemory(
    ctx: PlansContext, jit_command: list[str] | None, jit: dict[str, Any], tick: Tick
) -> dict[str, Any]:
    body = {"query": QUERY, "variables": {}}
    bodies = ctx.scratch / "plans-inmemory.bodies"
    write_bodies(bodies, [body])
    expected = orjson.loads(ANSWER)
    result: dict[str, Any] = {
        "items": ITEM_COUNT,
        "fields_per_item": len(FIELDS),
        "fields": ITEM_COUNT * len(FIELDS),
        "query": QUERY,
        "graphql_jit": jit,
        "runs": {},
    }
    runs: dict[str, Any] = result["runs"]
    with contextlib.ExitStack() as stack:
        servers = {"python": stack.enter_context(_python_app(ctx))}
        if jit_command is not None:
            servers["node"] = stack.enter_context(_node_app(ctx, jit_command))
        sizes = {}
        for key, _label, where, path in INMEMORY_RUNS:
            server = servers.get(where)
            if server is None:
                runs[key] = {"skipped": jit.get("skipped")}
                continue
            found = probe(f"{server.url}{path}", body=orjson.dumps(body), headers=JSON_HEADERS)
            if found.status != 200 or orjson.loads(found.body) != expected:
                raise PlansPhaseError(
                    f"in memory, {key}: HTTP {found.status}, not the expected answer:"
                    f" {found.body[:300]!r}"
                )
            if where == "python" and found.body != ANSWER:
                raise PlansPhaseError(f"in memory, {key}: not byte for byte the floor's answer")
            sizes[key] = len(found.body)
        for key, _label, where, path in INMEMORY_RUNS:
            server = servers.get(where)
            if server is None:
                continue
            run = _run(ctx, server, f"plans-inmemory-{key}", bodies, path, tick)
            run["response_bytes"] = sizes[key]
            runs[key] = run
    floor = runs["floor"]
    for run in runs.values():
        if "rps" in run:
            run["ratio_to_floor"] = ratio_to(run["rps"], floor.get("rps"))
    shown = ", ".join(f"{k} {r['rps']:,.0f}" for k, r in runs.items() if "rps" in r)
    console.print(f"in memory ({ITEM_COUNT * len(FIELDS)} fields), req/s: {shown}")
    with console.status("in memory: µs per request body, in-process (no HTTP)"):
        result["inprocess_us"] = _inprocess_costs(ctx, jit_command, bodies)
    return result


def _inprocess_costs(
    ctx: PlansContext, jit_command: list[str] | None, bodies: Path
) -> dict[str, Any]:
    """JSON in, execute, JSON out, without HTTP: what each executor costs by itself.

    Python and node take turns, INPROCESS_PASSES times, and each keeps its best
    pass: on a shared machine, the least disturbed one."""
    raw = bodies.read_bytes().strip()
    body = ctx.scratch / "plans-inmemory-body.json"
    body.write_bytes(raw)
    costs: dict[str, float] = {}

    def keep(measured: Mapping[str, Any]) -> None:
        for key, value in measured.items():
            costs[key] = min(costs.get(key, float(value)), float(value))

    for _ in range(INPROCESS_PASSES):
        keep(execution_costs(raw))
        if jit_command is None:
            continue
        try:
            done = subprocess.run(
                [*jit_command, "--measure", str(_items_file(ctx)), str(body)],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=NODE_MEASURE_TIMEOUT,
                check=False,
            )
            keep(json.loads(done.stdout.strip().splitlines()[-1]))
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
            ctx.problem(f"plans phase: graphql-jit in-process timing failed: {exc}")
            jit_command = None
    return dict(costs)
