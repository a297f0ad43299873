"""Backups of a data directory: SQLite files copied live, PostgreSQL through pg_dump."""
