"""ASGI entry point for uvicorn (`uvicorn --factory api.asgi:build`), configured from the env."""

from __future__ import annotations

from starlette.applications import Starlette

from api.app import create_app
from api.bootstrap import bootstrap


def build() -> Starlette:
    return create_app(bootstrap())
