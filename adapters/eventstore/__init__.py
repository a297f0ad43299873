"""The event store: eventsourcing wiring, sealing mapper, transcoding, bulk lead loading."""
