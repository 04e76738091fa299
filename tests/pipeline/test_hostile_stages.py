"""Ingest, resolve and profile used as a hostile user would, through the command line.

A few sources of the tiny city (its registry, a change source, a complaint source and a penalty
source) in a folder of their own, so each case runs the real commands in seconds: outputs are
never destructive, bad usage exits 2 and bad data 3 with a message and no traceback, counts
reconcile against what was declared, and every stage refuses partial or stale input.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from riskdraw.cli import app
from riskdraw.governance.catalogue import load_kinds
from riskdraw.simcity.catalogue import city_catalogue
from tests.conftest import PARAMS, ROOT, part_of_delivery

pytestmark = pytest.mark.pipeline
KINDS = ROOT / "catalogue" / "kinds.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def few(tiny_city, tmp_path_factory) -> Path:
    """A delivery of four sources (one per kind below), with its manifest and catalogue."""
    root = tmp_path_factory.mktemp("few")
    catalogue = city_catalogue(tiny_city.params, load_kinds(KINDS))
    wanted = ("registration", "registration_change", "complaint", "penalty")
    chosen = [next(s for s in catalogue.sources if s.kind == kind) for kind in wanted]
    return part_of_delivery(tiny_city, chosen, root)


def copy_of(few: Path, tmp_path: Path) -> Path:
    shutil.copytree(few, tmp_path / "city")
    return tmp_path / "city"


class Said:
    """A command's exit status and its output with the console's line wrapping undone."""

    def __init__(self, result) -> None:
        self.exit_code = result.exit_code
        self.output = " ".join(result.output.split())


def riskdraw(*args) -> Said:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return Said(result)


def ingest(city: Path, *extra, out: str = "interim", raw: str = "raw") -> Said:
    return riskdraw(
        "ingest", "--raw", city / raw, "--sources", city / "s.yaml", "--kinds", KINDS,
        "--out", city / out, "--report", city / "quality.json", "--page", city / "quality.html",
        "--params", PARAMS, "--no-progress", "--no-track", *extra,
    )  # fmt: skip


def resolve(city: Path, *extra, interim: str = "interim") -> Said:
    return riskdraw(
        "resolve", "--interim", city / interim, "--out", city / "entities",
        "--report", city / "resolve.json", "--params", PARAMS, "--no-track", *extra,
    )  # fmt: skip


def profile(city: Path, *extra, out: str = "profile") -> Said:
    return riskdraw(
        "profile", "--entities", city / "entities", "--out", city / out,
        "--report", city / "profile.json", "--page", city / "attributes.md",
        "--params", PARAMS, "--no-progress", *extra,
    )  # fmt: skip


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def quality(city: Path) -> dict:
    return json.loads((city / "quality.json").read_text(encoding="utf-8"))


def test_outputs_over_inputs_are_refused_and_nothing_is_deleted(few, tmp_path):
    city = copy_of(few, tmp_path)
    before = files(city / "raw")
    for out in ("raw", "raw/S001", "."):
        result = ingest(city, out=out)
        assert result.exit_code == 2, result.output
        assert "would destroy the input" in result.output
        assert files(city / "raw") == before
    assert ingest(city).exit_code == 0
    assert resolve(city).exit_code == 0
    entities = files(city / "entities")
    for out in ("entities", "entities/events"):
        result = profile(city, out=out)
        assert result.exit_code == 2 and "would destroy the input" in result.output
        assert files(city / "entities") == entities
    # A folder riskdraw did not make is not replaced; a report path that is a folder is refused.
    (city / "mine").mkdir()
    (city / "mine" / "notes.txt").write_text("mine")
    result = ingest(city, out="mine")
    assert result.exit_code == 2 and "did not make" in result.output
    assert (city / "mine" / "notes.txt").read_text() == "mine"
    result = riskdraw(
        "resolve",
        "--interim",
        city / "interim",
        "--out",
        city / "entities2",
        "--report",
        city / "mine",
        "--params",
        PARAMS,
        "--no-track",
    )
    assert result.exit_code == 2 and "is a folder" in result.output


def test_stages_refuse_missing_partial_and_stale_input(few, tmp_path):
    city = copy_of(few, tmp_path)
    result = resolve(city)
    assert result.exit_code == 2 and "run `riskdraw ingest` first" in result.output
    assert ingest(city).exit_code == 0
    # A crashed ingest leaves no completion manifest: resolve will not run on it.
    shutil.copytree(city / "interim", city / "crashed")
    (city / "crashed" / "_complete.json").unlink()
    result = resolve(city, interim="crashed")
    assert result.exit_code == 3 and "no completion manifest" in result.output
    # A file removed from ingest's output after the fact.
    shutil.copytree(city / "interim", city / "cut")
    next((city / "cut" / "complaint").glob("*.parquet")).unlink()
    result = resolve(city, interim="cut")
    assert result.exit_code == 3 and "missing complaint/" in result.output
    assert resolve(city).exit_code == 0
    assert profile(city, "--screening-only").exit_code == 0
    (screening,) = json.loads((city / "profile.json").read_text(encoding="utf-8"))["snapshots"]
    assert screening["task"] is None and screening["snapshot"] == "screening"  # JSON, no NaN
    # The raw delivery changes after ingest: resolve's input is stale, then profile's.
    manifest = json.loads((city / "raw" / "manifest.json").read_text(encoding="utf-8"))
    manifest["redelivered"] = "2025-11-01"
    (city / "raw" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    result = resolve(city)
    assert result.exit_code == 3 and "stale" in result.output and "raw" in result.output
    assert ingest(city).exit_code == 0  # re-ingested: now the entities are stale
    result = profile(city, "--screening-only")
    assert result.exit_code == 3 and "stale: interim" in result.output


def test_kinds_no_longer_delivered_leave_with_the_old_output(few, tmp_path):
    city = copy_of(few, tmp_path)
    assert ingest(city).exit_code == 0
    assert resolve(city).exit_code == 0
    assert (city / "entities" / "events" / "complaint.parquet").exists()
    sources = yaml.safe_load((city / "s.yaml").read_text(encoding="utf-8"))
    sources["sources"] = [s for s in sources["sources"] if s["kind"] != "complaint"]
    (city / "s.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
    assert ingest(city).exit_code == 0
    assert not (city / "interim" / "complaint").exists()
    assert resolve(city).exit_code == 0
    assert not (city / "entities" / "events" / "complaint.parquet").exists()
    assert not list(city.glob(".*partial")) and not list(city.glob(".*old"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ingest: {batch_rows: 10\n", "not valid YAML (line"),
        ("ingest:\n", "section 'ingest' is empty"),
        ("- ingest\n", "expected a mapping, got a list"),
        ("ingest: [1, 2]\n", "section 'ingest' is a list"),
    ],
)
def test_a_broken_params_file_exits_2_naming_it(few, tmp_path, text, message):
    city = copy_of(few, tmp_path)
    (city / "p.yaml").write_text(text)
    result = ingest(city, "--params", city / "p.yaml")  # the last --params counts
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (city / "interim").exists()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("memory_limit", "4GB'; COPY (SELECT 1) TO '/tmp/pwned.csv", "is not a memory size"),
        ("memory_limit", "1KB", "at least 64 MiB"),
    ],
)
def test_a_resolve_setting_never_reaches_sql(few, tmp_path, key, value, message):
    city = copy_of(few, tmp_path)
    raw = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    raw["resolve"][key] = value
    (city / "p.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert ingest(city).exit_code == 0
    result = riskdraw(
        "resolve",
        "--interim",
        city / "interim",
        "--out",
        city / "entities",
        "--report",
        city / "r.json",
        "--params",
        city / "p.yaml",
        "--no-track",
    )
    assert result.exit_code == 2 and f"resolve.{key}" in result.output and message in result.output
    assert not (city / "entities").exists()


def test_a_negative_delay_is_refused_not_a_perfect_score(few, tmp_path):
    city = copy_of(few, tmp_path)
    raw = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    raw["ingest"]["timeliness_days"]["daily"] = -1
    (city / "p.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = ingest(city, "--params", city / "p.yaml")  # the last --params counts
    assert result.exit_code == 2 and "timeliness_days.daily" in result.output


def test_every_record_is_accounted_for_against_the_declaration(few, tmp_path):
    city = copy_of(few, tmp_path)
    sources = yaml.safe_load((city / "s.yaml").read_text(encoding="utf-8"))["sources"]
    by_kind = {s["kind"]: s for s in sources}
    # Cut the complaints mid-file (undelivered records), empty the penalties, and declare a
    # source the catalogue does not list.
    complaint = city / "raw" / by_kind["complaint"]["file"]
    data = complaint.read_bytes()
    complaint.write_bytes(data[: len(data) // 2])
    penalty = city / "raw" / by_kind["penalty"]["file"]
    penalty.write_bytes(b"")
    manifest = json.loads((city / "raw" / "manifest.json").read_text(encoding="utf-8"))
    manifest["sources"].append({"source_id": "S999", "records": 42})
    (city / "raw" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    # 1 failed source of 4 is more than the 5% tolerated: the run stops, the report is written.
    assert ingest(city).exit_code == 3
    report = quality(city)
    per = {s["source_id"]: s for s in report["per_source"]}
    for s in per.values():
        assert s["reconciles"], s
        assert s["records_declared"] == (
            s["records_accepted"] + s["records_quarantined"] + s["records_undelivered"]
        )
    cut = per[by_kind["complaint"]["source_id"]]
    assert cut["records_undelivered"] > 0 and cut["status"] == "fail"
    empty = per[by_kind["penalty"]["source_id"]]  # fails: it delivers fewer than it declares
    assert empty["records_in"] == 0 and empty["status"] == "fail"
    assert empty["records_undelivered"] == empty["records_declared"] > 0
    assert report["records_not_catalogued"] == 42
    assert report["records_declared"] == (
        report["records_accepted"] + report["records_quarantined"]
        + report["records_undelivered"] + report["records_not_catalogued"]
    )  # fmt: skip
    assert "declared_source_not_in_catalogue" in report["findings_by_kind"]
    page = (city / "quality.html").read_text(encoding="utf-8")
    assert "S999" in page and "undelivered_records" in page


def test_without_a_manifest_every_source_is_an_undeclared_delivery(few, tmp_path):
    city = copy_of(few, tmp_path)
    (city / "raw" / "manifest.json").unlink()
    penalty = next(
        s for s in yaml.safe_load((city / "s.yaml").read_text(encoding="utf-8"))["sources"]
        if s["kind"] == "penalty"
    )  # fmt: skip
    (city / "raw" / penalty["file"]).write_bytes(b"")
    result = ingest(city)
    assert result.exit_code == 0 and "undeclared_delivery" in result.output
    report = quality(city)
    assert report["sources_undeclared"] == 4
    assert [f["finding"] for f in report["findings"]] == ["no_manifest"]
    for s in report["per_source"]:
        assert s["status"] != "ok"
        assert "undeclared_delivery" in [f["finding"] for f in s["findings"]]
    # A manifest that is not JSON is a finding too, never a crash.
    (city / "raw" / "manifest.json").write_text('{"sources": [{"source_id": "S001", "rec')
    assert ingest(city).exit_code == 0
    assert [f["finding"] for f in quality(city)["findings"]] == ["manifest_unreadable"]


def test_unknown_missing_and_renamed_columns_are_findings(few, tmp_path):
    city = copy_of(few, tmp_path)
    complaint = next(
        s for s in yaml.safe_load((city / "s.yaml").read_text(encoding="utf-8"))["sources"]
        if s["kind"] == "complaint"
    )  # fmt: skip
    path = city / "raw" / complaint["file"]
    assert complaint["format"] in ("csv", "jsonl", "xml", "xlsx")
    # Rename an optional column (问题类别 -> 问题分类) wherever the format writes its name.
    data = path.read_bytes()
    encoding = complaint["encoding"].replace("utf-8", "utf-8-sig")
    assert "问题类别".encode(encoding.replace("-sig", "")) in data or complaint["format"] == "xlsx"
    if complaint["format"] == "xlsx":
        pytest.skip("the first complaint source is a workbook")
    path.write_bytes(data.replace("问题类别".encode(encoding.replace("-sig", "")),
                                  "问题分类".encode(encoding.replace("-sig", ""))))  # fmt: skip
    assert ingest(city).exit_code == 0
    findings = {
        f["finding"]: f
        for f in next(
            s for s in quality(city)["per_source"] if s["source_id"] == complaint["source_id"]
        )["findings"]
    }
    assert "问题分类" in findings["unknown_columns"]["detail"]
    assert "问题类别" in findings["missing_optional_columns"]["detail"]
    assert "renamed" in findings["missing_optional_columns"]["detail"]
    assert findings["unknown_columns"]["records"] > 0


def test_markup_in_a_delivered_header_is_printed_as_text(few, tmp_path):
    city = copy_of(few, tmp_path)
    source = next(
        s for s in yaml.safe_load((city / "s.yaml").read_text(encoding="utf-8"))["sources"]
        if s["kind"] == "complaint"
    )  # fmt: skip
    path = city / "raw" / source["file"]
    if source["format"] == "xlsx":
        pytest.skip("the first complaint source is a workbook")
    codec = source["encoding"]
    path.write_bytes(path.read_bytes().replace("登记日期".encode(codec), b"[/red][bold]x"))
    result = ingest(city)
    assert result.exit_code == 3, result.output  # 1 failed source of 4: more than 5%
    assert "[/red][bold]x" in result.output  # the failed source's error, verbatim
    assert source["source_id"] in quality(city)["failed"]


def test_one_record_per_crosswalk_row_even_when_codes_share_an_organisation_code(few, tmp_path):
    """Two registered credit codes that embed one organisation code (a code and a copy with
    another district, both with valid check characters): a record keyed by that organisation
    code alone links to neither (it is ambiguous), never to both; the crosswalk keeps one row
    per accepted record, and the assertion catches one that does not."""
    import duckdb

    from riskdraw.domain.codes import uscc_check_char
    from riskdraw.entities.resolve import IntegrityError, _one_row_per_record
    from riskdraw.outputs import COMPLETION, write_completion

    city = copy_of(few, tmp_path)
    assert ingest(city).exit_code == 0
    interim = city / "interim"
    (registry,) = (interim / "registration").glob("*.parquet")
    records = pd.read_parquet(registry)
    original = records.iloc[0]
    body = original["credit_code"][:2] + "999999" + original["credit_code"][8:17]
    twin = original.copy()
    twin["credit_code"], twin["row"] = body + uscc_check_char(body), records["row"].max() + 1
    twin["registration_number"] = None
    pd.concat([records, twin.to_frame().T.astype(records.dtypes)]).to_parquet(registry)
    (other,) = (interim / "complaint").glob("*.parquet")
    complaints = pd.read_parquet(other)
    keyed = complaints.index[0]
    complaints.loc[keyed, ["credit_code", "registration_number"]] = None
    complaints.loc[keyed, "organisation_code"] = original["credit_code"][8:17]
    complaints.loc[keyed, "name"] = "佛山市无此名称的企业"
    complaints.to_parquet(other)
    made = json.loads((interim / COMPLETION).read_text(encoding="utf-8"))
    made["counts"][twin["source_id"]]["accepted"] += 1
    write_completion(interim, "ingest", {"raw": city / "raw"}, made["params"], made["counts"])

    assert resolve(city).exit_code == 0
    crosswalk = pd.read_parquet(city / "entities" / "crosswalk.parquet")
    accepted = sum(c["accepted"] for c in made["counts"].values())
    assert len(crosswalk) == accepted and not crosswalk.duplicated(["source_id", "row"]).any()
    row = complaints.loc[keyed]
    link = crosswalk[
        (crosswalk["source_id"] == row["source_id"]) & (crosswalk["row"] == row["row"])
    ]
    assert link["entity_id"].isna().all() and (link["method"] != "organisation_code").all()

    # The check catches a record linked twice, also when another record went missing so that
    # the total still agrees, and a crosswalk short of a record.
    tables = [str(p) for p in interim.glob("*/*.parquet") if p.parent.name != "quarantine"]
    records = f"SELECT source_id, row FROM read_parquet({tables}, union_by_name=true)"
    _one_row_per_record(duckdb.connect(), f"'{city / 'entities' / 'crosswalk.parquet'}'",
                        records, accepted)  # fmt: skip
    doubled, swapped, short = (tmp_path / f"{n}.parquet" for n in ("d", "s", "m"))
    pd.concat([crosswalk, crosswalk.head(2)]).to_parquet(doubled)
    pd.concat([crosswalk.iloc[1:], crosswalk.iloc[[2]]]).to_parquet(swapped)
    crosswalk.iloc[1:].to_parquet(short)
    for broken in (doubled, swapped, short):
        with pytest.raises(IntegrityError, match="exactly one row per accepted record"):
            _one_row_per_record(duckdb.connect(), f"'{broken}'", records, accepted)
