"""docs/security.md's permission table says what the route declarations say."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from api.http.dashboard.routes import page_routes
from api.http.routes import ENDPOINTS
from domain.principal import ROLE_PERMISSIONS, Permission, Role

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


def dashboard_documented() -> dict[tuple[str, str], tuple[str, str]]:
    section = DOC.read_text(encoding="utf-8").split("## Dashboard routes (session)", 1)[1]
    section = section.split("\n## ", 1)[0]
    return {
        (m[1], m[2]): (m[3], m[4]) for m in map(ROW.match, section.splitlines()) if m is not None
    }


def test_the_dashboard_table_lists_every_dashboard_route_and_its_roles() -> None:
    table = dashboard_documented()
    routes = {
        (method, "/ui" + route.path)
        for route in page_routes()
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert set(table) == routes | {("GET", "/docs")}
    for needs, roles in table.values():
        found = re.match(r"session: `(\w+)`", needs)
        if found:  # the roles that can sign in (read) and have that permission
            wanted = {Permission.READ, Permission(found[1])}
            may = [r.value for r in Role if wanted <= ROLE_PERMISSIONS[r]]
            assert set(roles.split(", ")) == set(may), needs
