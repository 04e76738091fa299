"""One enterprise, one file, on the 2,000-enterprise city; evaluated against the true identities."""

from __future__ import annotations

import ast

import pandas as pd
import pytest

from riskdraw.config import load_section
from riskdraw.entities.evaluation import linkage_quality
from riskdraw.entities.resolve import resolve
from tests.conftest import PARAMS, ROOT

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def resolved(tiny_ingest, tmp_path_factory):
    out = tmp_path_factory.mktemp("entities")
    result = resolve(tiny_ingest.out, out, load_section("resolve", PARAMS))
    return out, result


def test_every_accepted_record_is_in_the_crosswalk_once(tiny_ingest, resolved):
    out, result = resolved
    crosswalk = pd.read_parquet(out / "crosswalk.parquet")
    accepted = sum(r.accepted for r in tiny_ingest.results.values())
    assert len(crosswalk) == accepted
    assert not crosswalk.duplicated(["source_id", "row"]).any()
    assert set(crosswalk["method"]) <= {
        "credit_code",
        "registration_number",
        "organisation_code",
        "name_exact",
        "name_fuzzy",
        "name_ambiguous",
        "unmatched",
    }
    linked = crosswalk["entity_id"].notna()
    assert (crosswalk.loc[linked, "score"] > 0).all()
    assert sum(result.crosswalk_counts.values()) == accepted


def test_linkage_meets_its_targets_against_the_truth(tiny_city, resolved):
    out, _ = resolved
    quality = linkage_quality(
        pd.read_parquet(out / "crosswalk.parquet"),
        pd.read_parquet(out / "entities.parquet"),
        tiny_city.truth,
    )
    assert quality["precision"] >= 0.995
    assert quality["recall"] >= 0.99
    assert quality["by_method"]["registration_number"]["records"] > 0
    assert quality["by_method"]["name_exact"]["records"] > 0


def test_entities_are_one_per_enterprise_with_their_sources(tiny_city, resolved):
    out, _ = resolved
    entities = pd.read_parquet(out / "entities.parquet")
    assert entities["entity_id"].is_unique and entities["credit_code"].is_unique
    truth = pd.read_parquet(tiny_city.truth / "entities.parquet")
    assert len(entities) <= len(truth) * 1.01  # no enterprise split in two
    named = entities["name"].notna()
    assert named.mean() > 0.99
    assert entities.loc[named, "name_source"].notna().all()
    registered = entities["origin"] == "registry"
    assert registered.mean() > 0.9
    assert entities.loc[registered, "founded_on_source"].str.startswith("S").all()


def test_events_carry_no_department_keys(resolved):
    out, _ = resolved
    for path in (out / "events").glob("*.parquet"):
        columns = set(pd.read_parquet(path).columns)
        assert "entity_id" in columns and {"occurred_on", "known_on"} <= columns, path.name
        assert not columns & {"credit_code", "registration_number", "organisation_code", "name"}


def test_conflicting_values_are_kept_not_lost(tiny_city, resolved):
    out, _ = resolved
    conflicts = pd.read_parquet(out / "conflicts.parquet")
    assert {"address", "legal_rep_name"} <= set(conflicts["attribute"])
    assert (conflicts["value"] != conflicts["chosen"]).all()


def test_the_resolver_never_reads_the_truth():
    for path in (ROOT / "src" / "entities").glob("*.py"):
        if path.name == "evaluation.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(m and "evaluation" in m for m in imported), path.name
        assert "truth" not in path.read_text(encoding="utf-8"), path.name
