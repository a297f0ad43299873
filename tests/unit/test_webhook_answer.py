"""The webhook's answer, built as plain JSON values on the hot path, is exactly what the
documented AcceptedOut schema gives for the same outcome."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from api.http.handlers.webhooks import accepted_body
from api.http.schemas import AcceptedOut, FactOut, PartOut
from service_layer.ingest import Ingested, PartOutcome
from service_layer.ledger import RecordedFact

facts = st.lists(
    st.builds(RecordedFact, st.uuids(), st.text(max_size=20), st.booleans()), max_size=3
)
parts = st.lists(
    st.builds(
        PartOutcome,
        st.text(max_size=30),
        st.none() | st.text(max_size=15),
        st.sampled_from(["recorded", "kept_unhandled", "empty"]),
        facts,
        st.none() | st.text(max_size=30),
    ),
    max_size=4,
)


def through_the_schema(ingested: Ingested) -> dict[str, Any]:
    def out(found: list[RecordedFact]) -> list[FactOut]:
        return [FactOut(lead_id=f.lead_id, fact=f.fact) for f in found]

    answer = AcceptedOut(
        facts=out(ingested.facts),
        kept_unhandled=ingested.kept_unhandled,
        parts=[
            PartOut(
                part=p.part, kind=p.kind, outcome=p.outcome, facts=out(p.facts), reason=p.reason
            )
            for p in ingested.parts
        ],
    )
    return answer.model_dump(mode="json")


@given(st.builds(Ingested, facts, st.integers(0, 5), parts))
def test_the_answer_is_the_schemas_own(ingested: Ingested) -> None:
    body = accepted_body(ingested)
    assert body == through_the_schema(ingested)
    assert list(body) == list(through_the_schema(ingested))  # same key order on the wire
    AcceptedOut.model_validate(body)
