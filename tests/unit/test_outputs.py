"""Stage outputs are never destructive; hand-offs refuse missing, partial and stale input."""

from __future__ import annotations

import json

import pytest

from riskdraw.outputs import (
    COMPLETION,
    MARKER,
    HandoffError,
    check_file_outputs,
    require_complete,
    signature,
    staged_folder,
    write_completion,
)


def make_output(target, files: dict[str, str], inputs=None, stage="ingest"):
    with staged_folder(target, inputs or {}) as work:
        for name, text in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text)
        write_completion(work, stage, inputs or {}, {"k": 1}, {"n": len(files)})
    return target


@pytest.mark.parametrize(
    ("out", "how"),
    [("raw", "is"), ("raw/inner", "lies inside"), (".", "contains")],
)
def test_an_output_over_an_input_is_refused_and_the_input_untouched(tmp_path, out, how):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "extract.csv").write_text("a,b\n1,2\n")
    with (
        pytest.raises(HandoffError, match=how) as error,
        staged_folder(tmp_path / out, {"--raw": raw}),
    ):
        pytest.fail("nothing may be written")
    assert error.value.exit_code == 2
    assert (raw / "extract.csv").read_text() == "a,b\n1,2\n"
    assert not list(tmp_path.glob(".*partial"))


def test_a_folder_riskdraw_did_not_make_is_never_replaced(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "precious.txt").write_text("keep me")
    with pytest.raises(HandoffError, match="did not make"), staged_folder(theirs):
        pass
    assert (theirs / "precious.txt").read_text() == "keep me"


def test_an_output_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("a file")
    with pytest.raises(HandoffError, match="not a folder"), staged_folder(tmp_path / "out"):
        pass
    with pytest.raises(HandoffError, match="is a folder"):
        check_file_outputs({"--report": tmp_path}, {})
    with pytest.raises(HandoffError, match="lies inside"):
        check_file_outputs({"--report": tmp_path / "raw" / "r.json"}, {"--raw": tmp_path / "raw"})


def test_a_failed_stage_leaves_the_previous_output_intact(tmp_path):
    target = make_output(tmp_path / "out", {"a.parquet": "old"})
    with pytest.raises(RuntimeError), staged_folder(target) as work:
        (work / "a.parquet").write_text("half")
        raise RuntimeError("crash midway")
    assert (target / "a.parquet").read_text() == "old"
    assert not list(tmp_path.glob(".*partial"))  # the work folder went with the failure
    require_complete(target, "ingest", "resolve")


def test_a_rerun_replaces_the_whole_output_so_nothing_stale_survives(tmp_path):
    target = make_output(tmp_path / "out", {"kind_a/s1.parquet": "a", "kind_b/s2.parquet": "b"})
    make_output(target, {"kind_a/s1.parquet": "a2"})
    assert not (target / "kind_b").exists()
    assert (target / MARKER).exists()
    assert sorted(json.loads((target / COMPLETION).read_text())["files"]) == ["kind_a/s1.parquet"]
    # An empty folder someone made is fine to fill.
    (tmp_path / "empty").mkdir()
    make_output(tmp_path / "empty", {"x": "1"})
    assert (tmp_path / "empty" / "x").read_text() == "1"


def test_a_missing_output_means_run_the_stage_first(tmp_path):
    with pytest.raises(HandoffError, match="does not exist: run `riskdraw ingest` first") as e:
        require_complete(tmp_path / "interim", "ingest", "resolve")
    assert e.value.exit_code == 2


def test_a_partial_output_is_refused_naming_what_is_wrong(tmp_path):
    crashed = tmp_path / "crashed"
    (crashed / "registration").mkdir(parents=True)
    (crashed / "registration" / "S001.parquet").write_text("half")
    with pytest.raises(HandoffError, match="no completion manifest") as e:
        require_complete(crashed, "ingest", "resolve")
    assert e.value.exit_code == 3

    target = make_output(tmp_path / "out", {"a.parquet": "aaaa", "b.parquet": "bbbb"})
    (target / "a.parquet").write_text("cut")
    (target / "b.parquet").unlink()
    (target / "c.parquet").write_text("stray")
    with pytest.raises(
        HandoffError, match=r"missing b\.parquet; changed a\.parquet; added c\.parquet"
    ):
        require_complete(target, "ingest", "resolve")


def test_an_output_made_from_inputs_that_changed_since_is_stale(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "manifest.json").write_text('{"sources": []}')
    target = make_output(tmp_path / "out", {"a.parquet": "a"}, {"raw": raw})
    require_complete(target, "ingest", "resolve")
    (raw / "manifest.json").write_text('{"sources": [{"source_id": "S1", "records": 3}]}')
    with pytest.raises(HandoffError, match=r"stale: raw .* changed since ingest") as e:
        require_complete(target, "ingest", "resolve")
    assert e.value.exit_code == 3
    with pytest.raises(HandoffError, match="made by ingest, not resolve"):
        require_complete(target, "resolve", "profile")


def test_the_completion_manifest_is_the_same_bytes_for_the_same_inputs(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "x.csv").write_text("1")
    first = make_output(tmp_path / "a", {"f.parquet": "x"}, {"raw": raw})
    second = make_output(tmp_path / "b", {"f.parquet": "x"}, {"raw": raw})
    assert (first / COMPLETION).read_bytes() == (second / COMPLETION).read_bytes()
    assert signature(first) == signature(second)
    assert signature(tmp_path / "nowhere") is None
