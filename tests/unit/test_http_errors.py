"""The router's own refusals (404, 405) answer JSON with a code, like every other answer."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infra.http_errors import http_error_response


async def ok(request: Request) -> Response:
    return Response("ok")


APP = Starlette(
    routes=[Route("/events", ok, methods=["POST"])],
    exception_handlers={HTTPException: http_error_response},
)


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vitrine")


async def test_a_method_the_route_does_not_take_is_a_coded_405_that_keeps_allow() -> None:
    """GET on a POST-only route: 405 METHOD_NOT_ALLOWED in JSON, `Allow: POST` kept."""
    async with client(APP) as http:
        response = await http.get("/events")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "errors": [
            {
                "message": "this path does not answer this method (see Allow)",
                "extensions": {"code": "METHOD_NOT_ALLOWED"},
            }
        ]
    }


async def test_a_path_nobody_serves_is_a_coded_404() -> None:
    """An unknown path: 404 NOT_FOUND in JSON."""
    async with client(APP) as http:
        response = await http.request("PROPFIND", "/nowhere")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {"message": "nothing is served at this path", "extensions": {"code": "NOT_FOUND"}}
        ]
    }


async def test_other_statuses_are_named_after_the_status() -> None:
    """An HTTPException of another status is coded by the status's name, its detail the message."""
    app = Starlette(
        routes=[Route("/teapot", _teapot)], exception_handlers={HTTPException: http_error_response}
    )
    async with client(app) as http:
        response = await http.get("/teapot")
    assert response.status_code == 418
    assert response.json() == {
        "errors": [{"message": "short and stout", "extensions": {"code": "IM_A_TEAPOT"}}]
    }


async def _teapot(request: Request) -> Response:
    raise HTTPException(418, "short and stout")
