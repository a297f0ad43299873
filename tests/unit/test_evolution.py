"""Event versions and upcasters: every event class declares its version, and a v1 Sarah
report upcast to v2 is the same fact, in the same views, as the report recorded today."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import resolve_topic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.delivery import UnhandledDelivery
from domain.envelope import Said
from domain.extracted import SARAH_KEYS, ExtractedData, score, temperature
from domain.lead import Lead
from domain.merge import is_blank
from domain.policy import DEFAULT_POLICY
from domain.reducer import ContactView, LedgerEvent, replay
from domain.values import Temperature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events_v1"
AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
# eventsourcing's own bases: never stored (the "created" events are Registered and Kept).
FRAMEWORK_BASES = {"Event", "Created"}


def event_classes(aggregate: type[Aggregate]) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, aggregate.Event)
        and name not in FRAMEWORK_BASES
    }


def declared_version(cls: type) -> tuple[str, int]:
    """The name of the class that declares `class_version`, and the version."""
    declaring = next(c for c in cls.__mro__ if "class_version" in vars(c))
    return declaring.__name__, int(vars(declaring)["class_version"])


def declared_attribute(cls: type, name: str) -> object:
    """The attribute as the class body declared it (a staticmethod stays one)."""
    return next(vars(c)[name] for c in cls.__mro__ if name in vars(c))


@pytest.mark.parametrize("aggregate", [Lead, UnhandledDelivery])
def test_every_event_class_declares_its_version_and_upcasters(aggregate: type[Aggregate]) -> None:
    classes = event_classes(aggregate)
    assert len(classes) >= 2
    for name, cls in classes.items():
        declared_by, version = declared_version(cls)
        assert declared_by == name, f"{name} inherits class_version from {declared_by}"
        assert version >= 1
        for n in range(1, version):
            upcast = getattr(cls, f"upcast_v{n}_v{n + 1}", None)
            assert callable(upcast), f"{name} v{version} lacks upcast_v{n}_v{n + 1}"
            assert isinstance(declared_attribute(cls, f"upcast_v{n}_v{n + 1}"), staticmethod)
        assert not hasattr(cls, f"upcast_v{version}_v{version + 1}"), f"{name}: dangling"


def test_every_stored_v1_topic_resolves_to_a_versioned_class() -> None:
    rows = json.loads((FIXTURES / "events.json").read_text(encoding="utf-8"))
    for topic in {r["topic"] for r in rows}:
        cls = resolve_topic(topic)
        assert declared_version(cls)[0] == cls.__name__


# -- SarahPhaseReported v1 -> v2 -----------------------------------------------------------

texts = st.none() | st.text(max_size=8) | st.sampled_from(["", "  ", " Budi ", "hot", "75"])
scalars = texts | st.integers(-5, 200) | st.booleans() | st.floats(allow_nan=False, width=32)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=6,
)
v1_extracted = st.dictionaries(
    st.sampled_from([*SARAH_KEYS, "pain_points", "lead_score", "other", "sarah_name", "x"]),
    values,
    max_size=6,
)
v1_scores = (
    st.none() | st.integers(0, 100) | st.sampled_from(["75", " 40 ", "high", "", 12.0, True])
)
v1_temperatures = st.none() | st.sampled_from([*Temperature, "HOT ", "tepid", ""])
phases = st.sampled_from(["greeting", "listening", "handoff", "close_attempt", "completed"])


def v1_state(phase: str, extracted: Any, lead_score: Any, temp: Any) -> dict[str, Any]:
    """A SarahPhaseReported as the v1 code stored it (decoded)."""
    return {
        "chat_phase": phase,
        "extracted_data": extracted,
        "lead_score": lead_score,
        "lead_temperature": temp,
        "outcome": "won" if phase == "completed" else None,
        "source": "sarah",
        "actor": "sarah-bot",
        "received_at": AT,
        "occurred_at": None,
        "idempotency_key": None,
    }


def upcast(state: dict[str, Any]) -> dict[str, Any]:
    """v1 to today's version, as reading a stored v1 report does (v3 adds `principal`)."""
    upcast_state = copy.deepcopy(state)
    Lead.SarahPhaseReported.upcast_v1_v2(upcast_state)
    Lead.SarahPhaseReported.upcast_v2_v3(upcast_state)
    return upcast_state


