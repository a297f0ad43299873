"""How CLI commands reach the ledger: settings from the environment (and `--config`),
checked; an existing ledger only, unless the command may start one."""

from __future__ import annotations

from adapters.config.loading import load_settings
from service_layer.bootstrap import bootstrap
from service_layer.service import LeadLedgerService


def open_service(create_ledger: bool = False) -> LeadLedgerService:
    return bootstrap(load_settings(), create_ledger=create_ledger).service
