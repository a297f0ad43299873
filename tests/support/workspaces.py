"""The test settings' two workspaces: keys, webhook secrets, WhatsApp numbers."""

from __future__ import annotations

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


def workspaces_toml() -> str:
    """The workspaces file of the test settings (docs/configuration.md's format)."""
    return "".join(
        f"[workspaces.{name}]\n"
        f'api_keys = ["{key}"]\n'
        f'kapso_webhook_secrets = ["{kapso}"]\n'
        f'meta_app_secrets = ["{meta}"]\n'
        f'meta_verify_tokens = ["{token}"]\n'
        f'phone_number_ids = ["{number}"]\n'
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
