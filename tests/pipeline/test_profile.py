"""The enterprise profile on the 2,000-enterprise city: rows, labels, catalogue, and time."""

from __future__ import annotations

import ast
import shutil

import numpy as np
import pandas as pd
import pytest

from riskdraw.domain.inspections import PROBLEM_RESULTS
from riskdraw.features.attributes import catalogue, catalogue_markdown
from riskdraw.features.profile import KEY, build_profile, connect
from riskdraw.governance.catalogue import load_kinds
from tests.conftest import ROOT

pytestmark = pytest.mark.pipeline
AS_OF = pd.Timestamp("2023-03-01")


def _profile_at(events_dir, entities, as_of=AS_OF) -> pd.DataFrame:
    snaps = pd.DataFrame({"as_of_date": [as_of], "snapshot": ["screening"], "task": [None]}).astype(
        {"as_of_date": "datetime64[us]", "task": object}
    )
    table, attrs = build_profile(connect("2GB", 1), events_dir, entities, snaps)
    frame = table.to_pandas()
    return frame.set_index("entity_id")[[a.name for a in attrs]].sort_index()


def test_one_row_per_enterprise_and_date_with_the_rounds_labels(tiny_entities, tiny_profile):
    frame = tiny_profile.frame
    assert not frame.duplicated(KEY).any()
    assert set(frame["snapshot"]) == {"round", "screening"}
    events = pd.read_parquet(tiny_entities / "events" / "inspection.parquet")
    for task, group in events.groupby("task"):
        rows = frame[frame["task"] == task]
        assert rows["as_of_date"].nunique() == 1
        assert rows["as_of_date"].iloc[0] == group["occurred_on"].min()
        labelled = rows[rows["inspected"]]
        # Every enterprise the round inspected is a labelled row, with what the round found.
        assert set(labelled["entity_id"]) == set(group["entity_id"])
        found = group.assign(p=group["result"].isin(PROBLEM_RESULTS)).groupby("entity_id")["p"]
        assert (
            labelled.set_index("entity_id")["problem"]
            .sort_index()
            .astype(bool)
            .equals(found.max().sort_index().rename("problem"))
        )
    assert frame.loc[frame["snapshot"] == "screening", "problem"].isna().all()
    values = frame[[a.name for a in tiny_profile.attributes]]
    assert not {c: str(t) for c, t in values.dtypes.items() if t != np.float64}
    assert 380 <= values.shape[1] <= 470  # "about 424 attribute categories"


def test_only_open_enterprises_are_screened(tiny_entities, tiny_profile):
    registry = pd.read_parquet(tiny_entities / "events" / "registration.parquet")
    screening = tiny_profile.frame[tiny_profile.frame["snapshot"] == "screening"]
    date = screening["as_of_date"].iloc[0]
    closed = registry.loc[registry["deregistered_on"] < date, "entity_id"]
    open_ = registry.loc[
        (registry["known_on"] < date)
        & (registry["deregistered_on"].isna() | (registry["deregistered_on"] >= date)),
        "entity_id",
    ]
    assert not set(closed) & set(screening["entity_id"])
    assert set(open_) == set(screening["entity_id"])


def _after(frame: pd.DataFrame) -> pd.Series:
    return frame["known_on"] >= AS_OF


