"""What the application service refuses, as exceptions; each entrypoint maps them once."""

from __future__ import annotations

from domain.idempotency import IdempotencyKeyReusedError

__all__ = [
    "ErasureTargetNotFoundError",
    "IdempotencyKeyReusedError",
    "IngestTimeoutError",
    "LeadNotFoundError",
    "LedgerBusyError",
    "SignatureWorkspaceMismatchError",
    "UnknownPhoneNumberIdError",
    "ViewLaggingError",
]


class LeadNotFoundError(LookupError):
    """No lead with this id in this workspace (another workspace's lead is 'not found' too)."""


class ErasureTargetNotFoundError(LeadNotFoundError):
    """No lead with this id in this workspace to erase."""


class LedgerBusyError(RuntimeError):
    """Conflicts persisted past every retry (pathological contention)."""


class UnknownPhoneNumberIdError(LookupError):
    """A delivery names a phone_number_id no workspace owns (and no single signer decides)."""

    def __init__(self, phone_number_id: str | None) -> None:
        super().__init__(f"phone_number_id {phone_number_id!r} belongs to no workspace")
        self.phone_number_id = phone_number_id


class SignatureWorkspaceMismatchError(PermissionError):
    """The delivery is signed, but not with the secret of its number's workspace."""

    def __init__(self) -> None:
        super().__init__("signature does not match this number's workspace")


class IngestTimeoutError(TimeoutError):
    """The ledger did not commit within the ingest deadline; the write may still land
    (the sender's retry is deduplicated)."""


class ViewLaggingError(RuntimeError):
    """The ledger has the lead but the views could not show it in time (or its events
    failed to apply): ask again shortly."""
