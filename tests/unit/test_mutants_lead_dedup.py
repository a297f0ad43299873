"""A Sarah report is recorded as she said it: score, temperature and outcome included."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.envelope import Said
from domain.lead import Lead
from domain.values import Source

AT = datetime(2025, 11, 24, 16, tzinfo=UTC)


def test_a_sarah_report_keeps_its_score_temperature_outcome_and_data() -> None:
    lead = Lead(workspace="acme", phone="+6281234567890", source="kapso", actor="k", received_at=AT)
    lead.collect_events()
    said = Said(Source.SARAH, "sarah", AT, None, None)
    assert lead.report_sarah_phase(said, "closing", {"name": "Budi"}, "80", "HOT", "won")
    (report,) = lead.collect_events()
    recorded = vars(report)
    assert (recorded["lead_score"], recorded["outcome"]) == (80, "won")
    assert recorded["lead_temperature"] is not None
    assert "Budi" in repr(recorded["extracted_data"])
    # The same report with another outcome is a new fact, not a network retry.
    assert lead.report_sarah_phase(said, "closing", {"name": "Budi"}, "80", "HOT", "lost")
    # ...and that report said again, word for word and without a key, is Sarah retrying.
    assert not lead.report_sarah_phase(said, "closing", {"name": "Budi"}, "80", "HOT", "lost")
