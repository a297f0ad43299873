"""Legacy import speed: `leadledger import` of generated contacts and notes files.

    .venv/bin/python -m bench.import_bench [--quick] [--pg] [--out bench/out/import_bench.json]

Generates N contacts (default 100,000; --quick 3,000) and one note per contact in the old
Convex export shape, with 1% bad rows (unusable phones, unknown statuses, broken JSON), then
times `leadledger import` as a subprocess on a fresh ledger, and once more (the re-import,
which must append nothing). Answers with {"section", "command", "markdown", "aims", "figures"}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import DEFAULT_PG, ROOT, WORKSPACE, database, leadledger_bin, machine

AIM_SECONDS = 60.0  # the issue: 100,000 contacts "well under a minute" on SQLite
STATUSES = ("hot", "warm", "cold", "client", "lost")
BASE_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def generate(workdir: Path, contacts: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    contacts_path, notes_path = workdir / "contacts.jsonl", workdir / "notes.jsonl"
    with contacts_path.open("w") as c_out, notes_path.open("w") as n_out:
        for i in range(contacts):
            created = BASE_MS + i * 60_000
            row: dict[str, Any] = {
                "_id": f"c{i}",
                "supabaseId": f"00000000-0000-4000-8000-{i:012d}",
                "workspace_id": "ws1",
                "kapso_name": f"Lead {i}",
                "phone": f"62812{i:08d}",
                "lead_status": rng.choice(STATUSES),
                "lead_score": rng.randint(0, 100),
                "metadata": {"source": rng.choice(["ig", "ads", "referral"])},
                "created_at": created,
                "updated_at": created + rng.randint(0, 10**9),
            }
            bad = rng.random()
            if bad < 0.004:
                row["phone"] = "not a phone"
            elif bad < 0.008:
                row["lead_status"] = "lukewarm"
            line = json.dumps(row)
            c_out.write((line[:-5] if bad > 0.99 else line) + "\n")  # 1%: broken JSON
            note = {
                "_id": f"n{i}",
                "contact_id": f"c{i}",
                "user_id": "sarah-bot" if i % 2 else "user_1",
                "content": f"note {i}: asked about pricing",
                "created_at": created + 1000,
            }
            n_out.write(json.dumps(note) + "\n")
    return contacts_path, notes_path


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float  # user + system of the import process: what a busy machine inflates least
    summary: dict[str, Any]


def run_import(url: str, workdir: Path, files: tuple[Path, Path]) -> Timed:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(
        LEADLEDGER_DATABASE_URL=url,
        LEADLEDGER_API_KEYS=f"{WORKSPACE}=bench-key",
        LEADLEDGER_CONFIG_FILE=str(workdir / "absent.toml"),
        PYTHONPATH=str(ROOT),
        COLUMNS="200",
    )
    command = [leadledger_bin(), "import", str(files[0]), str(files[1]), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(seconds, cpu, json.loads(done.stdout))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    contacts = 3_000 if args.quick else args.contacts
    backend = "PostgreSQL" if args.pg else "SQLite"
    with tempfile.TemporaryDirectory(prefix="ll-import-") as tmp:
        workdir = Path(tmp)
        files = generate(workdir, contacts, args.seed)
        load = os.getloadavg()[0]
        with database(args.pg, args.dsn, workdir, "import") as url:
            first_run = run_import(url, workdir, files)
            again_run = run_import(url, workdir, files)
    first, again = first_run.summary, again_run.summary
    first_s, again_s = first_run.wall, again_run.wall
    scaled = first_s * 100_000 / contacts
    met = scaled < AIM_SECONDS and again["events_appended"] == 0
    command = "python -m bench.import_bench" + (" --quick" if args.quick else "")
    command += " --pg" if args.pg else ""
    c, r = first["contacts"], first["rejected"]
    md = [
        f"## Import ({backend})",
        "",
        f"`leadledger import contacts.jsonl notes.jsonl` of {contacts:,} generated contacts "
        f"and {first['notes']['read']:,} notes (1% bad rows), on a fresh ledger; then the same "
        f"files again. Load average at the start: {load:.1f} on {os.cpu_count()} CPUs.",
        "",
        "| run | wall time | CPU time | contacts/s (wall) | contacts imported | notes imported "
        "| events appended | rejected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| first | {first_s:.1f} s | {first_run.cpu:.1f} s | {contacts / first_s:,.0f} "
        f"| {c['imported']:,} | {first['notes']['imported']:,} | {first['events_appended']:,} "
        f"| {r['total']:,} |",
        f"| re-import | {again_s:.1f} s | {again_run.cpu:.1f} s | {contacts / again_s:,.0f} "
        f"| {again['contacts']['imported']:,} | {again['notes']['imported']:,} "
        f"| {again['events_appended']:,} | {again['rejected']['total']:,} |",
        "",
        "Wall time includes process start-up and reading the files; the read models catch up "
        "afterwards in the server (or with `--update-views`). CPU time is the import "
        "process's own (user + system): on a busy machine it is the steadier figure.",
    ]
    return {
        "section": f"Import ({backend})",
        "command": command,
        "markdown": "\n".join(md) + "\n",
        "aims": [
            {
                "aim": f"Import 100,000 legacy contacts ({backend})",
                "target": f"well under {AIM_SECONDS:g} s; a re-import appends nothing",
                "measured": f"{scaled:.1f} s per 100,000 (measured on {contacts:,}, CPU "
                f"{first_run.cpu * 100_000 / contacts:.1f} s); "
                f"re-import appended {again['events_appended']}",
                "met": met,
            }
        ],
        "figures": {
            "contacts": contacts,
            "first_seconds": first_s,
            "first_cpu_seconds": first_run.cpu,
            "reimport_seconds": again_s,
            "reimport_cpu_seconds": again_run.cpu,
            "load_average": load,
            "first": first,
            "reimport": again,
            "machine": machine(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3,000 contacts")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON answer here")
    args = parser.parse_args()
    result = measure(args)
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(result["markdown"], file=sys.stderr)
    print(text)


if __name__ == "__main__":
    main()
