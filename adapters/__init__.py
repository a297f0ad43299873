"""The outside world: webhook payloads, the event store, key storage, config, import files."""
