"""What an operation may cost, and what it is charged: the cost limit and the rate limits.

Cost is the formula worked out with the document, evaluated with this
request's page sizes (`infra.operation_cost`); over the limit nothing runs,
nor is charged. Rate limits come after every check that refuses an operation
without running it, with its cost known, and before the wait, the viewer's
lookup and the cache. Once an operation was charged, whatever answers it
(executed, cached, refused with 429, or a request error raised after the
charge) carries the RateLimit headers; `extensions.cost.throttleStatus`
reports the cost bucket after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from infra.auth import Identity
from infra.graphql_errors import format_error
from infra.graphql_operation import Operation, request_errors
from infra.graphql_request import GraphQLRequest, RequestError
from infra.operation_cost import DEFAULT_MAX_COST, cost_limit_error
from infra.rate_limits.gate import RateLimitGate, principal_key
from infra.rate_limits.limiter import Decision

# Where `charge` leaves its decision, for `with_headers` and `throttle_status`.
RATE_LIMIT_SCOPE_KEY = "vitrine.rate_limit"


class OperationLimits:
    """The cost limit (`max_cost`) and the rate limits (None: off) of /graphql operations."""

    def __init__(
        self, rate_limits: RateLimitGate | None = None, max_cost: int = DEFAULT_MAX_COST
    ) -> None:
        self._rate_limits = rate_limits
        self._max_cost = max_cost

    def cost_refusal(self, request: Request, requested: int, media_type: str) -> Response | None:
        """The response refusing an operation that costs more than the limit, else None."""
        if requested <= self._max_cost:
            return None
        refused = cost_limit_error(requested, self._max_cost)
        errors = [format_error(refused, default_code="COST_LIMIT_EXCEEDED")]
        return request_errors(request, errors, media_type)

    async def charge(
        self,
        request: Request,
        operation: Operation,
        graphql_request: GraphQLRequest,
        identity: Identity | None,
        cost: int | None = None,
    ) -> Decision | None:
        """Charge the operation to its rate limits (None when they are off); the decision
        stays in the request's scope for `with_headers` and `throttle_status`."""
        if self._rate_limits is None:
            return None
        roots = operation.prepared.root_selections_of(graphql_request.operation_name)
        decision = await self._rate_limits.graphql(
            request,
            None if identity is None else principal_key("sub", identity.sub),
            operation.type,
            roots.fields,
            cost=cost,
            operation_name=operation.name,
            node_ids=roots.node_ids,
            variables=graphql_request.variables,
        )
        request.scope[RATE_LIMIT_SCOPE_KEY] = decision
        return decision

    def throttle_status(self, request: Request) -> dict[str, Any] | None:
        """`extensions.cost.throttleStatus`: the cost bucket's state after this request, or
        None when the reads quota is counted in requests (or rate limits are off)."""
        if self._rate_limits is None:
            return None
        return self._rate_limits.throttle_status(request.scope.get(RATE_LIMIT_SCOPE_KEY))

    async def with_headers(
        self, request: Request, answer: Callable[[], Awaitable[Response]]
    ) -> Response:
        """`answer()`, with the RateLimit headers on its response (or on the RequestError it
        raised) once the operation was charged."""
        if self._rate_limits is None:
            return await answer()
        try:
            response = await answer()
        except BaseException as error:
            decision = request.scope.pop(RATE_LIMIT_SCOPE_KEY, None)
            if decision is not None and isinstance(error, RequestError):
                error.headers.update(decision.headers())
            raise
        decision = request.scope.pop(RATE_LIMIT_SCOPE_KEY, None)
        if decision is not None:
            response.headers.update(decision.headers())
        return response
