"""A local OTLP/HTTP trace receiver for the tracing phase: accepts, counts, answers 200.

The tracing phase measures what exporting spans costs the server, so the
servers export to a real OTLP endpoint over HTTP, as they would to a
collector, but one that costs nothing they can see: it runs in its own
process (its CPU is not the servers'), answers every `POST /v1/traces` at
once with an empty `ExportTraceServiceResponse` (an empty protobuf body),
and only counts what it received, so the phase can report how many requests
were sampled and how many spans and bytes each one exported.

`GET /stats` answers the counts as JSON. Run it with
`python -m bench.otlp_sink --port N`; `running_sink` does that for the phase.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

TRACES_PATH = "/v1/traces"
STATS_PATH = "/stats"
READY_TIMEOUT = 30.0
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER
OPERATION_ATTRIBUTE = "graphql.operation.name"
NO_ROOT = "(no server span)"


@dataclass
class Tally:
    """Everything received so far: posts, bytes and spans, and per trace its span count
    and, once its SERVER span has arrived, its service and operation.

    A trace's spans can arrive in several posts, children before their parent
    (they end first), so traces are grouped only when the summary is read."""

    posts: int = 0
    received_bytes: int = 0
    spans: int = 0
    spans_by_trace: Counter[bytes] = field(default_factory=Counter)
    root_of: dict[bytes, tuple[str, str]] = field(default_factory=dict)

    def add(self, body: bytes) -> None:
        """Count one export request's body (serialized `ExportTraceServiceRequest`)."""
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest.FromString(body)
        self.posts += 1
        self.received_bytes += len(body)
        for resource_spans in request.resource_spans:
            service = _string_attribute(resource_spans.resource.attributes, "service.name")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans += 1
                    self.spans_by_trace[span.trace_id] += 1
                    if span.kind == SERVER_KIND and not span.parent_span_id:
                        operation = _string_attribute(span.attributes, OPERATION_ATTRIBUTE)
                        self.root_of[span.trace_id] = (service, operation or span.name)

    def summary(self) -> dict[str, Any]:
        """The totals, and per (service, operation) its traces and their spans."""
        groups: dict[tuple[str, str], list[int]] = {}
        for trace_id, spans in self.spans_by_trace.items():
            key = self.root_of.get(trace_id, ("", NO_ROOT))
            group = groups.setdefault(key, [0, 0])
            group[0] += 1
            group[1] += spans
        return {
            "posts": self.posts,
            "bytes": self.received_bytes,
            "spans": self.spans,
            "traces": [
                {"service": service, "operation": operation, "traces": traces, "spans": spans}
                for (service, operation), (traces, spans) in sorted(groups.items())
            ],
        }


def _string_attribute(attributes: Any, key: str) -> str:
    """The string value of `key` among OTLP KeyValue attributes; "" when absent."""
    for attribute in attributes:
        if attribute.key == key:
            return str(attribute.value.string_value)
    return ""


def _handler(tally: Tally, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive: the exporter reuses one connection for every batch.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != TRACES_PATH:
                self._answer(404, b"", "text/plain")
                return
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            with lock:
                tally.add(body)
            self._answer(200, b"", "application/x-protobuf")

        def do_GET(self) -> None:
            if self.path != STATS_PATH:
                self._answer(404, b"", "text/plain")
                return
            with lock:
                summary = tally.summary()
            self._answer(200, orjson.dumps(summary), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: a line per export would only slow the sink down."""

    return Handler


def serve(port: int) -> None:
    """Serve on 127.0.0.1:`port` until interrupted."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(Tally(), threading.Lock()))
    server.daemon_threads = True
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


@dataclass
class Sink:
    """A running sink: its base URL (exporters post to url + /v1/traces) and its process."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def traces_endpoint(self) -> str:
        return self.url + TRACES_PATH

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + STATS_PATH, timeout=10) as response:
            found: dict[str, Any] = orjson.loads(response.read())
            return found


@contextlib.contextmanager
def running_sink(log_path: Path) -> Iterator[Sink]:
    """A sink in a process of its own on a free port, answering /stats before it is yielded."""
    from bench.server import free_port

    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.otlp_sink", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
    sink = Sink(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_ready(sink)
        yield sink
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(sink: Sink) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if sink.process.poll() is not None:
            raise RuntimeError(
                f"the OTLP sink exited with code {sink.process.returncode}; see {sink.log_path}"
            )
        with contextlib.suppress(urllib.error.URLError, OSError):
            sink.stats()
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the OTLP sink did not answer within {READY_TIMEOUT:.0f}s")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
