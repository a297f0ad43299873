"""The reducer's status rows, field by field: what a request, a release and a Sarah report
write into the status history and the contact view (docs/read-models.md, "Status history").
The oracle test checks the same rules on random histories; these pin each field cheaply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.policy import DEFAULT_POLICY
from domain.reducer import LedgerEvent, StatusHistoryEntry, replay
from domain.reducer.contact_view import latest

LEAD = UUID("00000000-0000-4000-8000-00000000000a")
T0 = datetime(2025, 11, 24, 16, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def event(position: int, kind: str, minutes: int, **data: Any) -> LedgerEvent:
    when = at(minutes)
    return LedgerEvent(LEAD, position, position, kind, when, {"occurred_at": when, **data})


def registered() -> LedgerEvent:
    return event(1, "Registered", 0, workspace="acme", phone="+6281234567890")


def request(position: int, minutes: int, **data: Any) -> LedgerEvent:
    return event(position, "StatusRequested", minutes, **data)


def release(position: int, minutes: int, **data: Any) -> LedgerEvent:
    return event(position, "StatusHoldReleased", minutes, **data)


def history_of(*events: LedgerEvent) -> tuple[Any, list[StatusHistoryEntry]]:
    view, history, _notes, _messages = replay([registered(), *events], DEFAULT_POLICY)
    return view, history


def entry(position: int, minutes: int, *row: Any) -> StatusHistoryEntry:
    return StatusHistoryEntry(LEAD, position, at(minutes), *row)


def test_a_request_is_recorded_with_its_source_actor_reason_and_decision() -> None:
    by_brain = request(2, 5, status=" Qualified ", source="brain", actor="brain-7", reason="asked")
    view, history = history_of(by_brain)
    assert history == [
        entry(
            2,
            5,
            "brain",
            "brain-7",
            "new",
            "qualified",
            "asked",
            "applied",
            "first_status",
            "request",
        ),
    ]
    assert (view.lead_status, view.status_source, view.status_held) == ("qualified", "brain", False)
    assert (view.status_updated_at, view.status_updated_by) == (at(5), "brain-7")


def test_a_request_without_an_actor_is_recorded_as_its_source() -> None:
    view, history = history_of(request(2, 5, status="contacted", source="brain"))
    assert (history[0].actor, view.status_updated_by) == ("brain", "brain")


def test_a_request_without_status_or_source_is_kept_as_said_and_suppressed() -> None:
    view, history = history_of(request(2, 5))
    assert [(h.source, h.to_status, h.outcome, h.outcome_reason) for h in history] == [
        ("", "", "suppressed", "unknown_status")
    ]
    assert view.lead_status == "new"


def test_a_human_request_is_a_contact_but_never_moves_the_last_contact_back() -> None:
    human_late = request(2, 30, status="contacted", source="human", actor="dewi")
    human_early = request(3, 10, status="qualified", source="human", actor="dewi")
    view, _ = history_of(human_late, human_early)
    assert view.last_contact_at == at(30)
    by_brain = request(2, 30, status="contacted", source="brain")
    view, _ = history_of(by_brain)
    assert view.last_contact_at is None


def test_a_release_of_a_human_hold_is_an_audited_change() -> None:
    hold = request(2, 5, status="qualified", source="human", actor="dewi")
    view, history = history_of(hold, release(3, 9, source="human", actor="dewi"))
    assert history[1] == entry(
        3,
        9,
        "human",
        "dewi",
        "qualified",
        "qualified",
        None,
        "applied",
        "hold_released",
        "release",
    )
    assert (view.lead_status, view.status_source, view.status_held) == ("qualified", "human", False)
    # Released: the bot's later request is judged as if no human had set the status.
    view, history = history_of(
        hold,
        release(3, 9, source="human", actor="dewi"),
        request(4, 12, status="converted", source="brain"),
    )
    assert (history[2].outcome, history[2].outcome_reason) == ("applied", "hold_released")


def test_a_release_when_nothing_is_held_is_recorded_as_no_change() -> None:
    view, history = history_of(release(2, 9))
    assert history == [
        entry(2, 9, "human", "human", "new", "new", None, "no_change", "not_held", "release")
    ]
    assert view.status_held is False


def test_sarahs_phase_report_proposes_its_status_as_her_actor_with_the_outcome() -> None:
    report = event(
        2,
        "SarahPhaseReported",
        5,
        chat_phase="completed",
        outcome="won",
        source="sarah",
        actor="sarah-v2",
        extracted_data={},
    )
    view, history = history_of(report)
    (row,) = history
    assert (row.actor, row.reason, row.origin) == (
        "sarah-v2",
        "sarah phase completed, outcome won",
        "sarah_phase",
    )
    assert view.conversation_status is None  # only a handoff hands the conversation over


def test_a_handoff_hands_the_conversation_over() -> None:
    handoff = event(
        2,
        "SarahPhaseReported",
        5,
        chat_phase="handoff",
        source="sarah",
        actor="sarah",
        extracted_data={},
    )
    view, _ = history_of(handoff)
    assert view.conversation_status == "handover"


def test_a_report_without_a_phase_merges_its_data_and_proposes_nothing() -> None:
    report = event(
        2,
        "SarahPhaseReported",
        5,
        chat_phase=None,
        source="sarah",
        actor="sarah",
        extracted_data={"pain_points": "cash flow"},
    )
    view, history = history_of(report)
    assert history == []
    assert view.pain_points == ["cash flow"]  # one text where a list belongs is one item


def test_the_later_of_two_times_wins_and_equal_times_keep_the_instant() -> None:
    assert latest(at(5), at(3)) == at(5)
    assert latest(at(3), at(5)) == at(5)
    assert latest(None, at(3)) == at(3)


def test_a_release_is_recorded_as_whoever_said_it() -> None:
    _, history = history_of(release(2, 9, source="brain", actor="brain-1"))
    assert (history[0].source, history[0].actor) == ("brain", "brain-1")


# -- imported rows (docs/import.md, docs/legacy-mapping.md) ---------------------------------

CREATED = datetime(2023, 5, 1, 9, tzinfo=UTC)
ALL_GROUPS = ["name", "status", "lead_score", "metadata"]


def imported(position: int, minutes: int, **row: Any) -> LedgerEvent:
    fields: dict[str, Any] = {
        "legacy_id": "c1",
        "changed": ALL_GROUPS,
        "name": "Budi",
        "legacy_status": "hot",
        "lead_score": 80,
        "metadata": None,
        "legacy_created_at": CREATED,
        "legacy_updated_at": at(minutes),
        "mapped_at_import": None,
        "source": "import",
        "actor": "importer-1",
    }
    return event(position, "ContactImported", minutes, **(fields | row))


def test_an_imported_row_sets_its_fields_and_requests_its_mapped_status() -> None:
    view, history = history_of(imported(2, 5))
    assert (view.name, view.lead_score, view.lead_temperature) == ("Budi", 80, "hot")
    assert view.created_at == CREATED  # the legacy creation moves the lead's back
    reason = "imported: legacy lead_status 'hot' → qualified (temperature hot)"
    assert history == [
        entry(
            2,
            5,
            "import",
            "importer-1",
            "new",
            "qualified",
            reason,
            "applied",
            "first_status",
            "import",
        ),
    ]


def test_an_imported_creation_time_never_moves_the_lead_forward() -> None:
    view, _ = history_of(imported(2, 5, legacy_created_at=at(60)))
    assert view.created_at == at(0)


def test_only_the_groups_that_changed_speak() -> None:
    row = imported(2, 5, changed=["name"], lead_score=10, legacy_status="cold")
    view, history = history_of(row)
    assert (view.name, view.lead_score, view.lead_temperature) == ("Budi", None, None)
    assert history == []


def test_a_row_without_a_legacy_status_requests_nothing() -> None:
    view, history = history_of(imported(2, 5, legacy_status=None))
    assert (view.name, view.lead_score, view.lead_status) == ("Budi", 80, "new")
    assert history == []


def test_a_legacy_status_missing_from_the_table_is_requested_as_said_and_suppressed() -> None:
    view, history = history_of(imported(2, 5, legacy_status=" Mystery ", source="migration"))
    reason = "imported: legacy lead_status 'mystery' is not in the table"
    assert history == [
        entry(
            2,
            5,
            "migration",
            "importer-1",
            "new",
            "mystery",
            reason,
            "suppressed",
            "unknown_status",
            "import",
        ),
    ]
    assert view.lead_status == "new"


def test_an_imported_row_without_a_source_is_the_import() -> None:
    _, history = history_of(imported(2, 5, source=None))
    assert history[0].source == "import"


def test_an_imported_score_that_is_not_a_number_keeps_the_score() -> None:
    view, _ = history_of(imported(2, 5), imported(3, 6, changed=["lead_score"], lead_score="n/a"))
    assert view.lead_score == 80


# -- who said it, and when -----------------------------------------------------------------

KEY = {"name": "dewi", "role": "human", "key_id": "key-dewi", "on_behalf_of": None}


def key_of(row: StatusHistoryEntry) -> tuple[str | None, str | None, str | None]:
    return (row.principal, row.principal_role, row.key_id)


def test_every_status_row_names_the_key_that_said_it() -> None:
    sarah_key = {"name": "sarah-bot", "role": "sarah", "key_id": "key-sarah", "on_behalf_of": None}
    import_key = {"name": "importer", "role": "import", "key_id": "key-i", "on_behalf_of": None}
    _, history = history_of(
        imported(2, 1, principal=import_key),
        event(
            3,
            "SarahPhaseReported",
            2,
            chat_phase="listening",
            source="sarah",
            actor="sarah-bot",
            extracted_data={},
            principal=sarah_key,
        ),
        request(4, 3, status="contacted", source="human", actor="dewi", principal=KEY),
        release(5, 4, source="human", actor="dewi", principal=KEY),
        imported(6, 5, legacy_id="c2", legacy_status="mystery", principal=import_key),
    )
    assert [key_of(row) for row in history] == [
        ("importer", "import", "key-i"),
        ("sarah-bot", "sarah", "key-sarah"),
        ("dewi", "human", "key-dewi"),
        ("dewi", "human", "key-dewi"),
        ("importer", "import", "key-i"),
    ]


def test_an_older_sarah_report_arriving_later_does_not_overwrite_her_newer_data() -> None:
    def report(position: int, minutes: int, domisili: str) -> LedgerEvent:
        return event(
            position,
            "SarahPhaseReported",
            minutes,
            chat_phase="listening",
            source="sarah",
            actor="sarah-bot",
            extracted_data={"domisili": domisili},
        )

    view, _ = history_of(report(2, 10, "Bandung"), report(3, 5, "Jakarta"))
    assert view.domisili == "Bandung"
    view, _ = history_of(report(2, 5, "Jakarta"), report(3, 10, "Bandung"), report(4, 7, "Medan"))
    assert view.domisili == "Bandung"
