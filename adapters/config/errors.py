"""Mistakes in how leadledger is set up or called: the CLI shows them as one line (exit
code below), never as a traceback (`leadledger --debug` shows it)."""

from __future__ import annotations


class OperatorError(Exception):
    """Something the operator must fix; the message says what and where."""

    exit_code = 2


class ConfigError(OperatorError, ValueError):
    """The configuration cannot be used as written (file, environment, database)."""


class ServerAlreadyRunningError(OperatorError):
    """Another server process holds this SQLite data directory."""

    exit_code = 1
