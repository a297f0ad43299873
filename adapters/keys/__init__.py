"""Per-lead data keys, kept outside the event store (crypto-shredding)."""
