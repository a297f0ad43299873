"""Every endpoint of the API, declared once (routes and OpenAPI both come from here)."""

from api.http.endpoint import Endpoint
from api.http.routes.changes import CHANGES, SUBSCRIPTIONS
from api.http.routes.keys import KEYS
from api.http.routes.operations import OPERATIONS
from api.http.routes.params import with_known_query
from api.http.routes.reads import READS
from api.http.routes.writes import WRITES

# Every GET refuses query parameters it does not declare (400 naming the parameter).
ENDPOINTS: list[Endpoint] = [
    with_known_query(e) for e in (*OPERATIONS, *WRITES, *READS, *KEYS, *CHANGES, *SUBSCRIPTIONS)
]
