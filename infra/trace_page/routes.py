"""HTTP for the trace page: the page, its two JSON endpoints and its script and style.

Mounted by the app in development only (VITRINE_TRACE_PAGE); otherwise these
paths are unknown like any other. The page and its assets are package files,
read once at import: no build step, nothing fetched from elsewhere, so the
page's Content-Security-Policy allows this origin alone, with no inline code.
"""

from __future__ import annotations

import re
from importlib import resources

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infra.trace_page.buffer import TraceBuffer
from infra.trace_page.payloads import summary_json, trace_json

PREFIX = "/_vitrine/traces"
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_ASSETS_DIR = resources.files(__package__) / "assets"
_PAGE = (_ASSETS_DIR / "page.html").read_bytes()
# name -> (body, media type): the only files served under static/.
_ASSETS = {
    "page.js": ((_ASSETS_DIR / "page.js").read_bytes(), "text/javascript; charset=utf-8"),
    "page.css": ((_ASSETS_DIR / "page.css").read_bytes(), "text/css; charset=utf-8"),
}
_NO_STORE = {"cache-control": "no-store"}


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, headers=_NO_STORE, media_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


def trace_page_routes(buffer: TraceBuffer) -> list[Route]:
    """The page's routes, every path under `/_vitrine/traces`, reading `buffer`."""

    async def page(request: Request) -> Response:
        return Response(
            _PAGE,
            media_type="text/html; charset=utf-8",
            headers={"content-security-policy": PAGE_POLICY, **_NO_STORE},
        )

    async def asset(request: Request) -> Response:
        found = _ASSETS.get(request.path_params["name"])
        if found is None:
            return _error(404, "NOT_FOUND", "nothing is served at this path")
        body, media_type = found
        return Response(body, media_type=media_type, headers={"cache-control": "no-cache"})

    async def traces(request: Request) -> Response:
        return _json({"traces": [summary_json(summary) for summary in buffer.summaries()]})

    async def trace(request: Request) -> Response:
        raw = request.path_params["trace_id"].lower()
        if not _TRACE_ID.fullmatch(raw):
            return _error(400, "BAD_TRACE_ID", "a trace id is 32 hexadecimal digits")
        kept = buffer.spans(int(raw, 16))
        if kept is None:
            return _error(
                404, "TRACE_NOT_FOUND", "no such trace is kept (only the most recent ones are)"
            )
        return _json(trace_json(kept))

    return [
        Route(PREFIX, page, methods=["GET"]),
        Route(f"{PREFIX}/api/traces", traces, methods=["GET"]),
        Route(f"{PREFIX}/api/traces/{{trace_id}}", trace, methods=["GET"]),
        Route(f"{PREFIX}/static/{{name}}", asset, methods=["GET"]),
    ]