def recorded_today(state: dict[str, Any]) -> dict[str, Any]:
    """The same report through today's command: the v2 event's attributes."""
    lead = Lead("acme", "+6281234567890", "kapso", "kapso", AT)
    said = Said("sarah", "sarah-bot", AT)
    assert lead.report_sarah_phase(
        said,
        state["chat_phase"],
        state["extracted_data"],
        state["lead_score"],
        state["lead_temperature"],
        state["outcome"],
    )
    event = lead.collect_events()[-1]
    envelope = {"originator_id", "originator_version", "timestamp"}
    return {k: v for k, v in vars(event).items() if k not in envelope}


def view_after(*reports: dict[str, Any]) -> ContactView:
    lead_id = UUID(int=1)
    registered = LedgerEvent(
        lead_id, 1, 1, "Registered", AT, {"workspace": "acme", "phone": "+6281234567890"}
    )
    events = [
        LedgerEvent(lead_id, i, i, "SarahPhaseReported", AT, data)
        for i, data in enumerate(reports, start=2)
    ]
    view = replay([registered, *events], DEFAULT_POLICY)[0]
    assert view is not None
    return view


# Generation is slow on a busy machine (nested values); the checks themselves are fast.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(phases, v1_extracted, v1_scores, v1_temperatures, phases, v1_extracted)
def test_an_upcast_v1_report_is_the_report_recorded_today(
    phase: str,
    extracted: dict[str, Any],
    lead_score: Any,
    temp: Any,
    phase2: str,
    extracted2: dict[str, Any],
) -> None:
    first, second = (
        v1_state(phase, extracted, lead_score, temp),
        v1_state(phase2, extracted2, None, None),
    )
    assert upcast(first) == recorded_today(first)
    assert view_after(upcast(first), upcast(second)) == view_after(
        recorded_today(first), recorded_today(second)
    )


@given(v1_extracted)
def test_v2_extracted_data_is_typed_and_keeps_every_unknown_key(raw: dict[str, Any]) -> None:
    data = ExtractedData.from_sarah(raw)
    stored = data.to_event()
    assert set(stored) == {*SARAH_KEYS.values(), "pain_points", "other"}
    for key in SARAH_KEYS.values():
        assert stored[key] is None or (
            isinstance(stored[key], str) and stored[key] == stored[key].strip() != ""
        )
    assert all(isinstance(p, str) and p.strip() for p in stored["pain_points"])
    unknown = {
        k
        for k, v in raw.items()
        if not is_blank(v) and ((k not in SARAH_KEYS and k != "pain_points") or isinstance(v, dict))
    }
    assert stored["other"] == {k: raw[k] for k in unknown}  # nothing Sarah said is lost
    assert ExtractedData.from_event(stored) == data  # what is stored reads back the same
    assert ExtractedData.from_sarah(data.said()) == data  # the view's form says the same


@pytest.mark.parametrize("erased", ["extracted_data", "lead_score", "lead_temperature", "outcome"])
def test_the_upcaster_accepts_none_where_a_value_was_erased(erased: str) -> None:
    sample = {"name": "Budi", "pain_points": ["a"], "urgency_level": "high"}
    state = v1_state("listening", sample, 35, "warm") | {erased: None}
    stored = upcast(state)
    assert stored[erased] is None or stored[erased] == ExtractedData().to_event()
    assert view_after(stored).lead_status == "qualified"  # the phase still counts


def test_v1_values_are_coerced_to_their_types() -> None:
    raw = {
        "name": "  Siti ",
        "domisili": "",
        "pain_points": "stok habis",
        "business_duration": 2,
        "priority": {"a": 1},
        "fav": "hijau",
        "x": None,
    }
    stored = upcast(v1_state("listening", raw, "75", " Hot "))
    assert (
        stored["extracted_data"]
        == ExtractedData(
            sarah_name="Siti",
            business_duration="2",
            pain_points=["stok habis"],
            other={"priority": {"a": 1}, "fav": "hijau"},
        ).to_event()
    )
    assert (stored["lead_score"], stored["lead_temperature"]) == (75, "hot")
    assert (score("high"), score(True), score(" -3 "), temperature("tepid")) == (
        None,
        None,
        -3,
        None,
    )
