"""Status proposals and the policy: every status a source asks for, or a fact implies, is
decided by `domain.policy.decide` and recorded in the history with its outcome."""

from __future__ import annotations

from typing import Any

from domain.lead_events import ContactImported, StatusHoldReleased, StatusRequested
from domain.legacy import Mapped, normalised
from domain.policy import Policy, StatusProposal, StatusState, decide, release
from domain.reducer.contact_view import (
    ContactView,
    Effects,
    StatusHistoryEntry,
    latest,
    principal_columns,
    replace,
)
from domain.reducer.ledger_event import LedgerEvent, as_time
from domain.reducer.source_times import newer_values
from domain.reducer.values import number, text
from domain.values import Source


def propose(
    view: ContactView,
    event: LedgerEvent,
    policy: Policy,
    target: str,
    source: str,
    actor: str | None,
    reason: str | None,
    origin: str,
    principal: Any = None,
) -> Effects:
    actor = actor or source
    proposal = StatusProposal(target, source, actor, reason, event.at, event.position)
    decision = decide(view.status_state(), proposal, policy)
    entry = StatusHistoryEntry(
        view.lead_id,
        event.position,
        event.at,
        source,
        actor,
        view.lead_status,
        target,
        reason,
        decision.outcome,
        decision.reason,
        origin,
        **principal_columns(principal),
    )
    return Effects(with_state(view, decision.state), history=[entry])


def with_state(view: ContactView, state: StatusState) -> ContactView:
    return replace(
        view,
        lead_status=state.status,
        status_source=state.source,
        status_held=state.held,
        status_updated_at=state.updated_at,
        status_updated_by=state.updated_by,
    )


def status_requested(
    view: ContactView, event: LedgerEvent, fact: StatusRequested, policy: Policy
) -> Effects:
    target = (text(fact.status) or "").strip().lower()
    source = text(fact.source) or ""
    if source == Source.HUMAN:
        view = replace(view, last_contact_at=latest(view.last_contact_at, event.at))
    actor = text(fact.actor)
    reason = text(fact.reason)
    return propose(view, event, policy, target, source, actor, reason, "request", fact.principal)


def hold_released(view: ContactView, event: LedgerEvent, fact: StatusHoldReleased) -> Effects:
    # Recorded in the history too: a release is a change an audit must show.
    state = view.status_state()
    entry = StatusHistoryEntry(
        view.lead_id,
        event.position,
        event.at,
        text(fact.source) or Source.HUMAN.value,
        text(fact.actor) or Source.HUMAN.value,
        view.lead_status,
        view.lead_status or "",
        None,
        "applied" if state.held else "no_change",
        "hold_released" if state.held else "not_held",
        "release",
        **principal_columns(fact.principal),
    )
    return Effects(with_state(view, release(state)), history=[entry])


def contact_imported(
    view: ContactView, event: LedgerEvent, fact: ContactImported, policy: Policy
) -> Effects:
    """A row of the previous system (`leadledger import`): only the field groups that
    changed since this legacy id's last import speak, and only over values said earlier
    (by the row's time: its updated_at, else created_at); its legacy status, mapped by the
    policy's table, is a request like any other (source `import`), its reason shows the
    mapping. The legacy `created_at` moves the view's `created_at` back, never forward."""
    changed = set(fact.changed or ())
    created = as_time(fact.legacy_created_at)
    legacy = text(fact.legacy_status)
    mapped = _mapped(fact, policy, legacy)
    said: dict[str, Any] = {}
    if "name" in changed:
        said["name"] = text(fact.name)
    if "lead_score" in changed:
        said["lead_score"] = number(fact.lead_score, None)
    if "status" in changed and mapped is not None:
        said["lead_temperature"] = text(mapped.temperature)
    if created is not None and created < view.created_at:
        view = replace(view, created_at=created)
    view = newer_values(view, said, event)
    if "status" not in changed or legacy is None:
        return Effects(view)
    source, actor = text(fact.source) or Source.IMPORT.value, text(fact.actor)
    if mapped is None:  # not in today's table: `decide` suppresses it as unknown_status
        reason = f"imported: legacy lead_status {normalised(legacy)!r} is not in the table"
        target = normalised(legacy)
        return propose(view, event, policy, target, source, actor, reason, "import", fact.principal)
    reason = mapped.reason(normalised(legacy))
    return propose(
        view, event, policy, mapped.status, source, actor, reason, "import", fact.principal
    )


def _mapped(fact: ContactImported, policy: Policy, legacy: str | None) -> Mapped | None:
    """The mapping an old (v1) row was imported with, else today's table's."""
    if fact.mapped_at_import:
        recorded = fact.mapped_at_import
        return Mapped(str(recorded.get("status")), recorded.get("temperature"))
    return None if legacy is None else policy.legacy_status.map(legacy)
