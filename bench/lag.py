"""Read-your-writes lag of the real server: how long after a webhook's 200 the views show it.

Starts `leadledger serve` on a fresh SQLite file (or, with --pg, a fresh PostgreSQL schema)
and offers a steady --rate of signed Kapso deliveries for --seconds: --probe-rate of them
come from a thread pool here, each the first message of a new lead; the rest come from the
ingest load generator (bench.loadgen, its own process, paced, ~10 % repeats and some
batches). After each probed delivery's 200 the thread polls the lead itself (`--probe
lead`, default: `GET /leads/{lead_id}`) or the list view (`--probe list`: `GET /leads?q=
<the lead's phone digits>`) until it shows the message, and records (visible - 200) in ms.
"Visible" is when the first poll answer that shows it arrived, so each figure is an upper
bound, coarser by up to one poll round trip plus --poll-ms.

    python -m bench.lag                 # SQLite, 500/s for 20 s, probe GET /leads/{id}
    python -m bench.lag --quick         # 500/s for 5 s
    python -m bench.lag --pg --rate 100 --seconds 10 --probe list

Writes bench/out/lag-<backend>.json (or --out): the figures, plus the section of
docs/performance.md (`section`, `command`, `markdown`, `aims`, `figures`). The run is
bounded: sending lasts --seconds; each message then has --visible-timeout s to appear.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters.webhooks.payloads import KAPSO_PATH, KAPSO_RECEIVED, kapso_headers, kapso_message
from adapters.webhooks.traffic import NAMES, SIMULATED_PHONE_NUMBER_ID, phone_for
from bench import loadgen
from bench.common import (
    DEFAULT_PG,
    OUT,
    Credentials,
    database,
    machine,
    served,
    summary,
)

# Probed leads' numbers start past the load generator's (bench.loadgen.Plan.leads): a probed
# lead is new, so the first answer showing a message shows the probed one.
PROBED_LEADS = 1_000_000
TEXTS = (
    "Halo kak, saya mau tanya soal chatbot untuk toko online saya",
    "Berapa harga paket bulanan?",
    "Boleh minta katalog?",
    "Apakah bisa dipakai untuk banyak admin?",
    "Saya punya usaha katering di Bandung",
)


def inbound(index: int, run: str) -> tuple[str, bytes]:
    """A first WhatsApp message from a new lead, as Kapso delivers it (payload v2)."""
    phone = phone_for(PROBED_LEADS + index)
    text = TEXTS[index % len(TEXTS)]
    body = kapso_message(
        f"wamid.LAG{run}{index:08d}",
        phone,
        phone_number_id=SIMULATED_PHONE_NUMBER_ID,
        conversation_id=f"conv_lag_{run}_{index}",
        text=text,
        sender=phone[1:],
        timestamp=str(int(time.time())),
        message_kapso={
            "processing_status": "pending",
            "origin": "cloud_api",
            "has_media": False,
            "content": text,
        },
        conversation_kapso={"contact_name": NAMES[index % len(NAMES)], "messages_count": 1},
        new_conversation=True,
    )
    return phone, json.dumps(body).encode()


@dataclass
class Sample:
    index: int
    scheduled: float
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0
    visible: float | None = None
    polls: int = 0
    retries: int = 0
    error: str | None = None


# A keep-alive connection the server closes just as a request goes out (uvicorn closes idle
# connections after 5 s) fails with one of these; both requests here are safe to repeat
# (the webhook is deduplicated by message id and X-Idempotency-Key).
TRANSIENT = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def request(
    sample: Sample, client: httpx.Client, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    for attempt in range(3):
        try:
            return client.request(method, path, **kwargs)
        except TRANSIENT:
            if attempt == 2:
                raise
            sample.retries += 1
    raise AssertionError("unreachable")


class Probe:
    def __init__(
        self,
        client: httpx.Client,
        api_key: str,
        kind: str,
        poll: float,
        timeout: float,
        abort_at: float,
    ) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.kind = kind
        self.poll = poll
        self.timeout = timeout
        self.abort_at = abort_at

    def shows(self, sample: Sample, phone: str, lead_id: str) -> bool:
        if self.kind == "lead":
            resp = request(sample, self.client, "GET", f"/leads/{lead_id}", headers=self.auth)
            return resp.status_code == 200 and resp.json()["inbound_count"] >= 1
        resp = request(
            sample, self.client, "GET", "/leads", params={"q": phone[1:]}, headers=self.auth
        )
        if resp.status_code != 200:
            return False
        return any(
            lead["lead_id"] == lead_id and lead["inbound_count"] >= 1
            for lead in resp.json()["leads"]
        )

    def wait(self, sample: Sample, phone: str, lead_id: str) -> None:
        deadline = min(sample.answered + self.timeout, self.abort_at)
        while time.perf_counter() < deadline:
            sample.polls += 1
            if self.shows(sample, phone, lead_id):
                sample.visible = time.perf_counter()
                return
            time.sleep(self.poll)
        if deadline == self.abort_at:
            sample.error = "probe cut: run deadline"
        else:
            sample.error = f"not visible within {self.timeout:g} s"


def send_one(
    client: httpx.Client, probe: Probe, creds: Credentials, run: str, sample: Sample
) -> Sample:
    if time.perf_counter() > probe.abort_at:
        sample.error = "not sent: run deadline"
        return sample
    phone, body = inbound(sample.index, run)
    key = str(uuid.uuid4())
    headers = kapso_headers(creds.kapso_secret, body, KAPSO_RECEIVED, idempotency_key=key)
    sample.sent = time.perf_counter()
    try:
        resp = request(sample, client, "POST", KAPSO_PATH, content=body, headers=headers)
    except httpx.HTTPError as exc:
        sample.answered, sample.error = time.perf_counter(), f"webhook: {type(exc).__name__}"
        return sample
    sample.answered, sample.status = time.perf_counter(), resp.status_code
    if resp.status_code != 200:
        sample.error = f"webhook: HTTP {resp.status_code}"
        return sample
    lead_id = str(resp.json()["facts"][0]["lead_id"])
    try:
        probe.wait(sample, phone, lead_id)
    except httpx.HTTPError as exc:
        sample.error = f"poll: {type(exc).__name__}"
    return sample


# -- statistics ----------------------------------------------------------------------------


# -- main ----------------------------------------------------------------------------------


def steady_load(
    base: str, creds: Credentials, rate: float, args: argparse.Namespace
) -> tuple[Any, Any] | None:
    """The rest of the offered rate, from bench.loadgen in its own process; None if none.
    Returns once its deliveries are built, so both clocks start together."""
    if rate <= 0:
        return None
    where = httpx.URL(base)
    plan = loadgen.Plan(
        str(where.host),
        int(where.port or 80),
        creds.kapso_secret,
        "G" + uuid.uuid4().hex[:6],
        args.connections,
        args.seconds,
        rate=rate,
    )
    process, receive = loadgen.start(plan, rate)
    if not receive.poll(60) or not receive.recv().get("ready"):
        raise SystemExit("the load generator did not start")
    return process, receive


def run(args: argparse.Namespace) -> dict[str, Any]:
    backend = "postgres" if args.pg else "sqlite"
    creds = Credentials()
    run_id = uuid.uuid4().hex[:8].upper()
    probe_rate = min(args.probe_rate, args.rate)
    total = int(probe_rate * args.seconds)
    samples = [Sample(i, i / probe_rate) for i in range(total)]
    workdir = Path(tempfile.mkdtemp(prefix="leadledger-lag-"))
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    try:
        with (
            database(args.pg, args.dsn, workdir) as url,
            served(url, creds, workdir, args.workers) as running,
            httpx.Client(base_url=running.base, timeout=30, limits=limits) as client,
            ThreadPoolExecutor(args.concurrency) as pool,
        ):
            futures: list[Future[Sample]] = []
            print(
                f"{backend}: {args.rate:g} deliveries/s for {args.seconds:g} s: {total} probed "
                f"new leads at {probe_rate:g}/s ({args.concurrency} threads, probe "
                f"{args.probe}), the rest from the load generator, "
                f"at most {args.drain_seconds:g} s more to drain",
                flush=True,
            )
            background = steady_load(running.base, creds, args.rate - probe_rate, args)
            start = time.perf_counter()
            abort_at = start + args.seconds + args.drain_seconds
            probe = Probe(
                client,
                creds.api_key,
                args.probe,
                args.poll_ms / 1000,
                args.visible_timeout,
                abort_at,
            )
            for sample in samples:
                sample.scheduled += start
                delay = sample.scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(send_one, client, probe, creds, run_id, sample))
            sending_done = time.perf_counter()
            for future in futures:
                future.result()
            finished = time.perf_counter()
            load = loadgen.finish(*background) if background else None
        log_tail = (workdir / "server.log").read_text(errors="replace").splitlines()[-40:]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ok = [s for s in samples if s.status == 200]
    seen = [s for s in ok if s.visible is not None]
    lags = [(s.visible - s.answered) * 1000 for s in seen if s.visible is not None]
    latencies = [(s.answered - s.sent) * 1000 for s in ok]
    slips = [(s.sent - s.scheduled) * 1000 for s in samples if s.sent]
    first_sent = min((s.sent for s in ok), default=start)
    last_answer = max((s.answered for s in ok), default=start)
    errors: dict[str, int] = {}
    for s in samples:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    skipped = errors.pop("not sent: run deadline", 0)
    cut = errors.pop("probe cut: run deadline", 0)
    probed_per_s = len(ok) / (last_answer - first_sent) if len(ok) > 1 else 0.0
    load_ok = load["statuses"].get(200, 0) if load else 0
    load_per_s = load_ok / load["wall_s"] if load else 0.0
    for status, count in (load or {}).get("statuses", {}).items():
        if status != 200:
            errors[f"load: HTTP {status}"] = count
    for name, count in (load or {}).get("errors", {}).items():
        errors[f"load: {name}"] = count
    return {
        "backend": backend,
        "probe": args.probe,
        "offered_rate_per_s": args.rate,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "poll_ms": args.poll_ms,
        "messages": total,
        "not_sent_deadline": skipped,
        "probe_cut_deadline": cut,
        "answered_200": len(ok),
        "visible": len(seen),
        "errors": errors,
        "retries": sum(s.retries for s in samples),
        "throughput_per_s": probed_per_s + load_per_s,
        "probed_per_s": probed_per_s,
        "load_per_s": load_per_s,
        "load_latency_ms": summary(load["latencies_ms"]) if load else {},
        "sending_seconds": sending_done - start,
        "total_seconds": finished - start,
        "lag_ms": summary(lags),
        "webhook_latency_ms": summary(latencies),
        "schedule_slip_ms": summary(slips),
        "polls_per_message": sum(s.polls for s in seen) / len(seen) if seen else 0.0,
        "machine": machine(),
        "server_log_tail": log_tail if errors else [],
    }


def report(result: dict[str, Any]) -> None:
    m, lag, lat = result["machine"], result["lag_ms"], result["webhook_latency_ms"]
    print(f"machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, {m['platform']}")
    print(
        f"{result['backend']}: {result['answered_200']}/{result['messages']} answered 200 "
        f"({result['not_sent_deadline']} not sent by the run deadline), "
        f"{result['visible']} visible ({result['probe_cut_deadline']} probes cut by it), "
        f"errors {result['errors'] or 'none'}, "
        f"{result['retries']} transient retries"
    )
    print(
        f"throughput {result['throughput_per_s']:.1f} msg/s (offered "
        f"{result['offered_rate_per_s']:g}/s); webhook latency p50 {lat['p50']:.1f} ms, "
        f"p99 {lat['p99']:.1f} ms; schedule slip max {result['schedule_slip_ms']['max']:.1f} ms"
    )
    print(
        f"read-your-writes lag ({result['probe']} probe): p50 {lag['p50']:.1f} ms, "
        f"p90 {lag['p90']:.1f} ms, p99 {lag['p99']:.1f} ms, max {lag['max']:.1f} ms "
        f"({result['polls_per_message']:.1f} polls/message)"
    )


AIM_P99_MS = 50.0


def contract(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The section of docs/performance.md: aim, figures and a short table."""
    lag, lat = result["lag_ms"], result["webhook_latency_ms"]
    steady = result["throughput_per_s"] >= 0.95 * args.rate and not result["not_sent_deadline"]
    met = steady and not result["errors"] and lag["p99"] < AIM_P99_MS
    command = f"python -m bench.lag{' --quick' if args.quick else ''}" + (
        " --pg" if args.pg else ""
    )
    probe = "GET /leads/{id}" if args.probe == "lead" else "GET /leads?q=<phone>"
    md = [
        "## Read-your-writes lag",
        "",
        f"{result['backend']}, {args.workers} server worker: a steady {args.rate:g} signed "
        f"deliveries/s for {args.seconds:g} s, of which {args.probe_rate:g}/s are probed (the "
        "first message of a new lead, from a thread pool) and the rest come from the ingest "
        f"load generator. After each probed 200 the client polls {probe} every "
        f"{args.poll_ms:g} ms until it shows the message; the lag is the first showing "
        "answer's arrival minus the 200's, an upper bound by up to one poll.",
        "",
        "| offered /s | achieved /s | lag p50 | lag p90 | lag p99 | lag max "
        "| webhook p50 / p99 | polls per message | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {args.rate:g} | {result['throughput_per_s']:.0f} | {lag['p50']:.1f} ms "
        f"| {lag['p90']:.1f} ms | {lag['p99']:.1f} ms | {lag['max']:.1f} ms "
        f"| {lat['p50']:.1f} / {lat['p99']:.1f} ms | {result['polls_per_message']:.1f} "
        f"| {result['errors'] or 'none'} |",
    ]
    if not steady:
        md += [
            "",
            f"The server did not keep up with the offered rate: {result['throughput_per_s']:.0f}"
            f"/s achieved of {args.rate:g}/s ({result['not_sent_deadline']} not sent by the "
            "run deadline); the lag figures hold at that lower rate.",
        ]
    if lag["p99"] >= AIM_P99_MS:
        md += ["", f"p99 lag misses the aim by {lag['p99'] - AIM_P99_MS:.1f} ms."]
    return {
        "section": "Read-your-writes lag",
        "command": command,
        "markdown": "\n".join(md) + "\n",
        "aims": [
            {
                "aim": f"Read-your-writes lag p99 at a steady {args.rate:g} deliveries/s "
                f"({result['backend']})",
                "target": f"< {AIM_P99_MS:g} ms, rate sustained",
                "measured": f"p99 {lag['p99']:.1f} ms at {result['throughput_per_s']:.0f}/s",
                "met": met,
            }
        ],
        "figures": {k: result[k] for k in ("lag_ms", "webhook_latency_ms", "throughput_per_s")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--quick", action="store_true", help="send for 5 s, drain for 20 s")
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=None, help="how long to send (20)")
    parser.add_argument(
        "--probe-rate", type=float, default=50.0, help="of --rate, deliveries/s probed"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="probing threads")
    parser.add_argument("--connections", type=int, default=64, help="load generator connections")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--probe", choices=("list", "lead"), default="lead")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="pause between polls")
    parser.add_argument(
        "--visible-timeout", type=float, default=30.0, help="max seconds to wait per message"
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=None,
        help="after --seconds of sending, stop the run at most this much later "
        "(a backlog not sent by then is counted, not sent)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON output file")
    args = parser.parse_args()
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    if args.drain_seconds is None:
        args.drain_seconds = 20.0 if args.quick else 60.0
    if args.rate <= 0 or args.seconds <= 0 or args.concurrency < 1:
        parser.error("--rate, --seconds and --concurrency must be positive")
    result = run(args)
    result.update(contract(result, args))
    report(result)
    out = args.out or OUT / f"lag-{result['backend']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if result["errors"] and result["server_log_tail"]:
        print("server log (last lines):\n  " + "\n  ".join(result["server_log_tail"]))
    print(f"wrote {out}")
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
