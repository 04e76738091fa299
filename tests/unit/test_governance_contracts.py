"""The canonical tables' contracts: accepted records pass; a breach names source and check."""

from __future__ import annotations

import pandas as pd
import pytest

from riskdraw.governance.catalogue import load_kinds
from riskdraw.governance.contracts import ContractError, canonical_schema, enforce
from tests.conftest import ROOT

KINDS = load_kinds(ROOT / "catalogue" / "kinds.yaml")


def _tax_rating(**override) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "source_id": ["S128", "S128"],
            "row": [0, 1],
            "credit_code": ["91440604MA4UXJ1X0L", None],
            "registration_number": [None, None],
            "organisation_code": [None, "MA4UXJ1X0"],
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
