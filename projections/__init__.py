"""Read models: SQL tables built from the ledger (catch-up, follower, rebuild, verify, queries)."""
