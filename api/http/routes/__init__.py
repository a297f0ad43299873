"""Every endpoint of the API, declared once (routes and OpenAPI both come from here)."""

from api.http.endpoint import Endpoint
from api.http.routes.keys import KEYS
from api.http.routes.operations import OPERATIONS
from api.http.routes.reads import READS
from api.http.routes.writes import WRITES

ENDPOINTS: list[Endpoint] = [*OPERATIONS, *WRITES, *READS, *KEYS]
