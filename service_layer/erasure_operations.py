"""The application service's erasure methods (service_layer/erasure.py does the work):
erase a person and wait for the views, re-apply erasures after a restore, and re-wrap the
lead keys under a new master key (service_layer/key_rotation.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import LedgerStore
from domain.principal import Principal
from projections.catchup import LiveViews
from projections.database import Engines, checkpoint_wal
from projections.source import head
from service_layer.erasure import Erasure, erase_lead, reapply_erasures
from service_layer.key_rotation import Rotation, rotate
from service_layer.ledger import Ledger

ERASURE_SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class SettledErasure:
    erasure: Erasure
    views_settled: bool  # False: the views may still show the erased values (retry to see)


class ErasureOperations:
    settings: Settings
    erasure_settle_seconds: float
    _ledger: Ledger
    _store: LedgerStore
    _views: LiveViews
    _engines: Engines

    def erase_personal_data(
        self,
        workspace: str,
        lead_id: UUID,
        actor: str,
        reason: str,
        phone_e164: str | None = None,
        principal: Principal | None = None,
    ) -> SettledErasure:
        """Erase, then wait until the views are blanked too and flush the views' WAL, so
        the erased values are gone from the database files when the caller is answered;
        `views_settled` says whether that wait succeeded."""
        erasure = erase_lead(self._ledger, workspace, lead_id, actor, reason, phone_e164, principal)
        nid = erasure.notification_id
        settled = self._views.wait_for(
            nid if nid is not None else head(self._store), self.erasure_settle_seconds
        )
        checkpoint_wal(self._engines)
        return SettledErasure(erasure, settled)

    def reapply_erasures(self) -> int:
        return reapply_erasures(self._store)

    def rotate_master_key(self) -> Rotation:
        """Re-wrap every lead key under a new master key (service_layer/key_rotation.py)."""
        return rotate(self.settings, DatabaseURL.parse(self.settings.database_url), self._store)
