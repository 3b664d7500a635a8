"""Errors a client can act on, each with a machine-readable `extensions.code`.

graphql-core copies an exception's `extensions` onto the error it reports,
so raising one of these from a resolver yields exactly that code.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ClientError(Exception):
    """Base of every error whose message is safe to show to the client."""

    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **details}


class BadUserInputError(ClientError):
    code = "BAD_USER_INPUT"


class InvalidIdError(ClientError):
    code = "INVALID_ID"


class InvalidCursorError(ClientError):
    code = "INVALID_CURSOR"


class PriceNotSetError(ClientError):
    code = "PRICE_NOT_SET"


class StatementTimeoutError(ClientError):
    code = "STATEMENT_TIMEOUT"


class ReadModelUnavailableError(ClientError):
    code = "READ_MODEL_UNAVAILABLE"


class NotFoundError(ClientError):
    code = "NOT_FOUND"


class CartTooLargeError(ClientError):
    code = "CART_TOO_LARGE"


class InvalidQuantityError(ClientError):
    code = "INVALID_QUANTITY"


class ProductNotFoundError(ClientError):
    code = "PRODUCT_NOT_FOUND"


class CurrencyMismatchError(ClientError):
    code = "CURRENCY_MISMATCH"


class UnauthenticatedError(ClientError):
    """The field needs a signed-in viewer and the request is anonymous."""

    code = "UNAUTHENTICATED"


class ForbiddenError(ClientError):
    """The viewer may not see or change this (another creator's data, or not a creator)."""

    code = "FORBIDDEN"


class InsightsUnavailableError(ClientError):
    """The insights of a dashboard failed; its revenue and top products stand."""

    code = "INSIGHTS_UNAVAILABLE"
