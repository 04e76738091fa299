"""Ingest on the 2,000-enterprise city: reconciliation, every mess caught or repaired, failures."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskdraw.config import load_section
from riskdraw.governance.catalogue import load_kinds, load_sources
from riskdraw.governance.ingest import ingest_all, ingest_source
from riskdraw.governance.quality import quality_html, quality_report
from riskdraw.simcity.catalogue import city_catalogue
from riskdraw.simcity.mess import MESS_BITS
from tests.conftest import PARAMS, ROOT

pytestmark = pytest.mark.pipeline
KINDS = ROOT / "catalogue" / "kinds.yaml"
# Mess that ingest repairs or that resolve handles: it never quarantines a record by itself.
HARMLESS = (
    MESS_BITS["fullwidth"]
    | MESS_BITS["date_style_mix"]
    | MESS_BITS["name_variant"]
    | MESS_BITS["name_typo"]
    | MESS_BITS["conflict"]
    | MESS_BITS["amount_as_text"]
)


@pytest.fixture(scope="module")
def kinds():
    return load_kinds(KINDS)


@pytest.fixture(scope="module")
def catalogue(tiny_city, kinds):
    return city_catalogue(tiny_city.params, kinds)


@pytest.fixture(scope="module")
def declared(tiny_city):
    manifest = json.loads((tiny_city.raw / "manifest.json").read_text(encoding="utf-8"))
    return {e["source_id"]: e["records"] for e in manifest["sources"]}


@pytest.fixture(scope="module")
def ingested(tiny_ingest):
    return tiny_ingest.out, tiny_ingest.results


@pytest.fixture(scope="module")
def quarantine(ingested) -> pd.DataFrame:
    out, _ = ingested
    return pd.concat(
        [pd.read_parquet(p) for p in (out / "quarantine").glob("*.parquet")], ignore_index=True
    )


def test_the_committed_catalogue_matches_the_simulated_city(kinds):
    committed = load_sources(ROOT / "catalogue" / "foshan-sim.yaml", kinds)
    assert committed == city_catalogue(load_section("simulate", PARAMS), kinds)
    assert len(committed.sources) == 142


def test_every_source_reconciles_and_only_the_truncated_one_fails(tiny_city, ingested, declared):
    _, results = ingested
    cut = {
        t["source_id"]
        for t in json.loads((tiny_city.truth / "truncated.json").read_text())["truncated"]
    }
    failed = {sid for sid, r in results.items() if r.failed}
    assert failed == cut
    for sid in cut:
        error = results[sid].error
        assert results[sid].quarantined == results[sid].records_in  # nothing lost
        assert "byte" in error and "extract" in error
    for sid, r in results.items():
        assert r.records_in == r.accepted + r.quarantined, sid
        if sid not in cut:
            assert r.records_in == declared[sid], sid
    total_in = sum(r.records_in for r in results.values())
    assert total_in == sum(v for k, v in declared.items() if k not in cut) + sum(
        results[k].records_in for k in cut
    )


def _delivered_mess(tiny_city, source_id: str) -> np.ndarray:
    ident = pd.read_parquet(tiny_city.truth / "identities" / f"{source_id}.parquet")
    return ident["mess"].to_numpy()


@pytest.mark.parametrize(
    ("mess", "rules"),
    [
        (
            "invalid_check",
            {"credit_code_check", "registration_number_check", "organisation_code_check"},
        ),
        ("missing_key", {"missing_required"}),
        ("impossible_date", {"date_impossible", "date_out_of_range"}),
        ("duplicate_exact", {"duplicate_record"}),
        ("duplicate_near", {"duplicate_record"}),
    ],
)
def test_spoiled_records_are_quarantined_with_the_rule(
    tiny_city, ingested, quarantine, catalogue, mess, rules
):
    _, results = ingested
    hits = 0
    for source in catalogue.sources:
        r = results[source.source_id]
        if r.failed:
            continue
        bits = _delivered_mess(tiny_city, source.source_id)
        rows = np.flatnonzero(bits & MESS_BITS[mess])
        if mess == "missing_key" and source.key == "name":
            continue  # a blank name is a missing key too, tested below through the name
        q = quarantine[quarantine["source_id"] == source.source_id]
        for row in rows:
            got = set(q.loc[q["row"] == row, "rule"])
            assert got, (source.source_id, row, mess, "not quarantined")
            if bits[row] & ~HARMLESS == MESS_BITS[mess]:  # spoiled only this way: this rule
                assert got & rules, (source.source_id, row, mess, got)
        hits += len(rows)
    assert hits > 20


@pytest.mark.parametrize(
    ("mess", "repair"),
    [("fullwidth", "fullwidth"), ("date_style_mix", "date_style"), ("amount_as_text", "wan_text")],
)
def test_safe_repairs_are_applied_and_counted(tiny_city, ingested, catalogue, mess, repair):
    _, results = ingested
    spoiled = repaired = 0
    for source in catalogue.sources:
        r = results[source.source_id]
        if r.failed:
            continue
        spoiled += int(
            np.count_nonzero(_delivered_mess(tiny_city, source.source_id) & MESS_BITS[mess])
        )
        repaired += r.repairs.get(repair, 0)
    assert spoiled > 20
    assert repaired >= spoiled * 0.95  # a few spoiled rows were also quarantined for other reasons


def test_accepted_records_are_clean_and_typed(ingested, kinds):
    out, _ = ingested
    registration = pd.concat([pd.read_parquet(p) for p in (out / "registration").glob("*.parquet")])
    assert registration["credit_code"].str.fullmatch(r"[0-9A-Z]{18}").all()
    assert pd.api.types.is_datetime64_any_dtype(registration["founded_on"])
    assert (registration["subscribed_capital"] >= 1000).all()  # 万元 became yuan
    assert {"source_id", "row", "occurred_on", "known_on"} <= set(registration.columns)


def test_personal_data_leaves_ingest_only_pseudonymised(tiny_city, ingested):
    out, _ = ingested
    persons = pd.read_parquet(tiny_city.truth / "persons.parquet")
    ids = set(persons["id_number"])
    names = set(persons["name"])
    for path in out.rglob("*.parquet"):
        table = pq.read_table(path).to_pandas()
        for column in table.columns:
            if table[column].dtype != object:
                continue
            values = set(table[column].dropna().astype(str))
            assert not values & ids, (path.name, column)
            if column in ("legal_rep_name", "holder_name", "value"):
                assert not (values & names) - {""}, (path.name, column)


def test_quality_report_has_every_dimension(ingested, catalogue, kinds):
    _, results = ingested
    params = load_section("ingest", PARAMS)
    report = quality_report(
        list(results.values()),
        params,
        {s.source_id: s.cadence for s in catalogue.sources},
        {k: bool(v.checks) for k, v in kinds.kinds.items()},
    )
    assert report["sources"] == 142 and report["sources_failed"] == 1 and report["reconciles"]
    assert report["records_in"] == report["records_accepted"] + report["records_quarantined"]
    row = next(s for s in report["per_source"] if s["kind"] == "annual_report")
    assert set(row["scores"]) == {
        "completeness",
        "validity",
        "uniqueness",
        "consistency",
        "timeliness",
        "accuracy",
    }
    assert 0.9 < row["scores"]["validity"] < 1.0


def test_the_city_goes_on_past_broken_event_files_but_stops_on_a_broken_registry(
    ingested, catalogue, kinds
):
    """The truncated file and one more broken one are tolerated (2 of 142, within the share);
    a broken registry file stops the run, named at the top of the report and the page."""
    _, results = ingested
    params = load_section("ingest", PARAMS, max_failed_share=0.05, essential_kinds=["registration"])
    cadence = {s.source_id: s.cadence for s in catalogue.sources}
    checks = {k: bool(v.checks) for k, v in kinds.kinds.items()}
    (cut,) = [sid for sid, r in results.items() if r.failed]
    other = next(s for s in catalogue.sources if s.kind == "penalty" and s.source_id != cut)
    registry = next(s for s in catalogue.sources if s.kind == "registration")

    def broken(*source_ids: str) -> list:
        return [
            dataclasses.replace(r, error=f"{sid}: cut mid-record") if sid in source_ids else r
            for sid, r in results.items()
        ]

    as_delivered = quality_report(
        list(results.values()), load_section("ingest", PARAMS), cadence, checks
    )
    assert as_delivered["tolerance"]["passed"] and list(as_delivered["failed"]) == [cut]

    two = quality_report(broken(other.source_id), params, cadence, checks)
    assert two["tolerance"]["passed"] and two["tolerance"]["status"] == "tolerated"
    assert two["tolerance"]["reasons"][0].startswith("2 of 142 sources failed (1.4%), within")
    assert set(two["failed"]) == {cut, other.source_id}

    stop = quality_report(broken(registry.source_id), params, cadence, checks)
    assert not stop["tolerance"]["passed"]
    assert stop["tolerance"]["essential_failed"] == [registry.source_id]
    assert f"source {registry.source_id} of essential kind registration failed" in " ".join(
        stop["tolerance"]["reasons"]
    )
    page = quality_html(stop)
    first = page.index(f"<b>{registry.source_id}</b>")
    assert page.index('class="verdict stopped"') < first < page.index('id="totals"')
    assert first < page.index('id="every-source"')


def test_a_corrupt_file_fails_alone_and_reruns_are_idempotent(
    tiny_city, catalogue, kinds, declared, tmp_path
):
    raw = tmp_path / "raw"
    shutil.copytree(tiny_city.raw, raw)
    victim = next(s for s in catalogue.sources if s.encoding == "gbk" and s.kind == "annual_report")
    path = raw / victim.file
    data = bytearray(path.read_bytes())
    data[len(data) // 3] = 0xFF  # not a GBK lead byte followed by a valid trail
    data[len(data) // 3 + 1] = 0xFF
    path.write_bytes(bytes(data))
    first = {
        r.source_id: r
        for r in ingest_all(catalogue, kinds, raw, tmp_path / "a", declared, progress=False)
    }
    assert first[victim.source_id].failed
    assert str(path.name) in first[victim.source_id].error
    others = [r for sid, r in first.items() if sid != victim.source_id and not r.failed]
    assert len(others) == 140
    second = {
        r.source_id: r
        for r in ingest_all(catalogue, kinds, raw, tmp_path / "a", declared, progress=False)
    }
    for sid, r in first.items():
        assert (r.records_in, r.accepted, r.quarantined) == (
            second[sid].records_in,
            second[sid].accepted,
            second[sid].quarantined,
        )


def test_small_batches_file_the_same_records_and_catch_duplicates_across_them(
    tiny_city, catalogue, kinds, declared, ingested, tmp_path
):
    """Exact duplicates are found across batches too: the batch size changes nothing filed."""
    _, results = ingested
    # The source with most duplicates among those of at most 20,000 records.
    biggest = max(
        (r for r in results.values() if not r.failed and r.records_in <= 20_000),
        key=lambda r: r.duplicates,
    )
    assert biggest.duplicates > 0
    source = next(s for s in catalogue.sources if s.source_id == biggest.source_id)
    rows = declared[source.source_id]
    small = ingest_source(
        source, kinds, tiny_city.raw, tmp_path, rows, batch_rows=max(97, rows // 6 + 1)
    )
    assert (small.accepted, small.quarantined, small.duplicates) == (
        biggest.accepted,
        biggest.quarantined,
        biggest.duplicates,
    )
    one = pd.read_parquet(ingested[0] / source.kind / f"{source.source_id}.parquet")
    many = pd.read_parquet(tmp_path / source.kind / f"{source.source_id}.parquet")
    pd.testing.assert_frame_equal(one, many, check_dtype=False)
