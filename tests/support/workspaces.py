"""The test settings' two workspaces: keys, webhook secrets, WhatsApp numbers.

Each workspace has an admin key (`api_keys`, as before principals) and one key per role,
declared in the file (`[[workspaces.W.keys]]`, docs/security.md): `auth("human")` is the
Authorization header of acme's human "ana", `auth("brain", OTHER_WORKSPACE)` another's.
"""

from __future__ import annotations

from pathlib import Path

# Two workspaces, each with its own key, secrets and WhatsApp number: a check that a
# delivery's signature belongs to its number's workspace can only pass when it holds.
WORKSPACE = "acme"
API_KEY = "test-key-acme"
KAPSO_SECRET = "kapso-test-secret"
META_SECRET = "meta-test-secret"
META_VERIFY_TOKEN = "verify-token-of-acme"
PHONE_NUMBER_ID = "109876543210987"  # the WhatsApp number of every shared sample
OTHER_WORKSPACE = "other"
OTHER_API_KEY = "k-other"
OTHER_KAPSO_SECRET = "kapso-test-secret-of-other"
OTHER_META_SECRET = "meta-test-secret-of-other"
OTHER_META_VERIFY_TOKEN = "verify-token-of-other"
OTHER_PHONE_NUMBER_ID = "209876543210999"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_API_KEY}"}

# The name (the actor recorded) of each role's key; admin keys are named "admin".
ROLE_NAMES = {
    "admin": "admin",
    "human": "ana",
    "console": "crm-console",
    "brain": "brain-1",
    "sarah": "sarah-bot",
    "import": "importer",
    "reader": "dashboard",
}
HUMAN = ROLE_NAMES["human"]
BRAIN = ROLE_NAMES["brain"]


def role_key(role: str, workspace: str = WORKSPACE) -> str:
    """The test key of this role in this workspace."""
    if role == "admin":
        return API_KEY if workspace == WORKSPACE else OTHER_API_KEY
    return f"test-{role}-{workspace}"


def auth(role: str, workspace: str = WORKSPACE) -> dict[str, str]:
    return {"Authorization": f"Bearer {role_key(role, workspace)}"}


HUMAN_AUTH = auth("human")
BRAIN_AUTH = auth("brain")
SARAH_AUTH = auth("sarah")
CONSOLE_AUTH = auth("console")
READER_AUTH = auth("reader")
OTHER_HUMAN_AUTH = auth("human", OTHER_WORKSPACE)
OTHER_SARAH_AUTH = auth("sarah", OTHER_WORKSPACE)


def _role_keys(workspace: str) -> str:
    return "".join(
        f'[[workspaces.{workspace}.keys]]\nrole = "{role}"\nname = "{name}"\n'
        f'key = "{role_key(role, workspace)}"\n'
        for role, name in ROLE_NAMES.items()
        if role != "admin"
    )


def workspaces_toml() -> str:
    """The workspaces file of the test settings (docs/configuration.md's format)."""
    return "".join(
        f"[workspaces.{name}]\n"
        f'api_keys = ["{key}"]\n'
        f'kapso_webhook_secrets = ["{kapso}"]\n'
        f'meta_app_secrets = ["{meta}"]\n'
        f'meta_verify_tokens = ["{token}"]\n'
        f'phone_number_ids = ["{number}"]\n' + _role_keys(name)
        for name, key, kapso, meta, token, number in (
            (WORKSPACE, API_KEY, KAPSO_SECRET, META_SECRET, META_VERIFY_TOKEN, PHONE_NUMBER_ID),
            (
                OTHER_WORKSPACE,
                OTHER_API_KEY,
                OTHER_KAPSO_SECRET,
                OTHER_META_SECRET,
                OTHER_META_VERIFY_TOKEN,
                OTHER_PHONE_NUMBER_ID,
            ),
        )
    )


def auth_for(path: str, workspace: str = WORKSPACE) -> dict[str, str]:
    """A key whose role may call this path (any method): Sarah's for her reports, the
    human's for status, release and notes, the admin's for the rest."""
    if path.rstrip("/").endswith("/sarah/state"):
        return auth("sarah", workspace)
    if path.rstrip("/").endswith(("/status", "/status/release", "/notes")):
        return auth("human", workspace)
    return auth("admin", workspace)


def sarah_key_file(path: Path) -> Path:
    """A workspaces file declaring only acme's sarah key (servers configured by the env:
    their env key is an admin key, which may not report for Sarah)."""
    path.write_text(
        f'[[workspaces.{WORKSPACE}.keys]]\nrole = "sarah"\nname = "sarah-bot"\n'
        f'key = "{role_key("sarah")}"\n',
        encoding="utf-8",
    )
    return path
