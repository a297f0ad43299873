"""orjson on the write path of lead events, with the meaning of eventsourcing's encoder.

JSONTranscoder calls a Python `default` for every datetime and runs the stdlib encoder: a
sixth of a bulk import's time. orjson hands datetimes (and any type it does not know) to the
same registered transcodings, so the stored JSON decodes to the same values with the same
`{"_type_", "_data_"}` tags, and the read side stays eventsourcing's own.

Used only for Lead events, whose fields hold no UUID (orjson would write a UUID as a plain
string, which reads back as a str; tests/unit/test_fast_json.py checks the event classes).
Anything orjson refuses (an int past 64 bits, a non-string key) goes to the stdlib encoder,
which writes it or raises exactly as before.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class FastEncoder:
    def __init__(self, transcoder: JSONTranscoder) -> None:
        self.transcoder = transcoder

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj, default=self._default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return self.transcoder.encode(obj)

    def _default(self, value: Any) -> dict[str, Any]:
        transcoding = self.transcoder.types.get(type(value))
        if transcoding is None:
            raise TypeError(type(value).__name__)  # the stdlib path raises the real error
        return {"_type_": transcoding.name, "_data_": transcoding.encode(value)}
