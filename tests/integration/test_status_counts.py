"""The dashboard's counts by status (projections/status_counts.py, two index reads) are the
counts of `queries.stats` (a pass over every row), held leads left out; and the cached
counts (api/http/dashboard/counts.py) follow the views."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.dashboard.counts import counts_by_status
from domain.whatsapp_identity import sender_identities
from projections import queries
from projections.status_counts import status_counts
from service_layer.bootstrap import Services
from tests.conftest import examples
from tests.integration.test_identity_linking import deliver
from tests.support import OTHER_WORKSPACE, WORKSPACE

# A delivery: (workspace, sender number index, with its BSUID?, BSUID only?)
DELIVERY = st.tuples(
    st.sampled_from([WORKSPACE, OTHER_WORKSPACE]), st.integers(0, 4), st.booleans(), st.booleans()
)


def both(services: Services, workspace: str) -> tuple[object, object]:
    service = services.service
    service.catch_up_views()
    fast = service.read_views(lambda c, t: status_counts(c, t, workspace))
    total, by_status, _ = service.read_views(lambda c, t: queries.stats(c, t, workspace))
    return fast, (total, by_status)


@settings(
    max_examples=examples(0.5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(deliveries=st.lists(DELIVERY, max_size=8))
def test_the_counts_are_those_of_stats_held_leads_left_out(
    services: Services, deliveries: list[tuple[str, int, bool, bool]]
) -> None:
    for n, (workspace, who, with_bsuid, bsuid_only) in enumerate(deliveries):
        wa_id = f"62812345000{who}"
        bsuid = f"ID.{who}0000000000" if with_bsuid or bsuid_only else None
        identities = sender_identities(None if bsuid_only else wa_id, bsuid)
        deliver(services, list(identities), f"wamid.c{n}.{len(deliveries)}", n, workspace)
    for workspace in (WORKSPACE, OTHER_WORKSPACE):
        fast, slow = both(services, workspace)
        assert fast == slow


def test_the_cached_counts_follow_the_views(services: Services) -> None:
    service = services.service
    assert counts_by_status(service, WORKSPACE)["total"] == 0
    deliver(services, list(sender_identities("6281234500091")), "wamid.k1", 0)
    service.catch_up_views()
    assert counts_by_status(service, WORKSPACE) == {"total": 1, "by_status": {"new": 1}}
    deliver(services, list(sender_identities("6281234500092")), "wamid.k2", 1)
    service.catch_up_views()
    assert counts_by_status(service, WORKSPACE)["total"] == 2
