"""A real HTTP receiver for outbound webhooks, in a thread: answers each request as its
script says (200, 500, a timeout, a cut connection, hold until released, or a redirect), verifies
every signature with the `standardwebhooks` package, and keeps what it got."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    change_id: str
    lead_id: str
    answer: str  # what it did: "200", "500", "timeout", "cut", "hold", "redirect"
    verified: bool
    body: dict[str, Any]


@dataclass
class Receiver:
    """`script`: answers for the first requests, in order; then `then` for every other."""

    script: list[str] = field(default_factory=list)
    then: str = "200"
    secret: str | None = None
    got: list[Received] = field(default_factory=list)
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    redirect_to: str = ""  # where a "redirect" answer points (307)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else self.then

    def delivered(self) -> list[str]:
        """Change ids answered 2xx, in the order they were answered."""
        return [r.change_id for r in self.got if r.answer == "200"]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            answer = receiver.next_answer()
            verified = False
            if receiver.secret is not None:
                try:
                    Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    verified = True
                except WebhookVerificationError:
                    verified = False
            data = json.loads(body)
            record = Received(data["data"]["id"], data["data"]["lead_id"], answer, verified, data)
            with receiver.lock:
                receiver.got.append(record)
            if answer == "cut":
                self.connection.close()
                return
            if answer == "timeout":
                time.sleep(3.0)
            if answer == "hold":
                receiver.release.wait(60)
            status = {"500": 500, "redirect": 307}.get(answer, 200)
            try:
                self.send_response(status)
                if answer == "redirect":
                    self.send_header("location", receiver.redirect_to)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up (timeout) or died

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
