"""What the Lead takes for a repeat: a contact name report by its name and source time, a
keyed command by its Idempotency-Key - which must then say the same thing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.envelope import Said
from domain.idempotency import IdempotencyKeyReusedError
from domain.lead import Lead
from domain.values import Source

T1 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
T2 = T1 + timedelta(minutes=1)
T3 = T1 + timedelta(minutes=2)


def new_lead() -> Lead:
    lead = Lead(
        workspace="acme", phone="+6281234567890", source="kapso", actor="kapso", received_at=T1
    )
    lead.collect_events()
    return lead


def kapso(at: datetime) -> Said:
    return Said(Source.KAPSO, "kapso", T3 + timedelta(hours=1), at)


def replayed(lead: Lead, *events: Any) -> Lead:
    result: Lead | None = None
    for event in events:
        result = event.mutate(result)
    assert isinstance(result, Lead)
    return result


def test_a_redelivered_older_name_is_not_recorded_whatever_came_between() -> None:
    lead = new_lead()
    assert lead.report_contact_name(kapso(T1), "Old Name")
    assert lead.report_contact_name(kapso(T2), "New Name")
    assert not lead.report_contact_name(kapso(T1), "Old Name")  # the first delivery again
    assert not lead.report_contact_name(kapso(T2), "New Name")


def test_a_name_older_than_the_newest_says_nothing_new() -> None:
    lead = new_lead()
    assert lead.report_contact_name(kapso(T2), "New Name")
    assert not lead.report_contact_name(kapso(T1), "Old Name")
    assert lead.report_contact_name(kapso(T3), "Newest Name")
    assert not lead.report_contact_name(kapso(T3), "Newest Name")


def test_name_reports_are_known_again_after_a_rebuild_from_events() -> None:
    lead = new_lead()
    lead.report_contact_name(kapso(T1), "Old Name")
    lead.report_contact_name(kapso(T2), "New Name")
    registered = Lead(
        workspace="acme", phone="+6281234567890", source="kapso", actor="kapso", received_at=T1
    )
    rebuilt = replayed(lead, *registered.collect_events(), *lead.collect_events())
    assert rebuilt.reported_name == "New Name"
    assert not rebuilt.report_contact_name(kapso(T1), "Old Name")


def human(key: str, actor: str = "ana") -> Said:
    return Said(Source.HUMAN, actor, datetime.now(UTC), None, key)


def test_a_key_reused_for_another_request_is_refused() -> None:
    lead = new_lead()
    assert lead.request_status(human("k-1"), "archived", "spam")
    with pytest.raises(IdempotencyKeyReusedError):
        lead.request_status(human("k-1"), "qualified", "spam")
    with pytest.raises(IdempotencyKeyReusedError):
        lead.add_note(human("k-1"), "archived")  # another kind of request, same key
    with pytest.raises(IdempotencyKeyReusedError):
        lead.request_status(human("k-1", actor="budi"), "archived", "spam")


def test_a_retry_of_the_same_request_is_a_repeat_even_after_a_rebuild() -> None:
    lead = new_lead()
    assert lead.request_status(human("k-1"), "archived", "spam")
    assert not lead.request_status(human("k-1"), "archived", "spam")
    registered = Lead(
        workspace="acme", phone="+6281234567890", source="kapso", actor="kapso", received_at=T1
    )
    rebuilt = replayed(lead, *registered.collect_events(), *lead.collect_events())
    assert not rebuilt.request_status(human("k-1"), "archived", "spam")
    with pytest.raises(IdempotencyKeyReusedError):
        rebuilt.request_status(human("k-1"), "new", "spam")
