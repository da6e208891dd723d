"""The app of one worker process of ``classbridge serve --workers N`` (see server/workers.py):
its settings come from the ``CLASSBRIDGE_*`` variables the parent set."""

from __future__ import annotations

from starlette.applications import Starlette

from server.app import create_app
from server.redaction import install_redaction
from server.settings import settings_from_env


def app_from_env() -> Starlette:
    install_redaction()  # in this process too: access logs are written by each worker
    return create_app(settings_from_env(), drain_on_signal=True)  # SIGTERM drains first
