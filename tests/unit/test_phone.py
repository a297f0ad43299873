from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.phone import InvalidPhoneError, _indonesian, _parsed, normalise_phone
from tests.conftest import examples


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


# The Indonesian fast path (domain/phone.py) must answer exactly as the full parse does,
# or step aside.
_spelled = st.builds(
    lambda prefix, digits, sep: prefix + sep.join([digits[:3], digits[3:7], digits[7:]]),
    st.sampled_from(["+62", "62", "0", "08", "+620", "0062", "+1", "", "6", "+6"]),
    st.text(alphabet="0123456789", min_size=0, max_size=16),
    st.sampled_from(["", " ", "-", ".", "(", "/"]),
)


@settings(max_examples=examples(10))
@given(_spelled, st.sampled_from(["ID", "US", "GB", "SG"]))
def test_the_fast_path_agrees_with_the_full_parse(raw: str, region: str) -> None:
    raw = raw.strip()
    if not raw:
        return
    fast = _indonesian(raw, region)
    try:
        full: str | None = _parsed(raw, region, raw)
    except InvalidPhoneError:
        full = None
    assert fast is None or fast == full


@settings(max_examples=examples(5))
@given(st.integers(10**7, 10**12 - 1))
def test_the_fast_path_takes_valid_indonesian_mobiles(n: int) -> None:
    raw = f"+628{n}"
    full = _parsed(raw, "ID", raw) if _valid(raw) else None
    assert _indonesian(raw, "ID") == full
    assert _indonesian(f"08{n}", "ID") == full


def _valid(raw: str) -> bool:
    try:
        _parsed(raw, "ID", raw)
    except InvalidPhoneError:
        return False
    return True
