"""Crypto-shredding: a Mapper that seals a lead's personal fields with the lead's own key.

On the way in, the personal fields of each Lead event and Lead snapshot (domain/personal.py),
and of each unhandled delivery (under its own key), are encrypted together (AES-256-GCM, a
fresh nonce per event) and stored as one `_sealed` entry; the associated data binds the
ciphertext to the aggregate id, version, topic and field names, so it cannot be moved to
another event. On the way out they are decrypted with the aggregate's key, or, once the key
is destroyed, each comes back as None (the redaction value).

Unsealing happens before eventsourcing's upcasting loop, which is kept as is: upcasters see
plain values, as they were before sealing existed; events stored before it pass unchanged.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Hashable
from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    OperationalError,
    StoredEvent,
    Transcoder,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from adapters.eventstore.fast_json import FastEncoder
from adapters.eventstore.topics import LEAD_TOPIC, delivery_event_name, lead_event_name
from adapters.keys.key_store import KeyStore
from domain.personal import (
    personal_delivery_fields,
    personal_fields,
    personal_snapshot_fields,
    pseudonyms,
    redacted_event_fields,
    redacted_snapshot_fields,
)

SEALED = "_sealed"
NONCE_BYTES = 12


class SealingMapper(Mapper[UUID]):
    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        keys: KeyStore | None = None,
    ) -> None:
        super().__init__(transcoder, compressor, cipher)
        self.keys = keys or KeyStore()
        # Lead events only (adapters/eventstore/fast_json.py); snapshots hold UUIDs, so stay stdlib.
        self.fast = FastEncoder(transcoder) if isinstance(transcoder, JSONTranscoder) else None

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        cls = type(domain_event)
        topic = get_topic(cls)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        lead_event = lead_event_name(topic)
        encoder = self.fast if self.fast and lead_event else None
        self._seal(topic, lead_event, event_state, originator_id, originator_version, encoder)
        stored_state = (encoder or self.transcoder).encode(event_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        stored_state = stored_event.state
        try:
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            event_state: dict[str, Any] = self.transcoder.decode(stored_state)
            self._unseal(stored_event, event_state)
        except OperationalError:
            raise  # the key store is unreachable (or holds no usable master key): 503
        except Exception as e:
            msg = (
                f"Failed to deserialise state of stored event with "
                f"topic '{stored_event.topic}', "
                f"originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {e!r}"
            )
            raise MapperDeserialisationError(msg) from e
        id_convertor = find_id_convertor(cls, cast(Hashable, type(stored_event.originator_id)))
        event_state["originator_id"] = id_convertor(stored_event.originator_id)
        event_state["originator_version"] = stored_event.originator_version
        # eventsourcing's upcasting loop, unchanged: it runs on unsealed (plain) values.
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return cast(DomainEventProtocol[UUID], domain_event)

    # -- sealing -------------------------------------------------------------------------

    def _seal(
        self,
        topic: str,
        lead_event: str | None,
        state: dict[str, Any],
        lead_id: Any,
        version: int,
        encoder: FastEncoder | None = None,
    ) -> None:
        delivery_event = None if lead_event else delivery_event_name(topic)
        if lead_event:
            target, names = state, personal_fields(lead_event, state)
            redacted = redacted_event_fields
        elif _is_lead_snapshot(state):
            target = state["state"] = dict(state["state"])  # never touch the aggregate's
            names, redacted = personal_snapshot_fields(target), redacted_snapshot_fields
        elif delivery_event:  # its own key, by delivery id
            target, redacted = state, redacted_event_fields
            names = personal_delivery_fields(delivery_event, state)
        else:
            return
        values = {name: target.pop(name) for name in names}
        if all(value is None for value in values.values()):
            target.update(values)  # nothing personal to protect: no key needed
            return
        refs = pseudonyms(values)
        cipher = self.keys.cipher_for_sealing(lead_id)
        if cipher is None:  # erased: never re-encrypt under a new key, store redacted
            target.update(redacted(names), **refs)
            return
        nonce = os.urandom(NONCE_BYTES)
        plain = (encoder or self.transcoder).encode(values)
        box = cipher.encrypt(nonce, plain, _aad(lead_id, version, topic, names))
        target[SEALED] = {"fields": names, "box": base64.b64encode(nonce + box).decode()}
        if refs:
            target[SEALED]["refs"] = refs

    def _unseal(self, stored_event: StoredEvent, state: dict[str, Any]) -> None:
        target, redacted = state, redacted_event_fields
        if _is_lead_snapshot(state):
            target, redacted = state["state"], redacted_snapshot_fields
        sealed = target.pop(SEALED, None)
        if sealed is None:
            self._redact_plain_if_erased(stored_event, state)
            return
        names: list[str] = sealed["fields"]
        lead_id = stored_event.originator_id
        cipher = self.keys.cipher_for_reading(lead_id)
        if cipher is None:
            target.update(redacted(names), **sealed.get("refs", {}))  # shredded
            return
        raw = base64.b64decode(sealed["box"])
        aad = _aad(lead_id, stored_event.originator_version, stored_event.topic, names)
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except InvalidTag:
            raise ValueError("sealed fields fail authentication (moved or altered)") from None
        target.update(self.transcoder.decode(plain))

    def _redact_plain_if_erased(self, stored_event: StoredEvent, state: dict[str, Any]) -> None:
        """A plain lead event (stored before sealing existed) of an erased lead reads
        redacted too. Its bytes stay in the store: docs/erasure.md says what to do."""
        lead_event = lead_event_name(stored_event.topic)
        if lead_event:
            names = personal_fields(lead_event, state)
            target, redacted = state, redacted_event_fields
        elif _is_lead_snapshot(state):
            target, redacted = state["state"], redacted_snapshot_fields
            names = personal_snapshot_fields(target)
        else:
            return
        values = {name: target[name] for name in names}
        if all(v is None for v in values.values()):
            return  # nothing personal (the usual plain event): no key-store lookup
        if self.keys.is_erased(stored_event.originator_id):
            target.update(redacted(names), **pseudonyms(values))


def _is_lead_snapshot(state: dict[str, Any]) -> bool:
    return state.get("topic") == LEAD_TOPIC and isinstance(state.get("state"), dict)


def _aad(lead_id: Any, version: int, topic: str, names: list[str]) -> bytes:
    lead = lead_id if isinstance(lead_id, UUID) else UUID(str(lead_id))
    return f"{lead}\x1f{version}\x1f{topic}\x1f{','.join(names)}".encode()


__all__ = ["SEALED", "SealingMapper"]
