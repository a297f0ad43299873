"""Helpers for tests, one concept a module; `from tests.support import X` reaches them all."""

from adapters.webhooks.payloads import KAPSO_RECEIVED
from tests.support.kapso_deliveries import (
    KapsoDelivery,
    conversation_id_for,
    kapso_inbound,
    kapso_outbound,
    phone_spellings,
    record_kapso,
)
from tests.support.ledger_counts import FactKey, fact_counts, fact_key, ledger_count, ledger_size
from tests.support.samples import received_sample_headers, sample, sample_json
from tests.support.signed import kapso_headers, meta_headers, post_kapso, post_meta
from tests.support.workspaces import (
    API_KEY,
    AUTH,
    KAPSO_SECRET,
    META_SECRET,
    META_VERIFY_TOKEN,
    OTHER_API_KEY,
    OTHER_AUTH,
    OTHER_KAPSO_SECRET,
    OTHER_META_SECRET,
    OTHER_PHONE_NUMBER_ID,
    OTHER_WORKSPACE,
    PHONE_NUMBER_ID,
    WORKSPACE,
    workspaces_toml,
)

__all__ = [
    "API_KEY",
    "AUTH",
    "KAPSO_RECEIVED",
    "KAPSO_SECRET",
    "META_SECRET",
    "META_VERIFY_TOKEN",
    "OTHER_API_KEY",
    "OTHER_AUTH",
    "OTHER_KAPSO_SECRET",
    "OTHER_META_SECRET",
    "OTHER_PHONE_NUMBER_ID",
    "OTHER_WORKSPACE",
    "PHONE_NUMBER_ID",
    "WORKSPACE",
    "FactKey",
    "KapsoDelivery",
    "conversation_id_for",
    "fact_counts",
    "fact_key",
    "kapso_headers",
    "kapso_inbound",
    "kapso_outbound",
    "ledger_count",
    "ledger_size",
    "meta_headers",
    "phone_spellings",
    "post_kapso",
    "post_meta",
    "received_sample_headers",
    "record_kapso",
    "sample",
    "sample_json",
    "workspaces_toml",
]
