"""A person's ids in the contact view: the lead's own key, and the ids linked to it
(`IdentityLinked`, docs/read-models.md "One person, many ids")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from domain.lead_events import IdentityLinked
from domain.reducer.contact_view import ContactView, replace
from domain.reducer.values import text

_PREFIXES = (("wa_user:", "wa_user_id"), ("wa_username:", "username"))


def key_columns(lead_key: str | None) -> dict[str, Any]:
    """The view column a lead key fills: `phone` for an E.164 phone, else `wa_user_id` or
    `username` (the key's prefix tells)."""
    for prefix, column in _PREFIXES:
        if lead_key is not None and lead_key.startswith(prefix):
            return {"phone": None, column: lead_key.removeprefix(prefix)}
    return {"phone": lead_key}


def identity_linked(view: ContactView, fact: IdentityLinked) -> ContactView:
    """Another id of the person. On the lead holding their history it fills the id's column
    when empty (a number change replaces the phone: the new number is the one to call);
    on the other id's lead it records where the history is (`held_by`)."""
    kind, identity, reason = text(fact.kind), text(fact.identity), text(fact.reason)
    held_by = text(fact.held_by)
    if held_by is not None:
        view = replace(view, held_by=held_by)
    if identity is None:  # shredded: the link stays, the id is gone
        return view
    link = {"kind": kind, "identity": identity, "reason": reason}
    linked = [*(view.linked_identities or []), link]
    view = replace(view, linked_identities=linked)
    if held_by is not None:
        return view
    if kind == "phone" and (view.phone is None or reason == "number_changed"):
        return replace(view, phone=identity)
    if kind == "wa_user" and view.wa_user_id is None:
        return replace(view, wa_user_id=identity)
    if kind == "wa_username" and view.username is None:
        return replace(view, username=identity)
    return view


def combined(holder: ContactView, merged: Sequence[ContactView]) -> ContactView:
    """The holder's view with the histories of the leads that point at it (a person's
    other ids, histories merged into it): counts add up, times and content keep the
    earliest or latest. Status, phase and Sarah's data stay the holder's: they are decided
    on its own events."""
    view = holder
    for other in merged:
        view = replace(
            view,
            inbound_count=view.inbound_count + other.inbound_count,
            outbound_count=view.outbound_count + other.outbound_count,
            created_at=min(view.created_at, other.created_at),
            last_message_at=_later_time(view.last_message_at, other.last_message_at),
            last_inbound_at=_later_time(view.last_inbound_at, other.last_inbound_at),
            last_outbound_at=_later_time(view.last_outbound_at, other.last_outbound_at),
            last_contact_at=_later_time(view.last_contact_at, other.last_contact_at),
            first_referral=_by_time(view.first_referral, other.first_referral, min),
            last_referral=_by_time(view.last_referral, other.last_referral, max),
            flow_answers=_by_time(view.flow_answers, other.flow_answers, max),
            last_location=_by_time(view.last_location, other.last_location, max),
            name=view.name or other.name,
        )
    return view


def _later_time(mine: datetime | None, theirs: datetime | None) -> datetime | None:
    return theirs if mine is None else mine if theirs is None else max(mine, theirs)


def _by_time(
    mine: dict[str, Any] | None,
    theirs: dict[str, Any] | None,
    pick: Callable[[str, str], str],
) -> dict[str, Any] | None:
    if mine is None or theirs is None:
        return mine or theirs
    at = pick(str(mine.get("at", "")), str(theirs.get("at", "")))
    return mine if str(mine.get("at", "")) == at else theirs
