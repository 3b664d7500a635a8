"""The ASGI shortcut that hands /graphql to its endpoint without Starlette's router."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from infra.graphql_http import GraphQLEndpoint


class GraphQLEdge:
    """ASGI middleware: /graphql requests go straight to the endpoint.

    A persisted request on a compiled plan spends about a millisecond in all;
    Starlette's router and exception middleware would add their per-request
    layers to every one of them. This hands GET and POST /graphql to the
    endpoint directly (the same endpoint, so the same answers), and
    everything else to the app.
    """

    def __init__(self, app: ASGIApp, endpoint: GraphQLEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/graphql"
            or scope["method"] not in ("GET", "POST")
        ):
            await self.app(scope, receive, send)
            return
        try:
            response = await self.endpoint(Request(scope, receive))
        except ClientDisconnect:
            return  # nobody is left to answer
        await response(scope, receive, send)
