"""API keys and their principals, kept in the database (docs/security.md)."""
