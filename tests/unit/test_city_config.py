"""A city by configuration, in small: the city file's schema, its params over the project's,
and the generic profile's definitions (the simulated city's own where the kinds match; never
a record known on or after the as-of date)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from riskdraw.cities.config import City, CityError, load_city
from riskdraw.cities.profile import build_profile, city_attributes, kind_attributes
from riskdraw.config import city_name, load_section
from riskdraw.features.attributes import attributes as simulated_attributes
from riskdraw.features.profile import connect, kind_table
from tests.conftest import ROOT
from tests.harbour import city_file


def _city(**changes) -> dict:
    return city_file(**changes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["events"][0].pop("outcome"), "`outcome` needs its column and a map"),
        (lambda c: c["events"][1].update(known_on="received"), "exactly one of known_on"),
        (lambda c: c["label"].update(problem=["serious"]), "no inspection code maps to"),
        (lambda c: c["registry"].update(table="companies"), "table 'companies' is not among"),
        (lambda c: c["events"].pop(0), "no `inspection` events"),
        (lambda c: c["events"][1].update(kind="Complaint!"), "String should match pattern"),
        (lambda c: c["events"][1]["values"].update(row={"column": "x"}), "must be a lower-case"),
        (lambda c: c["rounds"]["periods"].append({"until": "2025-01-01"}), "gives `from`"),
        (lambda c: c["params"].update(simulate={"entities": 5}), "are not stage sections"),
        (lambda c: c["registry"].update(size={"column": "staff"}), "size is a number"),
    ],
)
def test_a_city_file_that_breaks_the_schema_names_the_key(tmp_path, change, message):
    config = _city()
    change(config)
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(CityError, match=message):
        load_city(path)


def test_codes_written_as_numbers_are_compared_as_text():
    config = _city()
    config["events"][0]["outcome"]["map"] = {0: "clean", 1: "minor", 2: "major", 9: "no_access"}
    city = City.model_validate(config)
    assert city.inspection.outcome.map == {
        "0": "clean",
        "1": "minor",
        "2": "major",
        "9": "no_access",
    }


def test_a_missing_city_says_which_cities_there_are(tmp_path):
    with pytest.raises(CityError, match=r"no city file there \(cities here: .*chicago"):
        load_city("atlantis")


def test_a_citys_stage_sections_are_the_projects_with_its_own_keys_whole(tmp_path):
    config = _city()
    config["params"]["tune"]["scorecard"] = {"complaint_count_count_365d": {"points": 10}}
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert city_name(path) == "harbour" and city_name(ROOT / "params.yaml") is None
    project = ROOT / "params.yaml"
    tune = load_section("tune", path, project_params=project)
    assert list(tune.scorecard) == ["complaint_count_count_365d"]  # replaced, not blended
    assert tune.trials == 4 and tune.study == "harbour-lightgbm"
    assert tune.space == load_section("tune", project).space  # the project's where not given
    train = load_section("train", path, project_params=project)
    assert train.model_name == "harbour-risk" and train.calibration_rounds == 2
    profile = load_section("profile", path, project_params=project)
    assert profile.screening_date == "2025-06-30"
    no_rules = _city()
    path.write_text(yaml.safe_dump(no_rules), encoding="utf-8")
    assert load_section("tune", path, project_params=project).scorecard == {}


def test_the_kinds_the_simulated_city_knows_get_its_own_definitions():
    simulated = {a.name: a for a in simulated_attributes()}
    for kind in ("inspection", "complaint", "penalty", "lawsuit", "licence"):
        generic = {a.name for a in kind_attributes(kind, {})}
        shared = generic & set(simulated)
        # Every window of the kind's count, days since, and (inspections) the problems found.
        assert len(shared) >= 7, (kind, sorted(generic))
        assert all(
            simulated[n].family == next(a.family for a in kind_attributes(kind, {}) if a.name == n)
            for n in shared
        )
    assert {a.name for a in kind_attributes("penalty", {"fine": ("amount", [])})} >= {
        "penalty_fine_sum_365d",
        "penalty_fine_max_all",
    }


def _events(tmp_path, rows) -> object:
    frame = pd.DataFrame(rows, columns=["entity_id", "occurred_on", "known_on", "topic"])
    for c in ("occurred_on", "known_on"):
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[us]")
    (tmp_path / "events").mkdir(exist_ok=True)
    frame.to_parquet(tmp_path / "events" / "complaint.parquet", index=False)
    return tmp_path / "events"


def test_a_shared_definition_computes_what_the_simulated_citys_does(tmp_path):
    import ibis

    events = _events(
        tmp_path,
        [
            ("a", "2024-01-05", "2024-01-06", "hygiene"),
            ("a", "2024-11-20", "2024-11-21", "prices"),
            ("a", "2024-12-30", "2025-01-02", "prices"),
            ("b", "2020-03-01", "2020-03-02", "quality"),
        ],
    )
    snaps = ibis.memtable(pd.DataFrame({"as_of_date": pd.to_datetime(["2025-01-01"])}))
    con = connect("1GB", 1)
    names = [
        "complaint_count_count_365d",
        "complaint_count_count_all",
        "complaint_count_days_since",
    ]
    generic = [a for a in kind_attributes("complaint", {}) if a.name in names]
    simulated = [a for a in simulated_attributes() if a.name in names]
    ours = kind_table(con, events, "complaint", generic, snaps).to_pandas().sort_values("entity_id")
    theirs = kind_table(con, events, "complaint", simulated, snaps).to_pandas()
    pd.testing.assert_frame_equal(
        ours.reset_index(drop=True), theirs.sort_values("entity_id").reset_index(drop=True)
    )
    a = ours.set_index("entity_id").loc["a"]
    # Known before 2025-01-01: the January and November complaints; the one of 30 December
    # was known on 2 January, after the as-of date.
    assert (a["complaint_count_count_365d"], a["complaint_count_days_since"]) == (2, 42)


def test_a_record_known_on_or_after_the_as_of_date_never_counts(tmp_path):
    """The time contract on the generic profile: adding records known on or after a
    snapshot's date (whenever they happened) leaves that snapshot unchanged."""
    city = City.model_validate(_city())
    entities = pd.DataFrame(
        {
            "entity_id": ["a", "b"],
            "opened_on": pd.to_datetime(["2015-01-01", "2018-06-01"]),
            "closed_on": pd.to_datetime([None, None]),
            "size": [3.0, 40.0],
            "district_code": ["north", "south"],
            "industry_code": ["food", "retail"],
            "entity_type": ["LTD", "SOLE"],
            "name": ["A", "B"],
            "credit_code": [None, None],
        }
    )
    for c in ("opened_on", "closed_on"):
        entities[c] = entities[c].astype("datetime64[us]")
    entities.to_parquet(tmp_path / "entities.parquet", index=False)
    inspections = pd.DataFrame(
        {
            "entity_id": ["a", "b"],
            "occurred_on": pd.to_datetime(["2023-09-10", "2024-09-12"]),
            "known_on": pd.to_datetime(["2023-09-12", "2024-09-13"]),
            "source_id": "visits",
            "row": [0, 1],
            "record_id": ["v1", "v2"],
            "outcome": ["major", "clean"],
            "problem": pd.array([1, 0], dtype="int8"),
            "inspectors": "OF1",
            "inclusion_probability": 1.0,
        }
    )
    (tmp_path / "events").mkdir()
    for c in ("occurred_on", "known_on"):
        inspections[c] = inspections[c].astype("datetime64[us]")
    inspections.to_parquet(tmp_path / "events" / "inspection.parquet", index=False)
    known = [
        ("a", "2024-03-01", "2024-03-03", "hygiene"),
        ("b", "2024-08-01", "2024-08-02", "prices"),
    ]
    _events(tmp_path, known)
    events = {
        "inspection": inspections,
        "complaint": pd.read_parquet(tmp_path / "events" / "complaint.parquet"),
    }
    attrs = city_attributes(city, entities, events)
    snaps = pd.DataFrame(
        {
            "as_of_date": pd.to_datetime(["2024-09-01"]),
            "snapshot": ["round"],
            "task": ["r"],
            "end": pd.to_datetime(["2024-10-31"]),
        }
    )
    for c in ("as_of_date", "end"):
        snaps[c] = snaps[c].astype("datetime64[us]")
    before = build_profile(connect("1GB", 1), tmp_path, snaps, attrs).to_pandas()
    _events(
        tmp_path,
        [
            *known,
            ("a", "2024-08-30", "2024-09-01", "quality"),
            ("b", "2019-01-01", "2024-09-05", "hygiene"),
        ],
    )
    after = build_profile(connect("1GB", 1), tmp_path, snaps, attrs).to_pandas()
    pd.testing.assert_frame_equal(before, after)
    row = before.set_index("entity_id").loc["b"]
    assert row["inspected"] and row["problem"] == 0  # its round's inspection: the label only
    assert row["inspection_count_count_all"] == 0  # ... never an attribute of its own round
    assert before.set_index("entity_id").loc["a", "inspection_problem_count_all"] == 1
