"""`uvicorn --factory infra.asgi:app_factory`: the app built from the environment.

For deployments with several workers or behind a process manager; needs
VITRINE_DATABASE_URL (the embedded database is started by `vitrine serve`).
"""

from __future__ import annotations

from starlette.applications import Starlette

from infra.app import create_app
from infra.logging_setup import configure_logging
from infra.settings import SettingsError, load_settings


def app_factory() -> Starlette:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    if settings.database_url is None:
        raise SettingsError(
            "VITRINE_DATABASE_URL is required here; `vitrine serve` starts an embedded database"
        )
    return create_app(settings)
