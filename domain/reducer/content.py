"""What the content WhatsApp sent whole says in the views: ad attribution, Flow answers,
the last shared location, reactions, edits and deletions of earlier messages.

The write side keeps each message's type-specific object verbatim (`content`, keyed by the
type), its `referral` and its `errors`; here they become view fields. They are read by
name (`field`), so events stored before these fields existed read None. A reaction, an
edit or a revoke is about another message: it changes that message's entry and makes no
entry of its own (decided by `message_type`, which stays in clear, so the same holds after
an erasure shredded the content).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from domain.json_numbers import strict_loads
from domain.reducer.contact_view import ContactView, MessageEntry, replace
from domain.reducer.ledger_event import LedgerEvent
from domain.reducer.values import text

# Message types that change an earlier message instead of adding one.
ABOUT_ANOTHER_MESSAGE = frozenset({"reaction", "edit", "revoke"})
REFERRAL_KEYS = ("ctwa_clid", "source_url", "source_id", "source_type", "headline", "body")


def field(fact: object, name: str) -> Any:
    """A contract field of an event, None when the event predates it (or was shredded)."""
    return vars(fact).get(name)


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def content_of(fact: object, kind: str) -> Mapping[str, Any]:
    """The type-specific object under `kind` in the event's content ({} when absent)."""
    return mapping(mapping(field(fact, "content")).get(kind))


def target_message_id(fact: object, message_type: str | None) -> str | None:
    """The message a reaction, edit or revoke is about."""
    if message_type == "reaction":
        return text(content_of(fact, "reaction").get("message_id"))
    if message_type in ("edit", "revoke"):
        return text(content_of(fact, message_type).get("original_message_id"))
    return None


def with_inbound_content(view: ContactView, event: LedgerEvent, fact: object) -> ContactView:
    """Referral (first and last touch), Flow answers and location from an inbound message."""
    at = iso(event.at)
    referral = mapping(field(fact, "referral"))
    if referral:
        touch = {k: referral.get(k) for k in REFERRAL_KEYS} | {"at": at}
        first = view.first_referral
        if first is None or str(first.get("at", "")) > at:
            view = replace(view, first_referral=touch)
        last = view.last_referral
        if last is None or str(last.get("at", "")) <= at:
            view = replace(view, last_referral=touch)
    answers = flow_answers(mapping(content_of(fact, "interactive")))
    if answers is not None and _later(view.flow_answers, at):
        view = replace(view, flow_answers={"answers": answers, "at": at})
    location = content_of(fact, "location")
    if location and _later(view.last_location, at):
        view = replace(view, last_location={**location, "at": at})
    return view


def flow_answers(interactive: Mapping[str, Any]) -> Any:
    """A Flow's (lead form's) answers: `nfm_reply.response_json` parsed, or the text as sent
    when it is not JSON; None when the message is no Flow reply."""
    raw = mapping(interactive.get("nfm_reply")).get("response_json")
    if raw is None:
        return None
    if not isinstance(raw, str):
        return raw
    try:  # strictly: NaN or 1e400 would come back as another value; keep the text instead
        return strict_loads(raw)
    except (ValueError, RecursionError):
        return raw


def about_message(
    entry: MessageEntry, fact: object, message_type: str, direction: str, at: str
) -> MessageEntry:
    """A reaction, edit or revoke applied to the entry of the message it is about."""
    if message_type == "reaction":
        emoji = text(content_of(fact, "reaction").get("emoji"))
        others = [r for r in entry.reactions or [] if r.get("by") != direction]
        mine = [r for r in entry.reactions or [] if r.get("by") == direction]
        if mine and str(mine[0].get("at", "")) > at:
            return entry  # an older reaction than the one shown
        # An empty emoji takes the reaction back: it disappears.
        added = [{"by": direction, "emoji": emoji, "at": at}] if emoji else []
        return replace(entry, reactions=(others + added) or None)
    if message_type == "revoke":
        return replace(entry, deleted=True)
    edited = edited_text(content_of(fact, "edit"))
    original = entry.original_text if entry.edited else entry.text
    return replace(entry, edited=True, text=edited, original_text=original)


def edited_text(edit: Mapping[str, Any]) -> str | None:
    """The new text of an edited message: its body, or its media's caption."""
    message = mapping(edit.get("message"))
    kind = text(message.get("type")) or "text"
    body = mapping(message.get(kind))
    return text(body.get("body")) or text(body.get("caption"))


def _later(current: Mapping[str, Any] | None, at: str) -> bool:
    return current is None or str(current.get("at", "")) <= at


def iso(at: datetime) -> str:
    """A time inside a JSON field: UTC ISO text, so that texts compare as times do."""
    return (at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()
