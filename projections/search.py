"""What `GET /leads?q=` searches: one stored text per lead, folded in Python.

SQLite's lower() and LIKE fold ASCII only, so "ömer" would not find "ÖMER Çelik" if the
database did the folding. The writer stores `search_text` (the searched fields, NFKC
normalised and casefolded, one per line) and a search folds its text the same way, so
matching is a plain LIKE on every backend. A phone typed the local way ("0819…") is also
looked for in its international digits (`domain.phone.international_digits`).
"""

from __future__ import annotations

import unicodedata

from domain.reducer import ContactView

SEARCHED = ("name", "sarah_name", "phone", "business_type", "domisili")


def folded(text: str) -> str:
    """`text` for caseless matching: compatibility-normalised, casefolded ("ß" -> "ss")."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def search_text(view: ContactView) -> str | None:
    """The view's searched fields, folded, one per line (None when it has none)."""
    found = [getattr(view, name) for name in SEARCHED]
    texts = [folded(value) for value in found if value]
    return "\n".join(texts) if texts else None


def like_pattern(text: str) -> str:
    """A folded LIKE substring pattern matching `text` literally (escape char: \\)."""
    escaped = folded(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
