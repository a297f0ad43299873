from __future__ import annotations

import pytest

from domain.phone import InvalidPhoneError, normalise_phone


@pytest.mark.parametrize(
    "spelling",
    [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "6281234567890",
        "081234567890",
        " +62 812-3456-7890 ",
        "(0812) 3456 7890",
    ],
)
def test_indonesian_spellings_are_one_number(spelling: str) -> None:
    assert normalise_phone(spelling) == "+6281234567890"


def test_whatsapp_ids_are_international() -> None:
    assert normalise_phone("14155552671") == "+14155552671"
    assert normalise_phone("447911123456") == "+447911123456"


def test_region_is_configurable() -> None:
    assert normalise_phone("07911 123456", default_region="GB") == "+447911123456"


@pytest.mark.parametrize(
    "junk", ["abc123", "12", "", "   ", "+1555", "x" * 100, "0812-3456-7890 ext 12"]
)
def test_junk_is_rejected(junk: str) -> None:
    with pytest.raises(InvalidPhoneError):
        normalise_phone(junk)
