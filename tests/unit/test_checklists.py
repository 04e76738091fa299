"""Fused checklists (一表通行): the merge rule on a hand-made catalogue, the loader's refusals,
the report's figures by hand, and the built-in catalogue's calibration on Foshan's pharmacies."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdraw.inspection.allocation import PlanError
from riskdraw.inspection.checklists import (
    FUSED_COLUMNS,
    Checklists,
    checklist_report,
    checklists_table,
    fuse,
    load_checklists,
)
from riskdraw.inspection.inspectors import load_domains
from tests.conftest import ROOT

PHARMACY = ["registration", "prices", "drugs", "medical_devices"]
"""The domains of a retail pharmacy (industry 5251, 西药零售)."""


def item(id: str, checks: str, minutes: float = 1, basis: str = "《甲法》", **extra) -> dict:
    return {"id": id, "checks": checks, "text": f"{id} 的条目", "basis": basis,
            "minutes": minutes, **extra}  # fmt: skip


def catalogue() -> dict:
    """Three domains: `licence` in all three, `storage` twice within food, `tags` in one."""
    return {
        "visit_minutes": 20,
        "domains": {
            "registration": [item("reg-1", "licence", 1, "《登记法》")],
            "food": [
                item("food-1", "licence", 2, "《食品法》"),
                item("food-2", "storage", 1, "《食品法》"),
                item("food-3", "storage", 3, "《食品法》"),
            ],
            "prices": [item("prices-1", "tags", 1, "《价格法》"),
                       item("prices-2", "licence", 1, "《登记法》")],
        },
    }  # fmt: skip


def write(folder: Path, raw: dict, name: str = "checklists.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def lists(tmp_path) -> Checklists:
    return load_checklists(write(tmp_path, catalogue()))


@cache
def builtin() -> tuple[Checklists, dict]:
    domains = load_domains(ROOT / "catalogue" / "domains.yaml")
    return load_checklists(ROOT / "catalogue" / "checklists.yaml", domains), domains


# --- the merge rule ------------------------------------------------------------------------


def test_the_same_check_across_domains_is_one_item_keeping_domains_and_bases(lists):
    fused = fuse(["prices", "registration", "food"], lists)
    assert list(fused.columns) == FUSED_COLUMNS
    assert fused["checks"].tolist() == ["licence", "storage", "tags"]  # catalogue order
    assert fused["item"].tolist() == [1, 2, 3]
    licence = fused.iloc[0]
    assert licence["text"] == "reg-1 的条目"  # the first item's wording
    assert licence["domains"] == ("registration", "food", "prices")
    assert licence["basis"] == "《登记法》；《食品法》"  # distinct bases, in order
    assert licence["merged"] == 3
    assert licence["minutes"] == 2  # the longest


def test_different_checks_stay_apart_and_a_repeat_within_a_domain_merges(lists):
    fused = fuse(["food"], lists).set_index("checks")
    assert fused.index.tolist() == ["licence", "storage"]
    assert fused.loc["storage", "merged"] == 2
    assert fused.loc["storage", "minutes"] == 3
    assert fused.loc["storage", "domains"] == ("food",)
    assert fused.loc["storage", "basis"] == "《食品法》"


def test_fusing_no_domain_gives_an_empty_list_and_an_unknown_domain_is_named(lists):
    empty = fuse([], lists)
    assert empty.empty and list(empty.columns) == FUSED_COLUMNS
    with pytest.raises(PlanError, match=r"no checklist for domains \['drugs'\]"):
        fuse(["food", "drugs"], lists)


def test_the_table_holds_every_visits_list_in_order(lists):
    visits = pd.DataFrame({"entity_id": ["E2", "E1", "E3"],
                           "domains": [["food", "registration"], ["prices"], []]})  # fmt: skip
    table = checklists_table(visits, lists)
    assert list(table.columns) == ["entity_id", *FUSED_COLUMNS]
    assert table["entity_id"].tolist() == ["E2", "E2", "E1", "E1"]
    assert table["checks"].tolist() == ["licence", "storage", "tags", "licence"]
    assert table["item"].tolist() == [1, 2, 1, 2]
    assert visits.columns.tolist() == ["entity_id", "domains"]  # the input is left alone


# --- the loader's refusals -----------------------------------------------------------------


DROP = object()
"""A key to take out of an item."""


def with_item(domain: str, k: int, **changes) -> dict:
    """The hand-made catalogue with item `k` of `domain` changed (DROP: the key taken out)."""
    raw = catalogue()
    entry = raw["domains"][domain][k]
    for key, value in changes.items():
        if value is DROP:
            del entry[key]
        else:
            entry[key] = value
    return raw


def with_top(**changes) -> dict:
    """The hand-made catalogue with top-level keys changed (DROP: the key taken out)."""
    raw = catalogue() | changes
    return {k: v for k, v in raw.items() if v is not DROP}


REFUSALS = [
    (with_item("food", 1, basis=DROP), r"domains\.food, item food-2: missing keys \['basis'\]"),
    (with_item("prices", 0, id="food-1"), r"prices, item food-1: duplicate id .*in domains\.food"),
    (with_item("food", 0, minutes=0), r"food, item food-1: `minutes` must be a number > 0, got 0"),
    (with_item("food", 0, minutes=-2.5), r"item food-1: `minutes` must be a number > 0"),
    (with_item("food", 0, minutes="5"), r"item food-1: `minutes` must be a number > 0"),
    (with_item("food", 2, weight=1), r"domains\.food, item food-3: unknown keys \['weight'\]"),
    (with_item("food", 2, checks="Storage"), r"item food-3: `checks` must be a snake_case key"),
    (with_item("food", 0, text=""), r"item food-1: `text` must be non-empty text"),
    (with_item("food", 0, id=7), r"domains\.food, item #1: `id` must be non-empty text"),
    (with_top(domains={"food": []}), r"domains\.food: needs a non-empty list of items"),
    (with_top(domains=DROP), r"needs `domains:`"),
    (with_top(visit_minutes=0), r"`visit_minutes` must be a number > 0"),
    (with_top(owner="x"), r"unknown keys \['owner'\]"),
]
"""Broken catalogues, and what the refusal must name."""


@pytest.mark.parametrize(("raw", "message"), REFUSALS)
def test_the_loader_refuses_a_broken_catalogue_naming_what_is_wrong(tmp_path, raw, message):
    path = write(tmp_path, raw)
    with pytest.raises(PlanError, match=message) as error:
        load_checklists(path)
    assert str(path) in str(error.value)
    assert error.value.exit_code == 3


def test_the_lists_must_be_exactly_the_domains_catalogues(tmp_path):
    path = write(tmp_path, catalogue())
    known = {"domains": {"registration": {"always": True}, "food": {}, "prices": {}}}
    assert load_checklists(path, load_domains(write(tmp_path, known, "domains.yaml"))).domains \
        == ("registration", "food", "prices")  # fmt: skip
    fewer = {"domains": {"registration": {"always": True}, "food": {}}}
    with pytest.raises(PlanError, match=r"domains \['prices'\] are not in the domains catalogue"):
        load_checklists(path, load_domains(write(tmp_path, fewer, "domains.yaml")))
    more = {"domains": {**known["domains"], "drugs": {}}}
    with pytest.raises(PlanError, match=r"domains \['drugs'\] of the domains catalogue have no"):
        load_checklists(path, load_domains(write(tmp_path, more, "domains.yaml")))


# --- the report ----------------------------------------------------------------------------


def test_the_report_counts_items_and_hours_before_and_after_by_hand(lists):
    visits = pd.DataFrame(
        {
            "entity_id": ["E1", "E2", "E3"],
            "industry_code": ["5251", "5251", "9999"],
            "domains": [("registration", "food"), ("food", "registration"), ("prices",)],
        }
    )
    report = checklist_report(visits, lists)
    # registration + food: 4 separate items (1+2+1+3 = 7 min) in 2 visits -> 2*20+7 = 47 min;
    # fused: licence (2 min) and storage (3 min) in one visit -> 20+5 = 25 min.
    # prices: 2 items (2 min), one visit either way: 20+2 = 22 min before and after.
    assert report["overall"] == {
        "fused_visits": 3, "single_domain_visits": 5, "items_before": 10, "items_after": 6,
        "hours_before": round((47 + 47 + 22) / 60, 2), "hours_after": round((25 + 25 + 22) / 60, 2),
    }  # fmt: skip
    pharmacy, other = report["by_industry"]
    assert pharmacy == {
        "industry_code": "5251", "industry": "西药零售", "visits": 2, "domains_per_visit": 2.0,
        "items_before_median": 4.0, "items_after_median": 2.0,
        "hours_before_median": round(47 / 60, 2), "hours_after_median": round(25 / 60, 2),
        "hours_before": round(94 / 60, 2), "hours_after": round(50 / 60, 2),
    }  # fmt: skip
    assert (other["industry_code"], other["industry"], other["visits"]) == ("9999", "other", 1)
    assert other["items_before_median"] == other["items_after_median"] == 2.0
    json.dumps(report)  # plain numbers and text only


# --- the built-in catalogue ----------------------------------------------------------------


def test_every_domain_has_a_list_and_every_item_a_basis():
    lists, domains = builtin()
    assert set(lists.domains) == set(domains)
    assert lists.items["basis"].str.fullmatch(r"《[^》]+》(第[一二三四五六七八九十百]+条)?").all()
    sizes = lists.items.groupby("domain").size()
    assert sizes.between(10, 45).all(), sizes.to_dict()


def test_a_retail_pharmacy_goes_from_110_items_in_3_hours_to_36_in_1():
    lists, _ = builtin()
    visits = pd.DataFrame({"entity_id": ["E1"], "industry_code": ["5251"], "domains": [PHARMACY]})
    fused = fuse(PHARMACY, lists)
    assert 108 <= fused["merged"].sum() <= 112
    assert 34 <= len(fused) <= 38
    pharmacy = checklist_report(visits, lists)["by_industry"][0]
    assert pharmacy["industry"] == "西药零售"
    assert 108 <= pharmacy["items_before_median"] <= 112
    assert 2.5 <= pharmacy["hours_before_median"] <= 3.5
    assert 0.75 <= pharmacy["hours_after_median"] <= 1.25


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fusing_any_domains_keeps_every_distinct_check_once_in_any_order(data):
    lists, domains = builtin()
    chosen = data.draw(st.lists(st.sampled_from(sorted(domains)), unique=True))
    shuffled = data.draw(st.permutations(chosen))
    fused = fuse(chosen, lists)
    separate = lists.items[lists.items["domain"].isin(chosen)]
    assert sorted(fused["checks"]) == sorted(set(separate["checks"]))
    assert fused["merged"].sum() == len(separate)
    pd.testing.assert_frame_equal(fuse(shuffled, lists), fused)
