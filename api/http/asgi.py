"""ASGI entry point for uvicorn (`uvicorn --factory api.http.asgi:build`), set from the env."""

from __future__ import annotations

from starlette.applications import Starlette

from adapters.config.loading import load_settings
from api.heap import settle_for_serving
from api.http.app import create_app
from service_layer.bootstrap import bootstrap


def build() -> Starlette:
    app = create_app(bootstrap(load_settings()).service)
    settle_for_serving()  # each worker process builds its own app: each settles its heap
    return app
