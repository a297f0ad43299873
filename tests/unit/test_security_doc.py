"""docs/security.md's permission table says what the route declarations say."""

from __future__ import annotations

import re
from pathlib import Path

from api.http.routes import ENDPOINTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROW = re.compile(r"^\| `(GET|POST|DELETE) (\S+)` \| (.+?) \| (.+?) \|$")


def documented() -> dict[tuple[str, str], tuple[str, str]]:
    section = DOC.read_text(encoding="utf-8").split("## Permissions per route", 1)[1]
    section = section.split("\n## ", 1)[0]
    return {
        (m[1], m[2]): (m[3], m[4]) for m in map(ROW.match, section.splitlines()) if m is not None
    }


def test_the_permission_table_matches_the_route_declarations() -> None:
    table = documented()
    assert set(table) == {(e.method, e.path) for e in ENDPOINTS}
    for endpoint in ENDPOINTS:
        permission, roles = table[(endpoint.method, endpoint.path)]
        if endpoint.permission is None:
            assert "`" not in permission, endpoint.path  # no permission: no key taken
            continue
        assert permission == f"`{endpoint.permission.value}`", endpoint.path
        assert roles.split(", ") == [r.value for r in endpoint.roles()], endpoint.path


def test_the_data_at_rest_section_is_there_for_the_encryption_notes() -> None:
    assert "\n## Data at rest\n" in DOC.read_text(encoding="utf-8")
