"""A long-running process's garbage collector, set once it has started: the server's
(once the app is built) and a projection worker's (`leadledger projections follow`).

Python's cyclic collector walks every tracked object of the generations it collects;
after start-up those are mostly the modules, classes and caches of the libraries, which
live as long as the process. Profiled under load (perf, 32 connections) the collector
took about 9 % of the server's CPU, walking them again and again. Freezing the start-up
heap leaves it out of every collection, and a larger first threshold collects the
short-lived garbage of several requests at once instead of every few hundred objects.
"""

from __future__ import annotations

import gc

# Allocations (less frees) of tracked objects before a young collection; then 20 young
# ones per middle one and 100 middle ones per full one (CPython's are 700, 10, 10).
SERVING_THRESHOLDS = (50_000, 20, 100)


def settle_for_serving() -> None:
    """Collect start-up's garbage, freeze what is left, raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
