"""Fair intake: one workspace's largest batch while another posts single deliveries.

    .venv/bin/python -m bench.fairness [--pg] [--quick] [--out FILE]

A `leadledger serve` process with two workspaces. Workspace `big` posts the largest
batch of one-line messages the body limit allows (5 MB: about 40,000 messages, from
2,000 leads) and, as Kapso does, retries the same bytes after each 503 until it gets its
200. Meanwhile workspace `small` posts single messages one after another. Reported: the
single deliveries' latency (p50, p99, max) and statuses, the batch's answers and time,
the server's resident memory (peak while the batch is written, and once it is stored).
--quick: a 1 MB batch. Writes bench/out/fairness-<backend>.json (or --out): the figures
and the section of docs/performance.md (`section`, `command`, `markdown`, `aims`,
`figures`).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from adapters.webhooks import payloads
from bench.common import DEFAULT_PG, OUT, Credentials, database, served, summary

BODY_LIMIT = 5 * 1024 * 1024  # LEADLEDGER_MAX_BODY_BYTES' default
QUICK_BODY = 1024 * 1024
BATCH_LEADS = 2000
BIG, SMALL = ("big", "109876543210001"), ("small", "109876543210002")
AIM_P99_MS = 1000.0
AIM_PEAK_RSS_MB = 600.0


def workspaces_toml() -> str:
    return "".join(
        f'[workspaces.{name}]\nphone_number_ids = ["{number}"]\n' for name, number in (BIG, SMALL)
    )


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def single(secret: str, index: int) -> tuple[bytes, dict[str, str]]:
    phone = f"+62813{20_000_000 + index % 50:08d}"
    element = payloads.kapso_message(
        f"wamid.small.{index}",
        phone,
        phone_number_id=SMALL[1],
        conversation_id=f"conv-small-{index % 50}",
        text=f"small {index}",
        sender=phone,
    )
    body = json.dumps(element).encode()
    return body, payloads.kapso_headers(secret, body, payloads.KAPSO_RECEIVED)


def run(args: argparse.Namespace) -> dict[str, Any]:
    creds = Credentials()
    workdir = OUT / f"fairness-{'pg' if args.pg else 'sqlite'}"
    workdir.mkdir(parents=True, exist_ok=True)
    body_limit = QUICK_BODY if args.quick else BODY_LIMIT
    batch, messages = payloads.kapso_large_batch(body_limit, BIG[1], BATCH_LEADS, "bench")
    batch_headers = payloads.kapso_headers(creds.kapso_secret, batch)
    answers: list[int] = []
    done = threading.Event()
    small: list[tuple[int, float]] = []
    peak = [0.0]
    with (
        database(args.pg, args.dsn, workdir, "fairness") as url,
        served(url, creds, workdir, 1, config_toml=workspaces_toml()) as server,
    ):
        pid = server.process.pid
        idle = rss_mb(pid)

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], rss_mb(pid))

        def post_batch() -> None:
            with httpx.Client(base_url=server.base, timeout=120) as client:
                while len(answers) < 100:
                    status = client.post(
                        payloads.KAPSO_PATH, content=batch, headers=batch_headers
                    ).status_code
                    answers.append(status)
                    if status != 503:
                        break
                    time.sleep(1.0)
            done.set()

        started = time.monotonic()
        threads = [threading.Thread(target=t, daemon=True) for t in (sample, post_batch)]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=server.base, timeout=60) as client:
            index = 0
            while not done.is_set():
                body, headers = single(creds.kapso_secret, index)
                sent = time.monotonic()
                status = client.post(payloads.KAPSO_PATH, content=body, headers=headers)
                small.append((status.status_code, time.monotonic() - sent))
                index += 1
                time.sleep(0.05)
        batch_seconds = time.monotonic() - started
        for thread in threads:
            thread.join(10)
        time.sleep(2.0)  # the memory handed back once the batch is stored
        after = rss_mb(pid)
    latency = summary([s * 1000 for _, s in small])
    return {
        "backend": "postgres" if args.pg else "sqlite",
        "batch_bytes": len(batch),
        "batch_messages": messages,
        "batch_answers": answers,
        "batch_seconds": round(batch_seconds, 1),
        "small_deliveries": len(small),
        "small_statuses": sorted({status for status, _ in small}),
        "small_latency_ms": {k: round(v, 1) for k, v in latency.items()},
        "rss_mb": {"idle": round(idle), "peak": round(peak[0]), "after": round(after)},
    }


def section(result: dict[str, Any], command: str) -> dict[str, Any]:
    lat, rss = result["small_latency_ms"], result["rss_mb"]
    ok = result["small_statuses"] == [200] and result["batch_answers"][-1:] == [200]
    markdown = "\n".join(
        [
            f"## Fair intake: one huge batch, other senders ({result['backend']})",
            "",
            f"One workspace posts a {result['batch_bytes'] / 1e6:.1f} MB batch of "
            f"{result['batch_messages']:,} messages ({result['backend']}), retrying after each "
            f"503; another posts single messages meanwhile.",
            "",
            "| figure | value | aim |",
            "|---|---|---|",
            f"| batch answers | {', '.join(map(str, result['batch_answers']))} | ends 200 |",
            f"| batch stored in | {result['batch_seconds']} s | - |",
            f"| single deliveries meanwhile | {result['small_deliveries']}, statuses "
            f"{result['small_statuses']} | all 200 |",
            f"| single delivery p50 / p99 / max | {lat['p50']} / {lat['p99']} / {lat['max']} ms "
            f"| p99 < {AIM_P99_MS:.0f} ms |",
            f"| server RSS idle / peak / after | {rss['idle']} / {rss['peak']} / {rss['after']} MB"
            f" | peak < {AIM_PEAK_RSS_MB:.0f} MB |",
        ]
    )
    aims = [
        {
            "aim": "Single deliveries of another workspace while one posts a 5 MB batch: p99",
            "target": f"< {AIM_P99_MS:.0f} ms, all 200",
            "measured": f"p99 {lat['p99']} ms, statuses {result['small_statuses']}",
            "met": lat["p99"] < AIM_P99_MS and ok,
        },
        {
            "aim": "Server memory while the batch is written (peak RSS)",
            "target": f"< {AIM_PEAK_RSS_MB:.0f} MB",
            "measured": f"{rss['peak']} MB (idle {rss['idle']}, after {rss['after']})",
            "met": rss["peak"] < AIM_PEAK_RSS_MB,
        },
    ]
    return {
        "section": "fairness",
        "command": command,
        "markdown": markdown,
        "aims": aims,
        "figures": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--quick", action="store_true", help="a 1 MB batch")
    parser.add_argument("--out", type=Path, default=None, help="JSON output file")
    args = parser.parse_args()
    command = " ".join(["python -m bench.fairness", *sys.argv[1:]])
    answer = section(run(args), command)
    print(answer["markdown"])
    out = args.out or OUT / f"fairness-{answer['figures']['backend']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    if not all(aim["met"] for aim in answer["aims"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
