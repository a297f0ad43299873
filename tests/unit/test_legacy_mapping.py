"""ContactImported records what the legacy file said; the reducer maps it with the policy's
legacy status table, and old (v1) rows keep the mapping they were imported with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.lead_events import ContactImported
from domain.policy import DEFAULT_POLICY, load_policy
from domain.reducer import LedgerEvent, replay

LEAD = UUID("00000000-0000-4000-8000-000000000009")
AT = datetime(2024, 1, 31, 7, 33, 20, tzinfo=UTC)
SAID = {"source": "import", "actor": "import", "received_at": AT, "occurred_at": AT}
ROW = {
    "legacy_id": "c1",
    "convex_id": "c1",
    "supabase_id": None,
    "changed": ["name", "status", "lead_score", "metadata"],
    "name": "Budi",
    "lead_score": 80,
    "metadata": None,
    "legacy_created_at": None,
    "legacy_updated_at": AT,
    "idempotency_key": None,
}
HOT_TO_CONTACTED = '[legacy_status]\nhot = { status = "contacted", temperature = "warm" }\n'


def v1_state(status: str, temperature: str | None, reason: str) -> dict[str, Any]:
    """A v1 row as stored: lower-cased legacy value plus the mapping the import applied."""
    state = {**ROW, **SAID, "legacy_status": "hot", "status": status}
    state |= {"temperature": temperature, "reason": reason}
    ContactImported.upcast_v1_v2(state)
    return state


def v2_state(legacy_status: str) -> dict[str, Any]:
    return {**ROW, **SAID, "legacy_status": legacy_status, "mapped_at_import": None}


def imported(state: dict[str, Any], policy_text: str = "") -> tuple[Any, list[Any]]:
    registered = LedgerEvent(LEAD, 1, 1, "Registered", AT, {"workspace": "acme", "phone": "+62"})
    event = LedgerEvent(LEAD, 2, 2, "ContactImported", AT, state)
    policy = load_policy(policy_text) if policy_text else DEFAULT_POLICY
    view, history, _notes, _messages = replay([registered, event], policy)
    return view, history


def test_an_old_row_loads_to_the_view_it_always_gave() -> None:
    reason = "imported: legacy lead_status 'hot' → qualified (temperature hot)"
    view, history = imported(v1_state("qualified", "hot", reason))
    assert (view.lead_status, view.lead_temperature, view.name) == ("qualified", "hot", "Budi")
    assert [(h.to_status, h.reason, h.outcome) for h in history] == [
        ("qualified", reason, "applied")
    ]


def test_an_old_row_keeps_the_mapping_it_was_imported_with_whatever_the_table_says() -> None:
    reason = "imported: legacy lead_status 'hot' → converted"
    view, history = imported(v1_state("converted", None, reason), HOT_TO_CONTACTED)
    assert (view.lead_status, view.lead_temperature) == ("converted", None)
    assert history[0].reason == reason


def test_a_new_row_is_mapped_on_read_so_a_table_change_is_a_rebuild() -> None:
    view, history = imported(v2_state(" Hot "))
    assert (view.lead_status, view.lead_temperature) == ("qualified", "hot")
    assert history[0].reason == "imported: legacy lead_status 'hot' → qualified (temperature hot)"
    view, history = imported(v2_state(" Hot "), HOT_TO_CONTACTED)
    assert (view.lead_status, view.lead_temperature) == ("contacted", "warm")
    assert history[0].reason == "imported: legacy lead_status 'hot' → contacted (temperature warm)"


def test_a_value_missing_from_the_table_is_suppressed_as_unknown() -> None:
    view, history = imported(v2_state("hot"), '[legacy_status]\nclient = { status = "converted" }')
    assert (view.lead_status, view.lead_temperature) == ("new", None)
    assert [(h.to_status, h.outcome, h.outcome_reason) for h in history] == [
        ("hot", "suppressed", "unknown_status")
    ]


def test_the_table_is_part_of_the_policy() -> None:
    custom = load_policy(HOT_TO_CONTACTED)
    assert custom.legacy_status.map("HOT") is not None
    assert custom != DEFAULT_POLICY
    assert load_policy("") == DEFAULT_POLICY
