"""Personal data: the key from the environment, pseudonyms, masking, quarantined values."""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdraw.config import ConfigError
from riskdraw.domain.codes import resident_id_check_char
from riskdraw.governance import privacy
from riskdraw.governance.privacy import (
    DEVELOPMENT_PSEUDONYM_KEY,
    mask_numbers,
    normalise_personal,
    pseudonym_key,
    pseudonymise,
    pseudonymise_personal,
    quarantine_values,
)

PERSON = "44060419800101123" + resident_id_check_char("44060419800101123")
OTHER = "11010119900307002" + resident_id_check_char("11010119900307002")
WRONG_CHECK = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")
KEY = b"a-test-key-of-some-length"


@pytest.fixture
def environment(monkeypatch):
    """No key, no environment name, and the development-key warning not yet given."""
    monkeypatch.delenv(privacy.PSEUDONYM_ENV, raising=False)
    monkeypatch.delenv(privacy.ENVIRONMENT_ENV, raising=False)
    monkeypatch.setattr(privacy, "_warned", [])
    return monkeypatch


def _token(kind: str, number: str) -> str:
    return f"[{kind}:{pseudonymise(pd.Series([number]), key=KEY).iat[0]}]"


# --- the key ---------------------------------------------------------------------------------


def test_without_a_key_the_development_key_is_used_with_one_warning(environment, caplog):
    with caplog.at_level(logging.WARNING, logger="riskdraw.governance.privacy"):
        assert pseudonym_key() == DEVELOPMENT_PSEUDONYM_KEY.encode()
        assert pseudonym_key() == DEVELOPMENT_PSEUDONYM_KEY.encode()
    warnings = [r for r in caplog.records if "RISKDRAW_PSEUDONYM_KEY is not set" in r.message]
    assert len(warnings) == 1


def test_the_key_comes_from_the_environment(environment):
    environment.setenv(privacy.PSEUDONYM_ENV, "a-real-secret-of-32-characters!!")
    assert pseudonym_key() == b"a-real-secret-of-32-characters!!"
    environment.setenv(privacy.ENVIRONMENT_ENV, "production")
    assert pseudonym_key() == b"a-real-secret-of-32-characters!!"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "RISKDRAW_PSEUDONYM_KEY is not set, and RISKDRAW_ENV=production: set"),
        ("", "RISKDRAW_PSEUDONYM_KEY is not set"),
        (DEVELOPMENT_PSEUDONYM_KEY, "is the development key, which is not a secret"),
        ("short", "is shorter than 16 characters"),
    ],
)
def test_production_refuses_a_missing_development_or_short_key(environment, key, message):
    environment.setenv(privacy.ENVIRONMENT_ENV, "production")
    if key is not None:
        environment.setenv(privacy.PSEUDONYM_ENV, key)
    with pytest.raises(ConfigError, match=message):
        pseudonym_key()
    with pytest.raises(ConfigError, match="at least 16 characters"):
        pseudonymise(pd.Series(["陈华"]))


# --- pseudonyms --------------------------------------------------------------------------------


def test_pseudonyms_are_keyed_hashes_equal_in_equal_out():
    values = pd.Series(["陈华", "陈华", "", None, PERSON])
    out = pseudonymise(values, key=KEY)
    assert out.iat[0] == out.iat[1] and out.iat[0].startswith("P") and len(out.iat[0]) == 17
    assert out.iat[2] == "" and out.iat[3] is None  # empty stays empty, missing missing
    assert out.iat[0] != pseudonymise(values, key=b"another-key-entirely").iat[0]
    assert PERSON not in out.tolist()


def test_names_and_ids_are_normalised_the_same_way_everywhere():
    names = pd.Series([" 陈华", "陈华\u3000", "陈华"])
    assert normalise_personal("person_name", names).tolist() == ["陈华"] * 3
    ids = pd.Series([PERSON[:-1] + PERSON[-1].lower(), " " + PERSON, "".join(
        chr(ord(c) + 0xFEE0) for c in PERSON
    )])  # fmt: skip
    assert pseudonymise_personal("person_id", ids, KEY).nunique() == 1
    assert normalise_personal("person_name", pd.Series(["  ", None])).tolist() == ["", None]


# --- masking in free text ----------------------------------------------------------------------


def test_ids_and_mobile_numbers_are_masked_only_where_they_are_numbers():
    text = pa.array(
        [
            f"经营者{PERSON}，电话13812345678。",
            f"身份证{PERSON[:-1]}{PERSON[-1].lower()}",  # a lower-case x (or any check char)
            f"订单{WRONG_CHECK}",  # an 18-digit number whose check fails: not an ID
            "许可证JY14406040012345",  # 14 digits in a row: neither
            "电话 12812345678",  # no mobile number starts 12
            "1381234567890",  # 13 digits in a row: not a mobile number
            None,
            "佛山市禅城区某路1号",
        ]
    )
    masked = mask_numbers(text, key=KEY)
    assert masked.text.to_pylist() == [
        f"经营者{_token('ID', PERSON)}，电话{_token('TEL', '13812345678')}。",
        f"身份证{_token('ID', PERSON)}",
        *text.to_pylist()[2:],
    ]
    assert masked.ids.tolist() == [True, True] + [False] * 6
    assert masked.phones.tolist() == [True] + [False] * 7
    assert masked.counts() == {"personal_id_masked": 2, "phone_masked": 1}


def test_outside_accepted_records_every_id_shaped_number_is_masked():
    masked = mask_numbers(pa.array([WRONG_CHECK, "无"]), strict=False, key=KEY)
    assert masked.text.to_pylist() == [_token("ID", WRONG_CHECK), "无"]


PLAIN = st.text(alphabet="佛山市禅城区路号 ,.;:()（）ABC-", max_size=12)
SEPARATOR = st.text(alphabet="佛山市禅城区路号 ,.;:()（）ABC-", min_size=1, max_size=12)


@given(before=PLAIN, after=SEPARATOR, body=st.sampled_from([PERSON, OTHER]), phone=st.integers())
def test_no_id_or_mobile_number_survives_masking(before, after, body, phone):
    """Whatever text surrounds them (not digits: a longer number is not an ID or a phone)."""
    mobile = f"1{3 + phone % 7}{abs(phone) % 10**9:09d}"
    value = f"{before}{body}{after}{mobile}{before}"
    out = mask_numbers(pa.array([value]), key=KEY).text[0].as_py()
    assert body not in out and mobile not in out
    assert before in out and after in out


# --- the quarantine ----------------------------------------------------------------------------


def test_quarantined_values_are_pseudonymised_or_masked_by_class():
    originals = pd.Series([f" {PERSON.lower()}", ""])
    person = quarantine_values("person_id", originals, key=KEY)
    assert person.tolist() == [pseudonymise(pd.Series([PERSON]), key=KEY).iat[0], ""]
    assert (
        quarantine_values("person_name", pd.Series(["陈华 "]), key=KEY).iat[0]
        == (pseudonymise(pd.Series(["陈华"]), key=KEY).iat[0])
    )
    # A personal ID typed into a credit-code column, even with a wrong check character.
    key_column = quarantine_values("enterprise_key", pd.Series([WRONG_CHECK, "91440604XX"]), KEY)
    assert key_column.tolist() == [_token("ID", WRONG_CHECK), "91440604XX"]
    text = quarantine_values("free_text", pd.Series(["联系13912345678", "2023-02-30"]), KEY)
    assert text.tolist() == [f"联系{_token('TEL', '13912345678')}", "2023-02-30"]
    assert quarantine_values("date", pd.Series(["2023-02-30"]), KEY).iat[0] == "2023-02-30"
