"""The outbound webhook dispatcher: a background asyncio loop in a thread of its own, so a
slow or dead receiver never holds up ingest, the API, or another subscription.

Each due subscription is leased (adapters/outbound/subscription_leases.py) and served by its
own task: the changes after its cursor, one POST each, strictly in order (so in order per
lead); the cursor moves only after a 2xx, so a crash or a kill re-sends, never loses. A
failure waits out the retry schedule; past its end the subscription is disabled.

Bounded work while ingest runs: the views wake the dispatcher on every move, but it claims
at most once per `MIN_ROUND`, and while every subscription it could claim is waiting (a
retry, another process's lease) it does not even listen: it sleeps until the earliest of
those waits ends (or the poll interval, for new subscriptions). A dead receiver thus
costs one attempt per retry wait, whatever the ingest rate (bench/outbound.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime

import httpx

from adapters.config.change_settings import ChangeSettings
from adapters.outbound import sender
from adapters.outbound.secret_box import SecretBox, SecretUnavailableError
from adapters.outbound.signing import signed_headers
from adapters.outbound.subscription_leases import SubscriptionLeases
from adapters.outbound.subscription_store import Subscription
from adapters.outbound.url_guard import RefusedURLError, URLGuard
from domain.reducer.changes import ChangeItem, plain
from projections.feed_rows import ChangeQuery, Cursor
from service_layer.change_feed import ChangeFeed

log = logging.getLogger("leadledger.webhooks")
PAGE = 100
MAX_TASKS = 64
MIN_ROUND = 0.05  # seconds between two claims: wake-ups in between are coalesced


def webhook_body(item: ChangeItem) -> str:
    """The Standard Webhooks payload shape: type, timestamp, data (the change)."""
    return json.dumps({"type": item.type, "timestamp": plain(item.at), "data": item.public()})


class WebhookDispatcher:
    def __init__(
        self,
        store: SubscriptionLeases,
        feed: ChangeFeed,
        settings: ChangeSettings,
        guard: URLGuard,
        secrets: SecretBox,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.feed = feed
        self.settings = settings
        self.guard = guard
        self.owner = f"{uuid.uuid4()}"  # this process's leases
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._serving: dict[str, asyncio.Task[None]] = {}
        self._quiet_until = 0.0  # time.time() before which no claim can find anything

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with sender.client(self.settings.webhook_timeout) as client:
            while not self._stopping.is_set():
                quiet = self._quiet_until - time.time()
                if quiet > 0:  # nothing claimable before then: the views' moves don't matter
                    await self._pause(quiet)
                    continue
                with self.feed.wakeup() as woken:
                    try:
                        await self._claim(client)
                    except Exception:  # the database may be away: retried next round
                        log.exception("claiming webhook subscriptions failed")
                    listen = self._quiet_until <= time.time()
                    if listen and await woken.wait(self.settings.changes_poll):
                        await asyncio.sleep(MIN_ROUND)  # coalesce a busy ingest's wake-ups
            for task in self._serving.values():
                task.cancel()
            await asyncio.gather(*self._serving.values(), return_exceptions=True)
        try:  # a change cut off mid-POST goes out again from the stored cursor
            await asyncio.to_thread(self.store.release_all, self.owner)
        except Exception:  # the database is away: the leases expire instead
            log.warning("could not release the webhook leases; they expire by themselves")

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the dispatcher is stopped meanwhile."""
        assert self._stopping is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _claim(self, client: httpx.AsyncClient) -> None:
        room = MAX_TASKS - len(self._serving)
        if room <= 0:
            return
        now = time.time()
        waiting = await asyncio.to_thread(self.store.waiting)
        free = [w for w in waiting if w.id not in self._serving]
        ready = [w for w in free if w.ready_at <= now]
        if not ready:  # nothing to claim before the earliest wait ends (or the poll)
            later = [w.ready_at for w in free]
            self._quiet_until = min([*later, now + self.settings.changes_poll])
            return
        self._quiet_until = 0.0
        workspaces = sorted({w.workspace for w in ready})
        heads = await asyncio.to_thread(self.feed.heads, workspaces)  # before any page
        claimed = await asyncio.to_thread(
            self.store.claim,
            self.owner,
            time.time(),
            self.settings.webhook_lease_seconds,
            heads,
            list(self._serving),
            room,
        )
        for sub in claimed:
            task = asyncio.create_task(self._serve(client, sub, heads[sub.workspace]))
            self._serving[sub.id] = task
            task.add_done_callback(self._forget(sub.id))

    def _forget(self, sub_id: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self._serving.pop(sub_id, None)

        return done

    async def _serve(self, client: httpx.AsyncClient, sub: Subscription, head: int) -> None:
        """Deliver in order until caught up, a failure, or the lease is lost. Caught up:
        every change up to `head` (read before the pages) was seen, so the cursor may pass
        the ones its filters leave out."""
        after = Cursor(sub.cursor_position, sub.cursor_seq)
        attempt_no = sub.failures + 1
        try:
            while True:
                query = ChangeQuery(sub.workspace, after, PAGE, sub.types, sub.lead_id)
                items = await asyncio.to_thread(self.feed.page, query)
                if not items:
                    await asyncio.to_thread(self.store.caught_up, sub.id, self.owner, head)
                    break
                for item in items:
                    if not await self._deliver(client, sub, item, attempt_no):
                        return  # failed (scheduled or disabled) or the lease is gone
                    after, attempt_no = Cursor(item.position, item.seq), 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("serving webhook subscription %s failed", sub.id)
        await asyncio.to_thread(self.store.release, sub.id, self.owner)

    async def _deliver(
        self, client: httpx.AsyncClient, sub: Subscription, item: ChangeItem, attempt_no: int
    ) -> bool:
        lease_until = time.time() + self.settings.webhook_lease_seconds
        if not await asyncio.to_thread(self.store.renew, sub.id, self.owner, lease_until):
            return False
        body = webhook_body(item)
        try:
            await asyncio.to_thread(self.guard.check, sub.url)
        except RefusedURLError as exc:
            attempt = sender.Attempt(False, None, 0.0, f"refused: {exc}")
        else:
            attempt = await self._post(client, sub, item.id, body)
        now = time.time()
        if attempt.ok:
            change = (item.id, item.lead_id, item.position, item.seq)
            return await asyncio.to_thread(
                self.store.delivered, sub, self.owner, change, attempt, attempt_no, now
            )
        schedule = self.settings.webhook_retry_schedule
        await asyncio.to_thread(
            self.store.failed, sub, self.owner, (item.id, item.lead_id), attempt, now, schedule
        )
        log.warning("webhook %s: change %s not delivered: %s", sub.id, item.id, attempt.error)
        return False

    async def _post(
        self, client: httpx.AsyncClient, sub: Subscription, message_id: str, body: str
    ) -> sender.Attempt:
        try:
            secret = self.secrets.open(sub.secret)
        except SecretUnavailableError as exc:  # wrapped under a master key we lack
            return sender.Attempt(False, None, 0.0, str(exc))
        headers = signed_headers(secret, message_id, datetime.now(UTC), body)
        return await sender.post(client, sub.url, body, headers)
