"""What `leadledger config check` finds in a configuration: secrets missing or too short,
files others may read, LEADLEDGER_* variables that are no setting, and the settings shown
with every secret masked."""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from adapters.config.errors import ConfigError
from adapters.config.secret_rules import MIN_SECRET_LENGTH
from adapters.config.settings import Settings
from adapters.config.workspaces import Workspace, Workspaces
from adapters.eventstore.database_url import DatabaseURL

# The first run makes 43 to 64; the webhook secrets are refused at load below this.
MIN_SECRET_CHARS = MIN_SECRET_LENGTH
# LEADLEDGER_* variables read by something other than Settings.
OTHER_KNOWN_VARIABLES = frozenset({"LEADLEDGER_SIMULATE_API_KEY", "LEADLEDGER_TEST_PG"})
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Finding:
    problem: bool  # False: a warning, which does not fail the check
    text: str


def workspace_findings(workspaces: Workspaces, settings: Settings) -> list[Finding]:
    if not workspaces.by_name:
        return [Finding(True, "no workspace is configured: every request would be refused")]
    found = []
    for ws in workspaces.by_name.values():
        found += _one_workspace(ws)
    if settings.api_keys is not None:
        for item in settings.api_keys.get_secret_value().split(","):
            name, _, key = item.strip().partition("=")
            if len(key.strip()) < MIN_SECRET_CHARS:
                found.append(_too_short(f"LEADLEDGER_API_KEYS key of workspace {name.strip()}"))
    return found


def _one_workspace(ws: Workspace) -> list[Finding]:
    found = []
    if not ws.api_key_hashes:
        found.append(Finding(True, f"workspace {ws.name}: no API key, nobody can read it"))
    for digest in ws.api_key_hashes:
        if not _SHA256_HEX.match(digest):
            found.append(
                Finding(True, f"workspace {ws.name}: api_key_sha256 entry is not 64 hex digits")
            )
    if not ws.kapso_secrets and not ws.meta_app_secrets:
        found.append(
            Finding(True, f"workspace {ws.name}: no webhook secret, every webhook is refused")
        )
    if ws.meta_app_secrets and not ws.meta_verify_tokens:
        found.append(Finding(False, f"workspace {ws.name}: Meta app secret but no verify token"))
    named = [
        ("Kapso webhook secret", ws.kapso_secrets),
        ("Meta app secret", ws.meta_app_secrets),
        ("Meta verify token", ws.meta_verify_tokens),
    ]
    for label, values in named:
        found += [
            _too_short(f"workspace {ws.name}: a {label}")
            for value in values
            if len(value) < MIN_SECRET_CHARS
        ]
    return found


def _too_short(what: str) -> Finding:
    return Finding(True, f"{what} is shorter than {MIN_SECRET_CHARS} characters")


def file_mode_findings(settings: Settings) -> list[Finding]:
    """The config holds secrets and the lead keys file the keys that make erasure work: both
    are created 0600, and nobody else may read them."""
    found = []
    for path in (settings.config_file, _sqlite_keys_file(settings)):
        if path is None or not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            found.append(
                Finding(True, f"{path} is readable by others (mode {mode:04o}): chmod 600")
            )
    return found


def _sqlite_keys_file(settings: Settings) -> Path | None:
    try:
        url = DatabaseURL.parse(settings.database_url)
    except ConfigError:
        return None  # reported by the database check
    return url.path.with_suffix(".keys.db") if url.path is not None else None


def stray_variable_findings(environ: Mapping[str, str]) -> list[Finding]:
    """A mistyped name (LEADLEDGER_DATABSE_URL) is otherwise silently ignored."""
    known = {f"LEADLEDGER_{name.upper()}" for name in Settings.model_fields}
    return [
        Finding(True, f"{name} is not a leadledger setting (ignored; a typo?)")
        for name in sorted(environ)
        if name.startswith("LEADLEDGER_") and name not in known | OTHER_KNOWN_VARIABLES
    ]


def settings_lines(settings: Settings, workspaces: Workspaces) -> list[tuple[str, str]]:
    """What leadledger would run with; secrets appear only as counts."""
    lines = [
        ("data directory", str(settings.data_dir.resolve())),
        ("config file", str(settings.config_file.resolve())),
        ("ledger", mask_url(settings.database_url)),
        ("read models", mask_url(settings.views_database_url or "(derived from the ledger)")),
        ("policy", str(settings.policy_file or "(built in)")),
        ("default region", workspaces.default_region),
        ("follow in the server", str(settings.follow).lower()),
        ("max body bytes", str(settings.max_body_bytes)),
        ("ingest timeout", f"{settings.ingest_timeout:g} s"),
        ("log level", settings.log_level),
    ]
    for ws in workspaces.by_name.values():
        lines.append((f"workspace {ws.name}", _counts(ws)))
    return lines


def _counts(ws: Workspace) -> str:
    parts = [
        (len(ws.api_key_hashes), "API key"),
        (len(ws.kapso_secrets), "Kapso secret"),
        (len(ws.meta_app_secrets), "Meta app secret"),
        (len(ws.meta_verify_tokens), "Meta verify token"),
        (len(ws.phone_number_ids), "phone number id"),
    ]
    return ", ".join(f"{n} {label}{'' if n == 1 else 's'}" for n, label in parts)


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
