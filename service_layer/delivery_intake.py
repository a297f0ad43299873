"""Webhook deliveries recorded on threads of their own, retries joining the write in
progress (service_layer/inflight.py), memory handed back after a large one."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from adapters.config.workspaces import Workspaces
from service_layer.inflight import InFlight
from service_layer.ingest import Delivery, Ingested, ingest
from service_layer.ledger import Ledger
from service_layer.memory import release_freed_memory

INGEST_WORKERS = 32  # deliveries being recorded at once (most of them wait on the writer)
# A delivery of this many parts is large: its answer is kept for retries, and the memory
# it took is handed back to the OS once it is stored.
LARGE_DELIVERY_PARTS = 1000


class DeliveryIntake:
    def __init__(self, ledger: Ledger, workspaces: Callable[[], Workspaces]) -> None:
        """`workspaces`: the workspaces as configured now (the config file is re-read)."""
        self._ledger = ledger
        self._workspaces = workspaces
        self._in_flight: InFlight[Ingested] = InFlight(INGEST_WORKERS)

    def submit(self, delivery: Delivery) -> Future[Ingested]:
        """The delivery's recording; its future outlives the caller's deadline. A retry of
        a delivery (same `key`) still being written gets the same future, one of a large
        delivery stored minutes ago its kept answer."""
        large = len(delivery.items) >= LARGE_DELIVERY_PARTS

        def job() -> Ingested:
            try:
                return ingest(self._ledger, self._workspaces(), delivery)
            finally:
                if large:
                    release_freed_memory()

        return self._in_flight.submit(delivery.key, job, keep=large)

    def find(self, key: str) -> Future[Ingested] | None:
        """The recording of the delivery with this key still being written (or a large
        one's kept answer), so a retry need not even be translated again."""
        return self._in_flight.find(key)

    def close(self) -> None:
        self._in_flight.close()
