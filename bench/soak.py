"""Soak: the crash-under-load round of tests/e2e/test_crash.py, many times, with more traffic.

Each round starts the real server (`leadledger serve`) on the same ledger, sends signed
deliveries (Kapso messages, batches, delivery reports, Sarah phases with idempotency keys;
about 10 % exact repeats) from concurrent senders, SIGKILLs it at a random point, reads the
ledger directly, restarts, redelivers everything and compares the views with a full rebuild
(see `tests.faults.crash_round`). The ledger grows round after round.

    python -m bench.soak                         # SQLite, 5 rounds of 2000
    python -m bench.soak --backend postgres --rounds 3 --deliveries 3000
    python -m bench.soak --backend both --json bench/out/soak.json

Prints one row per round: deliveries, acknowledged (200 before the kill), lost
(acknowledged but missing after the kill), duplicated (facts stored twice), 5xx, and more.
Exit code 1 when any round found a problem. PostgreSQL runs in a fresh schema of
$LEADLEDGER_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `tests`

from tests.faults import RoundResult, crash_round, signed_deliveries

DEFAULT_PG = os.environ.get("LEADLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
COLUMNS = (
    ("round", 5),
    ("deliveries", 10),
    ("acknowledged", 12),
    ("lost", 5),
    ("duplicated", 10),
    ("5xx", 4),
    ("no answer", 9),
    ("stored, unanswered", 18),
    ("view diffs", 10),
    ("seconds", 8),
)


def row(result: RoundResult) -> list[str]:
    return [
        str(result.round),
        str(result.deliveries),
        str(result.acknowledged),
        str(result.lost),
        str(result.duplicated),
        str(result.server_errors),
        str(result.no_answer),
        str(result.committed_unanswered),
        str(len(result.view_differences)),
        f"{result.seconds:.1f}",
    ]


def print_row(cells: list[str]) -> None:
    print("  ".join(cell.rjust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)))


def soak(backend: str, args: argparse.Namespace, workdir: Path) -> list[RoundResult]:
    schema = f"ll_soak_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        url = f"sqlite:///{workdir / backend / 'ledger.db'}"
    else:
        url = f"{DEFAULT_PG}?schema={schema}"
    rng = random.Random(args.seed)
    results: list[RoundResult] = []
    print(
        f"\n{backend}: {args.rounds} rounds of {args.deliveries} deliveries, "
        f"{args.workers} senders, {args.leads} leads"
    )
    print_row([name for name, _ in COLUMNS])
    try:
        for number in range(1, args.rounds + 1):
            deliveries = signed_deliveries(
                args.deliveries, args.leads, seed=args.seed * 1000 + number, tag=f"r{number}-"
            )
            kill_after = rng.randint(args.deliveries // 5, args.deliveries * 4 // 5)
            result = crash_round(
                backend,
                url,
                workdir / backend / f"round{number}",
                deliveries,
                kill_after=kill_after,
                workers=args.workers,
                number=number,
            )
            results.append(result)
            print_row(row(result))
            for problem in result.problems():
                print(f"    PROBLEM: {problem}")
    finally:
        if backend == "postgres" and not args.keep:
            with psycopg.connect(DEFAULT_PG, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    totals = [
        "all",
        *(str(sum(int(r[i]) for r in map(row, results))) for i in range(1, 9)),
        f"{sum(r.seconds for r in results):.1f}",
    ]
    print_row(totals)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    parser.add_argument("--keep", action="store_true", help="keep the data (dir / schema)")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    workdir = Path(tempfile.mkdtemp(prefix="leadledger-soak-"))
    results: list[RoundResult] = []
    for backend in backends:
        results += soak(backend, args, workdir)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"\ndata kept in {workdir}")
    failed = [r for r in results if r.problems()]
    print(f"\n{len(results)} rounds, {len(failed)} with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
