"""The `leadledger` command line invoked in-process, with its settings in `env`."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from api.cli.main import app as cli_app

Cli = Callable[..., str]


def cli_on(env: dict[str, str]) -> Cli:
    def invoke(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli_app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    return invoke
