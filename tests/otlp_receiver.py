"""A real OTLP/HTTP trace receiver for tests: what a collector would get, decoded.

No collector binary is available here (no otelcol, Jaeger or Docker daemon), so
this small server stands in for one: it implements `POST /v1/traces` as the
OTLP specification describes it, in binary protobuf and in JSON (hex trace and
span ids, enums as integers, unknown fields ignored), gzip or deflate encoded
or not, and answers 200 with an empty ExportTraceServiceResponse in the
request's encoding. It listens on 127.0.0.1, on a port the OS picks, in a
thread of the test process, and keeps every span it decodes for assertions.
"""

from __future__ import annotations

import base64
import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TRACES_PATH = "/v1/traces"

Attributes = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    """One span as the receiver decoded it; ids in lowercase hex, kind and status by name."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str  # "SERVER", "INTERNAL", "CONSUMER", ...
    attributes: Attributes
    status: str  # "UNSET", "OK" or "ERROR"
    status_message: str
    resource: Attributes
    scope: str
    events: tuple[tuple[str, Attributes], ...] = field(default=())


def any_value(value: AnyValue) -> Any:
    """An OTLP AnyValue as the Python value it carries."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_of(pairs: Iterable[KeyValue]) -> Attributes:
    return {pair.key: any_value(pair.value) for pair in pairs}


def _hex(raw: bytes) -> str | None:
    return raw.hex() if raw else None


def _kind(span: Span) -> str:
    return str(Span.SpanKind.Name(span.kind)).removeprefix("SPAN_KIND_")


def _status(status: Status) -> str:
    return str(Status.StatusCode.Name(status.code)).removeprefix("STATUS_CODE_")


def spans_of(request: ExportTraceServiceRequest) -> list[ReceivedSpan]:
    """Every span of an export request, flattened with its resource and scope."""
    found = []
    for resource_spans in request.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    ReceivedSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=_hex(span.parent_span_id),
                        name=span.name,
                        kind=_kind(span),
                        attributes=attributes_of(span.attributes),
                        status=_status(span.status),
                        status_message=span.status.message,
                        resource=resource,
                        scope=scope_spans.scope.name,
                        events=tuple(
                            (event.name, attributes_of(event.attributes)) for event in span.events
                        ),
                    )
                )
    return found


_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _ids_to_base64(node: Any) -> Any:
    """OTLP JSON writes ids in hex where protobuf's JSON mapping expects base64 bytes."""
    if isinstance(node, list):
        return [_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        if key in _ID_FIELDS and isinstance(value, str):
            converted[key] = base64.b64encode(bytes.fromhex(value)).decode()
        else:
            converted[key] = _ids_to_base64(value)
    return converted


def parse_json(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    json_format.ParseDict(_ids_to_base64(orjson.loads(body)), request, ignore_unknown_fields=True)
    return request


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


class BadExportError(Exception):
    """A request the receiver answers with 400 or 415, as a collector would."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def decode(body: bytes, content_type: str, encoding: str) -> ExportTraceServiceRequest:
    """An export request's body, by its media type and content encoding."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in (PROTOBUF, JSON):
        raise BadExportError(415, f"unsupported Content-Type {content_type!r}")
    try:
        raw = _decompress(body, encoding.strip().lower())
        if media_type == JSON:
            return parse_json(raw)
        return ExportTraceServiceRequest.FromString(raw)
    except (ValueError, DecodeError, json_format.ParseError, OSError, zlib.error) as exc:
        raise BadExportError(400, f"undecodable export request: {exc}") from exc


class OtlpReceiver:
    """The spans received so far, and a way to wait for the ones a test expects."""

    def __init__(self) -> None:
        self.endpoint = ""  # http://127.0.0.1:<port>, set once listening
        self._spans: list[ReceivedSpan] = []
        self._content_types: list[str] = []
        self._changed = threading.Condition()

    @property
    def traces_endpoint(self) -> str:
        return f"{self.endpoint}{TRACES_PATH}"

    def spans(self) -> list[ReceivedSpan]:
        with self._changed:
            return list(self._spans)

    def content_types(self) -> list[str]:
        """The media type of each export request received, in order."""
        with self._changed:
            return list(self._content_types)

    def receive(self, content_type: str, spans: list[ReceivedSpan]) -> None:
        with self._changed:
            self._content_types.append(content_type)
            self._spans.extend(spans)
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 20.0
    ) -> list[ReceivedSpan]:
        """Every span received once `predicate(spans)` holds; AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._spans):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = sorted({(s.trace_id, s.name) for s in self._spans})
                    raise AssertionError(
                        f"after {timeout}s the receiver still lacks what the test waits for; "
                        f"it has {len(self._spans)} spans: {names}"
                    )
                self._changed.wait(remaining)
            return list(self._spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [span for span in self.spans() if span.trace_id == trace_id]


def _handler(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.split("?")[0] != TRACES_PATH:
                self._answer(404, "text/plain", b"not found")
                return
            content_type = self.headers.get("Content-Type", "")
            try:
                request = decode(body, content_type, self.headers.get("Content-Encoding", ""))
            except BadExportError as exc:
                self._answer(exc.status, "text/plain", str(exc).encode())
                return
            receiver.receive(content_type, spans_of(request))
            response = ExportTraceServiceResponse()
            if content_type.startswith(JSON):
                self._answer(200, JSON, json_format.MessageToJson(response).encode())
            else:
                self._answer(200, PROTOBUF, response.SerializeToString())

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests' output is not the place for an access log."""

    return Handler


@contextmanager
def running_receiver() -> Iterator[OtlpReceiver]:
    """A receiver listening until the block ends."""
    receiver = OtlpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="otlp-receiver",
        daemon=True,
    )
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
