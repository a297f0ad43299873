"""Entrypoints: the HTTP API (http/), the command line (cli/) and what both share (logging)."""
