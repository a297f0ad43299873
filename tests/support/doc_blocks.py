"""The shell blocks of a docs page, with how the docs test treats each one.

A block is run as written unless an HTML comment right above its fence says otherwise:
`<!-- docs-test: server (why) -->` (its last `&&` step starts the server),
`<!-- docs-test: server postgres (why) -->` (the same, on PostgreSQL, in its own test) or
`<!-- docs-test: skip (why) -->` (not run; the reason is required, and shown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(
    r"(?:<!-- docs-test: (?P<marker>[^>]*?) -->\n)?```sh\n(?P<text>.*?)^```", re.M | re.S
)
KINDS = ("run", "server", "server postgres", "skip")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    kind: str
    reason: str
    text: str

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"

    def server_command(self) -> tuple[list[str], str]:
        """(commands to run first, the command that starts the server): the last line's
        last `&&` step; the steps before it on that line install (the test's own venv)."""
        *before, last = self.text.strip().splitlines()
        return before, last.split("&&")[-1].strip()


def blocks(page: str) -> list[Block]:
    text = (DOCS / page).read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        marker = (match["marker"] or "run").strip()
        kind = next((k for k in sorted(KINDS, key=len, reverse=True) if marker.startswith(k)), "")
        reason = marker[len(kind) :].strip(" ()")
        line = text.count("\n", 0, match.start("text"))
        found.append(Block(page, line, kind or marker, reason, match["text"]))
    return found
