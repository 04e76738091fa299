"""The canonical tables' contracts: accepted records pass; a breach names source and check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskdraw.domain.codes import make_regnos, make_usccs, uscc_check_char
from riskdraw.governance.catalogue import load_kinds
from riskdraw.governance.contracts import ContractError, canonical_schema, check_keys, enforce
from tests.conftest import ROOT

KINDS = load_kinds(ROOT / "catalogue" / "kinds.yaml")
MIDEA = "91440606722473344C"  # a valid credit code; its organisation code is 722473344
REGNO = "440301103097413"


def _tax_rating(**override) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "source_id": ["S128", "S128"],
            "row": [0, 1],
            "credit_code": [MIDEA, None],
            "registration_number": [None, None],
            "organisation_code": [None, "722473344"],
            "name": ["佛山市某某有限公司", None],
            "year": pd.array([2022, 2023], dtype="Int64"),
            "rating": ["A", "M"],
            "published_on": pd.to_datetime(["2023-04-15", "2024-04-15"]),
            "known_on": pd.to_datetime(["2023-04-16", "2024-04-16"]),
        }
    )
    frame["occurred_on"] = frame["published_on"]
    return frame.assign(**override)


def test_accepted_records_meet_their_contract():
    schema = canonical_schema("tax_rating", KINDS.kinds["tax_rating"])
    assert len(enforce(schema, _tax_rating(), "S128")) == 2


@pytest.mark.parametrize(
    ("override", "check"),
    [
        ({"rating": ["A", "Z"]}, "isin"),
        ({"credit_code": ["91440604MA4UXJ1X0", None]}, "str_matches"),
        ({"year": pd.array([2022, 1800], dtype="Int64")}, "greater_than_or_equal_to"),
        ({"known_on": pd.to_datetime(["2023-04-16", None])}, "not_nullable"),
        ({"organisation_code": [None, None], "name": [None, None]}, "needs a key or a name"),
    ],
)
def test_a_breach_names_the_source_and_the_check(override, check):
    schema = canonical_schema("tax_rating", KINDS.kinds["tax_rating"])
    with pytest.raises(ContractError, match=rf"S128: accepted records breach .*{check}"):
        enforce(schema, _tax_rating(**override), "S128")


# ---------------------------------------------------------------------------------------------
# keys, on every record


def _keys(**columns) -> pd.DataFrame:
    """Accepted records (rows 100, 101, ...) with the given key and name columns."""
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(
        {
            "row": np.arange(100, 100 + n),
            "credit_code": [None] * n,
            "registration_number": [None] * n,
            "organisation_code": [None] * n,
            "name": ["佛山市某某有限公司"] * n,
        }
    )
    return frame.assign(**columns)


def test_valid_keys_pass():
    check_keys(_tax_rating(), "S128")
    check_keys(_keys(credit_code=[MIDEA, None], registration_number=[None, REGNO]), "S128")
    check_keys(_keys(name=["佛山市某某有限公司", None], credit_code=[None, MIDEA]), "S128")
    check_keys(_keys(credit_code=[]), "S128")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("credit_code", MIDEA[:-1] + "D"),  # the right pattern, the wrong check character
        ("credit_code", MIDEA[:16] + "5" + uscc_check_char(MIDEA[:16] + "5")),  # embedded check
        ("credit_code", MIDEA + "\x00"),  # NUL is no padding
        ("credit_code", MIDEA + "\x00X"),
        ("credit_code", MIDEA.lower()),
        ("credit_code", " " + MIDEA),
        ("credit_code", ""),
        ("credit_code", 914403001922038216),  # a number, not text
        ("registration_number", REGNO[:-1] + "4"),
        ("registration_number", MIDEA),  # a credit code belongs in credit_code
        ("organisation_code", "72247334-4"),  # the written form, not the canonical one
        ("organisation_code", "722473345"),
    ],
)
def test_a_bad_key_names_source_column_count_and_row(column, value):
    frame = _keys(**{column: [None, value, None]})
    with pytest.raises(ContractError, match=rf"^S7: .*{column}: 1 record .*rows \[101\]"):
        check_keys(frame, "S7")


@pytest.mark.parametrize("name", [None, "", np.nan, pd.NA])
def test_a_record_needs_a_key_or_a_name(name):
    frame = _keys(name=["佛山市某某有限公司", name], credit_code=[None, None])
    with pytest.raises(ContractError, match=r"S7: .*identified: 1 record .*rows \[101\]"):
        check_keys(frame, "S7")


def test_every_breach_is_counted_and_the_first_rows_named():
    codes = [MIDEA] * 3 + [MIDEA.lower()] * 7
    frame = _keys(credit_code=codes, organisation_code=["72247334-4"] + [None] * 9)
    match = (
        r"credit_code: 7 records .*rows \[103, 104, 105, 106, 107, ...\]"
        r".*organisation_code: 1 record .*rows \[100\]"
    )
    with pytest.raises(ContractError, match=match):
        check_keys(frame, "S7")


def test_a_missing_key_column_is_a_breach():
    with pytest.raises(ContractError, match=r"S7: .*registration_number.* missing"):
        check_keys(_keys(credit_code=[MIDEA]).drop(columns="registration_number"), "S7")


def test_check_keys_looks_at_every_record():
    rng = np.random.default_rng(0)
    n = 200_000
    frame = _keys(
        credit_code=make_usccs(rng, np.full(n, "440604"), "1"),
        registration_number=make_regnos(rng, np.full(n, "440604")),
    )
    check_keys(frame, "S7")
    frame.loc[n - 1, "credit_code"] = MIDEA[:-1] + "D"  # the very last record
    with pytest.raises(ContractError, match=rf"credit_code: 1 record .*rows \[{100 + n - 1}\]"):
        check_keys(frame, "S7")
