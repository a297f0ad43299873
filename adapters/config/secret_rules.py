"""The rule every webhook secret and verify token must meet before the server starts.

A blank secret is a door: an HMAC keyed with "" is computable by anyone, and a blank verify
token matches a blank `hub.verify_token`. A short one is guessable. So either is refused
at start-up, naming where it was written, never quietly dropped or used.
"""

from __future__ import annotations

from collections.abc import Iterable

from adapters.config.errors import ConfigError

# 16 characters: far beyond guessing over HTTP, and met by every secret the senders issue
# (Meta's app secrets are 32 hex digits) and by the ones `leadledger serve` creates.
MIN_SECRET_LENGTH = 16


class WeakSecretError(ConfigError):
    """A configured secret is blank or shorter than MIN_SECRET_LENGTH."""


def checked_secrets(values: Iterable[str], where: str) -> list[str]:
    """`values` unchanged when each meets the rule; otherwise WeakSecretError naming
    `where` (e.g. "workspaces.acme.kapso_webhook_secrets[1]") — never the secret itself."""
    secrets = list(values)
    for index, secret in enumerate(secrets):
        place = f"{where}[{index}]" if len(secrets) > 1 else where
        if not secret.strip():
            raise WeakSecretError(
                f"{place} is blank; a secret must be at least {MIN_SECRET_LENGTH} characters"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise WeakSecretError(
                f"{place} is {len(secret)} characters; a secret must be at least "
                f"{MIN_SECRET_LENGTH} characters"
            )
    return secrets
