"""Identity from WhatsApp's ids: one canonical key per person, the raw id kept."""

from __future__ import annotations

import json
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.identity import lead_id_for
from domain.phone import InvalidPhoneError, normalise_phone, whatsapp_phone
from domain.whatsapp_identity import (
    Identity,
    InvalidIdentityError,
    phone_identity,
    sender_identities,
    sender_identity,
    user_identity,
    username_identity,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "whatsapp"
REGIONS = ["ID", "US", "GB", "MX", "BR", "AR", "AE"]


@pytest.mark.parametrize(
    ("wa_id", "key"),
    [
        ("5215512345678", "+525512345678"),  # Mexico: WhatsApp keeps the old mobile "1"
        ("525512345678", "+525512345678"),
        ("551187654321", "+5511987654321"),  # Brazil: account older than the ninth digit
        ("5511987654321", "+5511987654321"),
        ("551132654321", "+551132654321"),  # a Brazilian landline (3…) gets no ninth digit
        ("5491123456789", "+5491123456789"),  # Argentina: international mobile "9"
        ("541123456789", "+5491123456789"),
        ("6281234567890", "+6281234567890"),
        ("97150123456", "+97150123456"),  # possible, not valid: kept in the UAE, never +62…
        ("+5215512345678", "+525512345678"),  # Kapso writes "+" + the WhatsApp id
    ],
)
def test_whatsapp_ids_map_to_their_canonical_key(wa_id: str, key: str) -> None:
    identity = phone_identity(wa_id)
    assert identity == Identity("phone", key, wa_id)
    assert identity.lead_key == key


@pytest.mark.parametrize("region", REGIONS)
def test_a_foreign_whatsapp_id_never_lands_in_the_default_region(region: str) -> None:
    assert normalise_phone("97150123456", region) == "+97150123456"


@pytest.mark.parametrize(
    "junk", ["", "0812345678", "12", "+1555", "62 812 3456 7890", "abc", "٦٢٨١٢٣٤٥٦٧٨٩٠", "9" * 19]
)
def test_what_is_not_a_whatsapp_phone_id_is_refused(junk: str) -> None:
    with pytest.raises(InvalidIdentityError):
        phone_identity(junk)


def test_a_bsuid_is_kept_as_sent_and_keys_apart_from_phones() -> None:
    identity = user_identity("US.13491208655302741918")
    assert identity == Identity("wa_user", "US.13491208655302741918", "US.13491208655302741918")
    assert identity.lead_key == "wa_user:US.13491208655302741918"
    assert user_identity("US.ENT.11815799212886844830").kind == "wa_user"
    for not_a_bsuid in ["", "13491208655302741918", "US.", "US 1349", "@sheena"]:
        with pytest.raises(InvalidIdentityError):
            user_identity(not_a_bsuid)


def test_a_phone_identity_keeps_the_lead_id_phones_always_had() -> None:
    by_id = lead_id_for("acme", phone_identity("5215512345678").lead_key)
    assert by_id == lead_id_for("acme", normalise_phone("+52 55 1234 5678"))
    assert by_id != lead_id_for("acme", user_identity("MX.13491208655302741918").lead_key)


def test_usernames_fold_case_and_the_at_sign() -> None:
    assert username_identity("@RealSheenaNelson").value == "@realsheenanelson"
    assert username_identity("realsheenanelson") == Identity(
        "wa_username", "@realsheenanelson", "realsheenanelson"
    )


def test_the_phone_keys_the_lead_whenever_there_is_one() -> None:
    both = sender_identities("5215512345678", "MX.13491208655302741918", "@lucia.hdz")
    assert [i.kind for i in both] == ["phone", "wa_user", "wa_username"]
    assert sender_identity("", "US.13491208655302741918") == user_identity(
        "US.13491208655302741918"
    )
    assert sender_identity(None, None, "@tester") == username_identity("@tester")
    assert sender_identity("", "", None) is None
    with pytest.raises(InvalidIdentityError):
        sender_identity("12", "US.13491208655302741918")  # a broken phone is not skipped


def _manifest_identities() -> list[tuple[str, dict[str, str]]]:
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    found = []
    for fixture in manifest["fixtures"]:
        for part in fixture["parts"]:
            for identity in (part.get("identity"), part.get("also"), part.get("new_identity")):
                if identity:
                    found.append((fixture["file"], identity))
    return found


@pytest.mark.parametrize(("file", "expected"), _manifest_identities())
def test_every_id_in_the_fixtures_resolves_to_the_documented_key(
    file: str, expected: dict[str, str]
) -> None:
    # The raw id must really be in the body, spelled as WhatsApp/Kapso spell it.
    assert json.dumps(expected["raw"]) in (FIXTURES / file).read_text()
    make = phone_identity if expected["kind"] == "phone" else user_identity
    identity = make(expected["raw"])
    assert (identity.kind, identity.value, identity.raw) == (
        expected["kind"],
        expected["key"],
        expected["raw"],
    )


# --- every spelling of one number is one key ---------------------------------------------------

_digits = st.text(alphabet="0123456789", min_size=7, max_size=7)


@st.composite
def _mexican(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    national = "55" + draw(st.sampled_from("123456789")) + draw(_digits)
    return "+52" + national, "MX", ["521" + national, "52" + national, "+521" + national]


@st.composite
def _brazilian(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    area = draw(st.sampled_from(["11", "21", "31", "41", "51", "61", "71", "81", "91"]))
    old = draw(st.sampled_from("6789")) + draw(_digits)
    return f"+55{area}9{old}", "BR", [f"55{area}{old}", f"55{area}9{old}", f"+55{area}{old}"]


@st.composite
def _argentine(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    national = "11" + draw(st.sampled_from("23456")) + draw(_digits)
    return f"+549{national}", "AR", [f"549{national}", f"54{national}", f"+54{national}"]


@st.composite
def _indonesian(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    national = "81" + draw(st.sampled_from("23")) + draw(_digits) + draw(st.sampled_from(["", "0"]))
    return f"+62{national}", "ID", [f"62{national}"]


def _human_spellings(e164: str, region: str) -> list[str]:
    number = phonenumbers.parse(e164, None)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return [e164, international, international.replace(" ", "-"), f" {international} ", national]


@settings(max_examples=300)
@given(st.one_of(_mexican(), _brazilian(), _argentine(), _indonesian()))
def test_every_spelling_of_one_number_is_one_key(case: tuple[str, str, list[str]]) -> None:
    e164, region, wa_ids = case
    assume(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    for wa_id in wa_ids:
        assert phone_identity(wa_id).value == e164, wa_id
        assert normalise_phone(wa_id, "ID") == e164, wa_id
    for spelling in _human_spellings(e164, region):
        assert normalise_phone(spelling, region) == e164, spelling


@settings(max_examples=500)
@given(st.from_regex(r"[1-9][0-9]{5,15}", fullmatch=True), st.sampled_from(REGIONS))
def test_no_digits_only_id_lands_in_the_default_region(digits: str, region: str) -> None:
    try:
        as_id: str | None = whatsapp_phone(digits)
    except InvalidPhoneError:
        as_id = None
    try:
        read: str | None = normalise_phone(digits, region)
    except InvalidPhoneError:
        read = None
    if read is not None:  # the region never matters, and the country code is the id's own
        assert read == as_id
        sent_country = phonenumbers.parse("+" + digits, None).country_code
        assert phonenumbers.parse(read, None).country_code == sent_country


@settings(max_examples=300)
@given(st.from_regex(r"\+?[1-9][0-9]{5,15}", fullmatch=True))
def test_canonical_keys_round_trip(wa_id: str) -> None:
    try:
        key = whatsapp_phone(wa_id)
    except InvalidPhoneError:
        return
    assert whatsapp_phone(key) == key
    assert whatsapp_phone(key[1:]) == key
    assert phone_identity(wa_id).lead_key == key


@given(st.from_regex(r"[A-Z]{2}(\.ENT)?\.[A-Za-z0-9]{1,64}", fullmatch=True))
def test_bsuids_round_trip_and_never_look_like_phones(bsuid: str) -> None:
    identity = user_identity(bsuid)
    assert user_identity(identity.value) == identity
    assert not identity.lead_key.startswith("+")
