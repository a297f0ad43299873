"""Sarah's extracted data as a fixed set of typed fields (SarahPhaseReported v2).

Sarah sends a free JSON object; v1 events stored it as given. From v2 on, events store
`ExtractedData.to_event()`: every known field, typed (text or None, pain points a list of
text), and the keys we do not know yet under `other`, so nothing Sarah said is lost.
The same coercion reads Sarah's payloads and upcasts v1 events, so an old event and the
same report recorded today hold the same values. Events hold plain values only, hence
the dict form; read them back with `from_event`, which tolerates missing or None values
(an erased event has no personal values left).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from domain.merge import is_blank
from domain.values import Temperature

# Sarah's key -> our field (only `name` is renamed: it is not the WhatsApp contact name).
SARAH_KEYS: Mapping[str, str] = {
    "name": "sarah_name",
    "business_type": "business_type",
    "domisili": "domisili",
    "business_duration": "business_duration",
    "priority": "priority",
    "urgency_level": "urgency_level",
    "closing_technique_used": "closing_technique_used",
    "objection_raised": "objection_raised",
}
TEMPERATURES = frozenset(t.value for t in Temperature)
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")


@dataclass(frozen=True, kw_only=True)
class ExtractedData:
    sarah_name: str | None = None
    business_type: str | None = None
    domisili: str | None = None
    business_duration: str | None = None
    pain_points: list[str] = field(default_factory=list)
    priority: str | None = None
    urgency_level: str | None = None
    closing_technique_used: str | None = None
    objection_raised: str | None = None
    other: dict[str, Any] = field(default_factory=dict)  # keys we do not model yet

    @classmethod
    def from_sarah(cls, raw: Any) -> ExtractedData:
        """Coerce Sarah's object (also a v1 event's `extracted_data`): blanks say nothing."""
        if not isinstance(raw, Mapping):
            return cls()
        known: dict[str, Any] = {}
        other: dict[str, Any] = {}
        for key, value in raw.items():
            name = SARAH_KEYS.get(str(key))
            if key == "pain_points" and not isinstance(value, Mapping):
                known["pain_points"] = _text_list(value)
            elif name is not None and not isinstance(value, Mapping):
                known[name] = _text(value)
            elif not is_blank(value):  # unknown key, or an object where text belongs
                other[str(key)] = copy.deepcopy(value)
        return cls(**known, other=other)

    @classmethod
    def from_event(cls, data: Any) -> ExtractedData:
        """Read a v2 event's `extracted_data`; None or missing values read as nothing."""
        if not isinstance(data, Mapping):
            return cls()
        texts = {f: _text(data.get(f)) for f in SARAH_KEYS.values()}
        other = data.get("other")
        return cls(
            **texts,
            pain_points=_text_list(data.get("pain_points")),
            other=copy.deepcopy(dict(other)) if isinstance(other, Mapping) else {},
        )

    def to_event(self) -> dict[str, Any]:
        """Plain values with every field present (what a v2 event stores)."""
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}

    def said(self) -> dict[str, Any]:
        """What this report says, in Sarah's own keys, blanks left out (for the view)."""
        said: dict[str, Any] = copy.deepcopy(self.other)
        for key, name in SARAH_KEYS.items():
            value = getattr(self, name)
            if value is not None:
                said[key] = value
        if self.pain_points:
            said["pain_points"] = list(self.pain_points)
        return said


def score(value: Any) -> int | None:
    """A lead score as an int: ints, integral floats and digit strings ("75"); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def temperature(value: Any) -> str | None:
    """A Temperature value ("Hot " -> "hot"); anything else is None."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    return text if text in TEMPERATURES else None


def _text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list | tuple):
        return ", ".join(t for t in _text_list(value)) or None
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _text_list(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    texts = [_text(item) for item in items]
    return [t for t in texts if t is not None]