def _spoil(frame: pd.DataFrame, rows: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Change every value of the given records (keys and the known_on date aside)."""
    out = frame.copy()
    for column in out.columns:
        if column in ("entity_id", "known_on", "source_id", "row"):
            continue
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            out.loc[rows, column] = series[rows] - pd.Timedelta(days=400)
        elif pd.api.types.is_numeric_dtype(series):
            out.loc[rows, column] = series[rows].fillna(0) * 3 + 7
        else:
            values = series.dropna().unique()
            if len(values):
                out.loc[rows, column] = rng.choice(values, int(rows.sum()))
    return out


def test_records_known_after_the_as_of_date_change_no_attribute(tiny_entities, tmp_path):
    """The time contract: spoil, move and add records known on or after the as-of date (and
    deregister open enterprises later); the profile as of that date must not move."""
    rng = np.random.default_rng(1)
    before = _profile_at(tiny_entities / "events", tiny_entities / "entities.parquet")
    events = tmp_path / "events"
    shutil.copytree(tiny_entities / "events", events)
    touched = 0
    for path in sorted(events.glob("*.parquet")):
        frame = pd.read_parquet(path)
        later = _after(frame)
        frame = _spoil(frame, later, rng)
        # New records about the same enterprises, that happened before but became known after.
        extra = frame.sample(min(len(frame), 300), random_state=1, replace=len(frame) < 300)
        extra = extra.assign(
            known_on=AS_OF + pd.to_timedelta(rng.integers(0, 400, len(extra)), unit="D"),
            occurred_on=AS_OF - pd.Timedelta(days=30),
        )
        extra = _spoil(extra, pd.Series(True, index=extra.index), rng)
        if path.stem == "registration":
            # Enterprises open at the date, deregistered after it.
            open_ = frame["deregistered_on"].isna() & (frame["known_on"] < AS_OF)
            frame.loc[open_[open_].index[:50], "deregistered_on"] = AS_OF + pd.Timedelta(days=5)
        touched += int(later.sum()) + len(extra)
        pd.concat([frame, extra], ignore_index=True).to_parquet(path)
    assert touched > 1000
    after = _profile_at(events, tiny_entities / "entities.parquet")
    pd.testing.assert_frame_equal(before, after)


def test_the_time_test_would_catch_a_change_before_the_date(tiny_entities, tmp_path):
    """The same check has power: one more penalty known before the date does move attributes."""
    events = tmp_path / "events"
    shutil.copytree(tiny_entities / "events", events)
    penalties = pd.read_parquet(events / "penalty.parquet")
    extra = penalties.head(20).assign(
        known_on=AS_OF - pd.Timedelta(days=10), occurred_on=AS_OF - pd.Timedelta(days=20)
    )
    pd.concat([penalties, extra], ignore_index=True).to_parquet(events / "penalty.parquet")
    before = _profile_at(tiny_entities / "events", tiny_entities / "entities.parquet")
    after = _profile_at(events, tiny_entities / "entities.parquet")
    changed = (before != after) & ~(before.isna() & after.isna())
    assert changed["penalty_count_count_90d"].sum() > 0


def test_every_attribute_is_catalogued_in_two_languages(tiny_profile):
    table = catalogue(tiny_profile.attributes)
    kinds = set(load_kinds(ROOT / "catalogue" / "kinds.yaml").kinds)
    assert table["name"].is_unique
    assert table["family"].str.fullmatch(r"[a-z_]+:[a-z_]+").all()
    assert (table["zh"].str.len() > 1).all() and (table["en"].str.len() > 3).all()
    for listed in table["kinds"]:
        assert set(listed.split(", ")) <= kinds, listed
    page = catalogue_markdown(table)
    assert all(f"`{name}`" in page for name in table["name"])


def test_features_never_read_the_simulator_or_the_truth():
    for path in (ROOT / "src" / "features").glob("*.py"):
        if path.name == "evaluation.py":
            continue
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any("simcity" in m or "evaluation" in m for m in imported), path.name
        assert "truth" not in text, path.name


def test_every_attribute_lies_within_its_bounds_and_the_bounds_say_what_it_measures(tiny_profile):
    from riskdraw.features.attributes import NEVER_DAYS
    from riskdraw.features.profile import attribute_bounds

    frame = tiny_profile.frame
    bounds = attribute_bounds([c for c in frame.columns if c not in ("entity_id", "as_of_date")])
    assert len(bounds) >= 400  # every catalogued attribute, the service's range rule
    for name, (low, high) in bounds.items():
        values = frame[name].dropna().astype(float)
        assert values.between(low, high).all(), (name, values.min(), values.max())
    assert bounds["complaint_count_count_365d"] == (0.0, float("inf"))
    assert bounds["inspection_problem_share_1095d"] == (0.0, 1.0)
    assert bounds["complaint_count_days_since"][1] > NEVER_DAYS  # a licence of 11 years ago


def test_an_enterprises_file_says_what_is_on_record_in_plain_words(tiny_profile):
    from riskdraw.inspection.enterprise import on_record

    row = tiny_profile.frame.iloc[0]
    facts = on_record(row)
    assert facts and all(f["text"].startswith(f["en"] + ": ") for f in facts)
    names = {f["name"] for f in facts}
    assert all(row[n] == row[n] and row[n] != 0 for n in names if n.endswith("_count_all"))
    empty = [n for n in row.index if n.endswith("_count_all") and row[n] == 0]
    assert not names & set(empty)  # a count of nothing is not on record
