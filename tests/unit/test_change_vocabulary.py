"""The change types are written once (domain/reducer/changes.py): the API's query and
subscription schemas accept exactly them, and docs/changes.md's table lists exactly them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.http.change_schemas import ChangesParams
from api.http.subscription_schemas import SubscriptionIn
from domain.reducer.changes import VOCABULARY

DOC = Path(__file__).resolve().parents[2] / "docs" / "changes.md"


def accepted_types(model: type[BaseModel]) -> list[str]:
    schema: dict[str, Any] = model.model_json_schema()
    found: list[str] = schema["properties"]["types"]["items"]["enum"]
    return found


@pytest.mark.parametrize("model", [ChangesParams, SubscriptionIn])
def test_the_api_accepts_exactly_the_vocabulary(model: type[BaseModel]) -> None:
    assert accepted_types(model) == list(VOCABULARY)


def test_a_type_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(ValidationError):
        ChangesParams(types=["lead.exploded"])
    assert ChangesParams(types=list(VOCABULARY)).types == list(VOCABULARY)


def test_docs_list_exactly_the_vocabulary() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Vocabulary", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", section, flags=re.MULTILINE)
    assert sorted(documented) == sorted(VOCABULARY)
    assert len(documented) == len(set(documented))
