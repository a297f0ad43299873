"""Append as another process would: the ledger moves, this process's inline views pass
(projections/inline.py) does not run, so the views lag until a catch-up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from service_layer.bootstrap import Services


@contextmanager
def appending_elsewhere(services: Services) -> Iterator[None]:
    hooks = list(services.store.committed)
    services.store.committed.clear()
    try:
        yield
    finally:
        services.store.committed[:] = hooks
