"""orjson on the write path of lead events, with the meaning of eventsourcing's encoder.

JSONTranscoder calls a Python `default` for every datetime and runs the stdlib encoder: a
sixth of a bulk import's time. Here orjson writes the same JSON: datetimes get the same
`{"_type_": "datetime_iso", "_data_": ...}` tag (the text from orjson, equal to
`isoformat()`), other types go through the same registered transcodings, so the stored
bytes decode to the same values and the read side stays eventsourcing's own.

Used only for Lead events, whose fields hold no UUID (orjson would write a UUID as a plain
string, which reads back as a str; tests/unit/test_fast_json.py checks the event classes).
Anything orjson refuses (an int past 64 bits, a non-string key) goes to the stdlib
encoder, which writes it or raises exactly as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class FastEncoder:
    def __init__(self, transcoder: JSONTranscoder) -> None:
        self.transcoder = transcoder
        # eventsourcing's own datetime transcoding is registered: tag datetimes as it does.
        self._datetimes = isinstance(transcoder.types.get(datetime), DatetimeAsISO)

    def encode(self, obj: Any) -> bytes:
        tagged = obj
        if self._datetimes and type(obj) is dict:  # an event's state: tag its datetimes here,
            tagged = {k: _tag(v) if type(v) is datetime else v for k, v in obj.items()}
        try:
            return orjson.dumps(tagged, default=self._default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return self.transcoder.encode(obj)

    def _default(self, value: Any) -> dict[str, Any]:
        if self._datetimes and type(value) is datetime:  # nested ones
            return _tag(value)
        transcoding = self.transcoder.types.get(type(value))
        if transcoding is None:
            raise TypeError(type(value).__name__)  # the stdlib path raises the real error
        return {"_type_": transcoding.name, "_data_": transcoding.encode(value)}


def _tag(value: datetime) -> dict[str, Any]:
    if value.tzinfo is UTC or value.tzinfo is None:
        # orjson's RFC 3339 text is isoformat()'s here, in a third of the time.
        text: Any = orjson.Fragment(orjson.dumps(value))
    else:  # orjson would drop an offset's seconds
        text = value.isoformat()
    return {"_type_": DatetimeAsISO.name, "_data_": text}
