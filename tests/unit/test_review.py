"""The model review's gathering and checks on a small real MLflow store (a few runs, two
registered versions with gates), and each kind of disagreement they must name."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from riskdraw.config import Gates
from riskdraw.training import review
from riskdraw.training.review import TUNED, ReviewError
from riskdraw.training.tuning import objective_value

MODEL = "review-unit-risk"
GATES = Gates(max_calibration_error=0.05, slice_floor=0.3, slice_min_inspections=3)
T0 = 1_700_000_000_000  # ms: runs get explicit, increasing start times
BEST = {
    "val_hit_rate_at_capacity": 0.6,
    "val_auc": 0.8,
    "val_pr_auc": 0.5,
    "val_brier": 0.1,
    "val_log_loss": 0.35,
    "val_picked_inspections": 30.0,
}
RANDOM = BEST | {"val_hit_rate_at_capacity": 0.2, "val_auc": 0.5, "val_log_loss": 0.5}
SCORECARD = BEST | {"val_hit_rate_at_capacity": 0.45, "val_auc": math.nan}  # one outcome only
CALIBRATION = pd.DataFrame(
    {"predicted": [0.1, 0.4, 0.8], "observed": [0.1, 0.3, 0.7], "inspections": [5, 4, 3]}
)
GAINS = pd.DataFrame({"share_visited": [0.25, 0.5, 1.0], "share_of_problems_found": [0.5, 0.8, 1]})
SLICES = pd.DataFrame(
    {
        "slice": ["district", "district", "industry"],
        "value": ["d1", "d2", "i1"],
        "enterprises": [40, 30, 70],
        "selection_rate": [0.3, 0.2, 0.25],
        "inspections": [8, 4, 12],
        "picked_inspections": [3, 1, 4],
        "hit_rate_model": [0.6, None, 0.5],
        "targeted_inspections": [4, 1, 3],
        "hit_rate_targeted": [0.5, None, 0.4],  # gated: at least 3 in C and D
        "hit_rate_random": [0.25, 0.2, 0.2],
    }
)
CLASSES = {"A": 0.05, "B": 0.1, "C": 0.3, "D": 0.6}
METRICS = {  # metrics.json of v2's evaluation
    "model_name": MODEL,
    "model_version": "2",
    "round": "2024-07-01",
    "hit_rate_model": 0.5,
    "hit_rate_random": 0.2,
    "promoted": False,
    "class_sizes": {"A": 50, "B": 40, "C": 30, "D": 20},
    "inspections_by_class": {"A": 3, "B": 3, "C": 3, "D": 3},
    "hit_rate_by_class": CLASSES | {"A": None},
    "plan_ratios": {"A": 0.01, "B": 0.02, "C": 0.1, "D": 0.3},
    "expected_hit_rate_random": 0.2,
    "expected_hit_rate_model": 0.45,
    "expected_hit_rate_oracle": 0.6,
    "expected_hit_rate_full_oracle": 0.9,
    "expected_hit_rate_by_class": CLASSES,
    "oracle_ratio": 0.75,
    "oracle_ratio_full": 0.5,
}


def _card(version: str) -> str:
    return f"# Model card: {MODEL}\n\nVersion {version}: intended use, data, factors.\n"


@dataclass(frozen=True)
class Store:
    client: MlflowClient
    runs: pd.DataFrame
    tuning: dict


class _Logger:
    """Runs of one experiment with explicit start times, logged through the client."""

    def __init__(self, client: MlflowClient, experiment: str) -> None:
        self.client, self.experiment = client, experiment

    def run(self, name: str, start: int, tags: dict, metrics=None, params=None, files=None):
        run = self.client.create_run(
            self.experiment, start_time=T0 + start, tags=tags, run_name=name
        )
        run_id = run.info.run_id
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, T0 + start, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, str(v)) for k, v in (params or {}).items()],
        )
        for path, text in (files or {}).items():
            self.client.log_text(run_id, text, path)
        self.client.set_terminated(run_id)
        return run_id


def _evaluation(version: str, hit_rate: float, promoted: bool, calibration_error: float):
    tags = {
        "role": "evaluation",
        "model_name": MODEL,
        "model_version": version,
        "round": "2024-07-01",
        "data_version": "d1",
    }
    metrics = {
        "hit_rate_model": hit_rate,
        "hit_rate_random": 0.2,
        "inspections": 12,
        "capacity": 0.25,
        "calibration_error": calibration_error,
        "promoted": int(promoted),
        **{f"hit_rate_class_{c}": r for c, r in CLASSES.items() if c != "A"},
    }
    return tags, metrics


def _register(client, version_run: str, card: str, gates: dict[str, tuple[bool, dict]]) -> str:
    version = client.create_model_version(MODEL, f"runs:/{version_run}/risk_model", version_run)
    client.update_model_version(MODEL, version.version, description=card)
    for gate, (passed, detail) in gates.items():
        client.set_model_version_tag(
            MODEL, version.version, f"gate.{gate}", "pass" if passed else "fail"
        )
        client.set_model_version_tag(
            MODEL, version.version, f"gate.{gate}.detail", json.dumps(detail)
        )
    promoted = all(p for p, _ in gates.values())
    client.set_model_version_tag(MODEL, version.version, "promoted", str(promoted).lower())
    return str(version.version)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    """An MLflow store in tmp_path: an earlier tuning run and the one tuning.json names (three
    trials, two baselines), two versions trained and evaluated (v1 champion; v2 challenger,
    failed on calibration and against v1), another model's evaluation."""
    root = tmp_path_factory.mktemp("review-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        log = _Logger(
            client,
            client.create_experiment(
                review.EXPERIMENT, artifact_location=(root / "artifacts").as_uri()
            ),
        )
        earlier = log.run("tune", -100, {"role": "tuning"}, BEST)
        log.run("random draw", -90, {"role": "baseline", "tuning_run": earlier}, RANDOM)
        parent = log.run(
            "tune",
            0,
            {"role": "tuning", "data_version": "d1"},
            BEST,
            {"capacity": 0.25, "validation_rounds": "2024-01-01, 2024-04-01"},
        )
        nested = {"role": "trial", "mlflow.parentRunId": parent}
        log.run("trial 0", 1, nested, BEST | {"val_hit_rate_at_capacity": 0.5})
        log.run("trial 1", 2, nested, BEST)
        log.run("trial 2", 3, nested, BEST | {"val_log_loss": 0.5})  # same rate, worse log-loss
        for i, (name, measures) in enumerate(
            {"random draw": RANDOM, "rule scorecard": SCORECARD}.items()
        ):
            log.run(name, 10 + i, {"role": "baseline", "tuning_run": parent}, measures)
        client.create_registered_model(MODEL)
        passed = {
            "beats_random": (True, {"model": 0.55, "random": 0.2}),
            "beats_champion": (True, {"champion_version": None, "champion": None}),
            "calibration": (True, {"error": 0.03, "bound": 0.05}),
            "slices": (True, {"gated_slices": 2, "floor": 0.3}),
        }
        for version, start in (("1", 20), ("2", 40)):
            trained = log.run(
                "train",
                start,
                {"role": "final"},
                {"calibration_error_in_sample": 0.02},
                files={"model_card.md": _card(version)},
            )
            if version == "1":
                _register(client, trained, _card(version), passed)
                log.run("evaluate", 25, *_evaluation("1", 0.9, True, 0.03))  # superseded
                log.run("evaluate", 30, *_evaluation("1", 0.55, True, 0.03))
                client.set_registered_model_alias(MODEL, "champion", "1")
            else:
                _register(
                    client,
                    trained,
                    _card(version),
                    passed
                    | {
                        "beats_random": (True, {"model": 0.5, "random": 0.2}),
                        "beats_champion": (False, {"champion_version": "1", "champion": 0.55}),
                        "calibration": (False, {"error": 0.08, "bound": 0.05}),
                    },
                )
                tags, metrics = _evaluation("2", 0.5, False, 0.08)
                files = {
                    f"evaluation/{name}.csv": table.to_csv(index=False)
                    for name, table in (
                        ("calibration", CALIBRATION),
                        ("gains", GAINS),
                        ("slices", SLICES),
                    )
                }
                log.run("evaluate", 50, tags, metrics | {"oracle_ratio": 0.75}, files=files)
            client.set_registered_model_alias(MODEL, "challenger", version)
        other = _evaluation("2", 0.99, True, 0.01)
        log.run("evaluate", 60, other[0] | {"model_name": "other-risk"}, other[1])
        tuning = {
            "run_id": parent,
            "best_value": objective_value(BEST["val_hit_rate_at_capacity"], BEST["val_log_loss"]),
            "trials": {"complete": 3},
            "compared": {TUNED: BEST, "random draw": RANDOM, "rule scorecard": SCORECARD},
        }
        yield Store(client, review.model_runs(), tuning)
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])  # the session's store again


@pytest.fixture(scope="module")
def registry(store):
    return review.registry_table(store.client, MODEL)


@pytest.fixture(scope="module")
def gates(store):
    return review.gate_table(store.client, MODEL, "2")


@pytest.fixture(scope="module")
def latest(store):
    return review.evaluations_by_version(store.runs, MODEL)


def _with_detail(gates: pd.DataFrame, gate: str, **changes) -> pd.DataFrame:
    out = gates.copy()
    out.at[gate, "detail"] = out.at[gate, "detail"] | changes
    return out


def _raises(match: str):
    return pytest.raises(ReviewError, match=re.escape(match))


# --- the runs and the registry ----------------------------------------------------------------


def test_the_runs_come_latest_first_with_a_column_for_every_tag_read(store):
    runs = store.runs
    assert runs["start_time"].is_monotonic_decreasing
    assert {f"tags.{t}" for t in review.TAGS} <= set(runs.columns)
    with _raises("no experiment riskdraw-nothing"):
        review.model_runs("riskdraw-nothing")


def test_the_registry_table_holds_versions_aliases_and_gates_and_passes(store, registry):
    table, aliases = registry
    assert aliases == {"champion": "1", "challenger": "2"}
    assert list(table.index) == ["1", "2"]
    assert table["aliases"].tolist() == ["champion", "challenger"]
    assert table["promoted"].tolist() == ["true", "false"]
    assert table.loc["2", "gate.calibration"] == "fail"
    assert table.loc["2", "run_id"] == store.client.get_model_version(MODEL, "2").run_id
    review.check_registry(table, aliases)
    with _raises(f"no version of {MODEL}-missing"):
        review.registry_table(store.client, f"{MODEL}-missing")


@pytest.mark.parametrize(
    ("change", "aliases", "message"),
    [
        (
            {"promoted": ["true", "true"]},
            None,
            "version 2: tag promoted=true, but gate beats_champion, calibration failed",
        ),
        (
            {"promoted": ["false", "false"]},
            None,
            "version 1: tag promoted=false, but every gate passed",
        ),
        (  # the champion failed a gate and says so: the alias must not point at it
            {"promoted": ["false", "false"], "gate.calibration": ["fail", "fail"]},
            None,
            "alias champion points at version 1, whose tag promoted is false",
        ),
        (  # ... and the champion failed a gate but claims promotion
            {"gate.slices": ["fail", "pass"]},
            None,
            "version 1: tag promoted=true, but gate slices failed",
        ),
        ({}, {"champion": "1"}, "alias challenger is not set"),
        ({}, {"champion": "7", "challenger": "2"}, "alias champion points at version 7, which"),
    ],
)
def test_the_registry_check_names_each_disagreement(registry, change, aliases, message):
    table, current = registry
    with _raises(message):
        review.check_registry(table.assign(**change), aliases or current)


def test_the_gates_of_a_version_carry_their_details_and_choose_the_versions_compared(gates):
    assert gates["verdict"].to_dict() == {
        "beats_champion": "fail",
        "beats_random": "pass",
        "calibration": "fail",
        "slices": "pass",
    }
    assert gates.loc["beats_champion", "detail"] == {"champion_version": "1", "champion": 0.55}
    assert review.versions_compared("2", "1", gates) == {"2": "challenger", "1": "champion"}
    promoted = review.versions_compared("2", "2", gates)  # v1 was the champion it beat
    assert promoted == {"2": "challenger, champion", "1": "former champion"}
    first = _with_detail(gates, "beats_champion", champion_version=None)
    assert review.versions_compared("2", None, first) == {"2": "challenger"}
    assert review.versions_compared("2", "1", gates.iloc[:0]) == {
        "2": "challenger",
        "1": "champion",
    }


def test_the_model_card_is_the_description_and_the_runs_artifact(store):
    description, artifact = review.model_cards(store.client, MODEL, "2")
    assert description == artifact == _card("2")
    review.check_model_card(description, artifact, MODEL)
    with _raises("model_card.md differ from line 3"):
        review.check_model_card(description, _card("3"), MODEL)
    with _raises("the model card opens with '# Model card: other'"):
        other = description.replace(MODEL, "other")
        review.check_model_card(other, other, MODEL)


# --- tuning -----------------------------------------------------------------------------------


def test_the_tuning_run_and_its_baselines_agree_with_the_report(store):
    parent = review.tuning_run(store.runs, store.tuning)
    assert parent["run_id"] == store.tuning["run_id"]
    compared = review.tuning_comparison(store.runs, parent)
    assert set(compared.index) == {TUNED, "random draw", "rule scorecard"}  # not the earlier's
    assert list(compared.columns) == review.TUNING_MEASURES
    assert math.isnan(compared.loc["rule scorecard", "val_auc"])
    review.check_tuning(compared, store.tuning)


def _tuning(tuning: dict, model: str | None = None, **changes) -> dict:
    if model is None:
        return tuning | changes
    return tuning | {"compared": tuning["compared"] | {model: tuning["compared"][model] | changes}}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: _tuning(t, "random draw", val_auc=0.6),
            "random draw, val_auc: tuning.json says 0.6, its MLflow run logged 0.5",
        ),
        (
            lambda t: _tuning(t, "rule scorecard", val_auc=0.7),
            "rule scorecard, val_auc: tuning.json says 0.7, its MLflow run logged nan",
        ),
        (
            lambda t: _tuning(t, compared={k: v for k, v in t["compared"].items() if k != TUNED}),
            f"MLflow holds runs tuning.json does not compare ['{TUNED}']",
        ),
        (
            lambda t: _tuning(t, compared=t["compared"] | {"a model": BEST}),
            "tuning.json compares models MLflow does not hold ['a model']",
        ),
        (lambda t: _tuning(t, best_value=0.7), "tuning.json's best_value 0.7 is not the objective"),
    ],
)
def test_the_tuning_check_names_each_disagreement_with_mlflow(store, edit, message):
    compared = review.tuning_comparison(store.runs, review.tuning_run(store.runs, store.tuning))
    with _raises(message):
        review.check_tuning(compared, edit(store.tuning))


def test_a_tuning_run_missing_or_without_baselines_is_named(store):
    with _raises("tuning.json names tuning run gone, which is not among the 2 tuning runs"):
        review.tuning_run(store.runs, {"run_id": "gone"})
    with _raises("no baseline run is tagged tuning_run=gone"):
        review.tuning_comparison(store.runs, pd.Series({"run_id": "gone"}))


def test_the_trials_are_numbered_and_none_beats_the_best(store):
    parent = review.tuning_run(store.runs, store.tuning)
    trials = review.tuning_trials(store.runs, parent)
    assert trials["trial"].tolist() == [0, 1, 2]
    review.check_trials(trials, parent)  # trial 2 ties the hit rate, with a worse log-loss
    better = trials.assign(**{"metrics.val_hit_rate_at_capacity": [0.7, 0.6, 0.6]})
    with _raises("trial 0's objective 0.69965 beats the best trial the tuning run logged"):
        review.check_trials(better, parent)
    with _raises("nested under the tuning run has role baseline, not trial"):
        review.check_trials(trials.assign(**{"tags.role": "baseline"}), parent)


# --- evaluations ------------------------------------------------------------------------------


def test_each_versions_latest_evaluation_of_this_model_only(latest):
    assert set(latest.index) == {"1", "2"}
    assert latest.loc["1", "metrics.hit_rate_model"] == 0.55  # not the superseded 0.9
    assert latest.loc["2", "metrics.hit_rate_model"] == 0.5  # not other-risk's 0.99


def test_the_evaluations_agree_with_the_tags_the_gates_and_metrics_json(registry, gates, latest):
    table, _ = registry
    review.check_evaluated(latest, table, ["2", "1"])
    review.check_champion_judged(latest, "2", "1", gates)
    review.check_champion_judged(latest, "2", "2", gates)  # once promoted: v1 as former champion
    review.check_metrics_report(METRICS, latest, MODEL)
    other_data = latest.assign(**{"tags.data_version": ["d0", "d1"]})
    review.check_champion_judged(
        other_data, "2", "1", _with_detail(gates, "beats_champion", champion=0.6)
    )


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            lambda t, g, ev: review.check_evaluated(ev, t.assign(promoted=["true", "true"]), ["2"]),
            "version 2: its latest evaluation run logged promoted=false, the version's tag says "
            "promoted=true",
        ),
        (
            lambda t, g, ev: review.check_evaluated(ev, t, ["2", "3"]),
            "version 3 has no evaluation run",
        ),
        (
            lambda t, g, ev: review.check_champion_judged(ev, "2", "3", g),
            "version 2's beats_champion gate judged it against champion 1, but the alias "
            "champion points at 3",
        ),
        (
            lambda t, g, ev: review.check_champion_judged(
                ev, "2", "1", _with_detail(g, "beats_champion", champion=0.6)
            ),
            "used champion 1's hit rate 0.6, but 1's latest evaluation on the same data found 0.55",
        ),
    ],
)
def test_the_evaluation_checks_name_each_disagreement(registry, gates, latest, check, message):
    with _raises(message):
        check(registry[0], gates, latest)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hit_rate_model": 0.51}, "hit_rate_model: metrics.json says 0.51, its latest evaluation"),
        ({"promoted": True}, "version 2, promoted: metrics.json says True, its latest evaluation"),
        ({"round": "2024-10-01"}, "version 2, round: metrics.json says 2024-10-01"),
        ({"model_version": 3}, "metrics.json reports version 3, which has no evaluation run"),
        ({"model_name": "other-risk"}, f"metrics.json is about other-risk, not {MODEL}"),
    ],
)
def test_metrics_json_must_be_its_versions_latest_evaluation(latest, changes, message):
    with _raises(message):
        review.check_metrics_report(METRICS | changes, latest, MODEL)


def test_the_versions_measures_side_by_side(latest):
    shown = {"2": "challenger", "1": "champion"}
    side = review.evaluation_measures(latest, shown)
    assert list(side.index) == ["v2 (challenger)", "v1 (champion)"]
    assert list(side.columns) == review.EVALUATION_MEASURES
    assert side["hit_rate_model"].tolist() == [0.5, 0.55]
    assert side["auc"].isna().all()  # not logged
    by_class = review.class_hit_rates(latest, shown)
    assert by_class.loc["v1 (champion)"].tolist()[1:] == [0.1, 0.3, 0.6]
    assert by_class["A"].isna().all()  # no inspection of class A: not logged
    counts = review.class_table(METRICS)
    assert counts.loc["D"].tolist() == [20, 3, 0.6, 0.3]


# --- artifacts and the oracle -----------------------------------------------------------------


def test_the_evaluations_artifacts_agree_with_its_run_gates_and_params(store, gates, latest):
    tables = review.evaluation_artifacts(store.client, latest.loc["2", "run_id"])
    for table, logged in zip(tables, (CALIBRATION, GAINS, SLICES), strict=True):
        pd.testing.assert_frame_equal(table, logged, check_dtype=False)
    review.check_artifacts(*tables, latest.loc["2"], gates, GATES)


def _gates(**changes) -> Gates:
    return GATES.model_copy(update=changes)


@pytest.mark.parametrize(
    ("tables", "gate_edit", "settings", "message"),
    [
        (
            {"calibration": CALIBRATION.iloc[1:]},
            None,
            GATES,
            "the calibration bins hold 7 inspections, the evaluation run logged 12",
        ),
        (
            {"gains": GAINS.assign(share_of_problems_found=[0.5, 0.8, 0.9])},
            None,
            GATES,
            "share_of_problems_found does not rise to 1",
        ),
        (
            {"gains": GAINS.assign(share_visited=[0.5, 0.25, 1.0])},
            None,
            GATES,
            "share_visited does not increase",
        ),
        (
            {},
            None,
            _gates(max_calibration_error=0.1),
            "the calibration gate used bound 0.05, the params' max_calibration_error is 0.1",
        ),
        (
            {},
            lambda g: g.assign(verdict=["fail", "pass", "pass", "pass"]),
            GATES,
            "the calibration gate says pass, but the run's calibration error is 0.08 against "
            "the bound 0.05",
        ),
        (
            {},
            None,
            _gates(slice_floor=0.45),
            "the slice gate used floor 0.3, the params' slice_floor is 0.45",
        ),
        (
            {},
            lambda g: g.assign(verdict=["fail", "pass", "fail", "fail"]),
            GATES,
            "the slice gate says fail, but the slice table's gated slices say pass",
        ),
        (
            {},
            None,
            _gates(slice_min_inspections=4),
            "slices industry=i1: a targeted hit rate where classes C and D had fewer than 4",
        ),
        (
            {},
            lambda g: _with_detail(g, "slices", gated_slices=3),
            GATES,
            "the slice gate recorded 3 gated slices, the slice table gates 2",
        ),
    ],
)
def test_the_artifact_check_names_each_disagreement(
    gates, latest, tables, gate_edit, settings, message
):
    given = {"calibration": CALIBRATION, "gains": GAINS, "slices": SLICES} | tables
    edited = gate_edit(gates) if gate_edit else gates
    with _raises(message):
        review.check_artifacts(*given.values(), latest.loc["2"], edited, settings)


def test_every_finding_is_listed_not_only_the_first(gates, latest):
    with pytest.raises(ReviewError) as raised:
        review.check_artifacts(
            CALIBRATION.iloc[1:], GAINS, SLICES, latest.loc["2"], gates, _gates(slice_floor=0.45)
        )
    assert len(raised.value.findings) == 3  # bins, floor, and the verdict the floor would give
    assert str(raised.value) == "\n".join(raised.value.findings)


def test_the_oracle_ratio_agrees_with_its_run_and_its_expected_rates(latest):
    review.check_oracle(METRICS, latest)
    with _raises("oracle ratio: metrics.json says 0.8, its evaluation run logged 0.75"):
        review.check_oracle(METRICS | {"oracle_ratio": 0.8}, latest)
    with _raises("is not its expected hit rates' ratio, model / oracle = 0.5"):
        review.check_oracle(METRICS | {"expected_hit_rate_model": 0.3}, latest)
    with _raises("metrics.json holds no oracle ratio"):
        review.check_oracle({"model_version": "2"}, latest)
    expected, classes = review.oracle_tables(METRICS)
    assert expected.loc["oracle (records)", "expected"] == 0.6
    assert math.isnan(classes.loc["A", "observed"])


def test_gains_that_reach_1_within_float_error_pass(store, gates, latest):
    """Shares of weighted sums may read 1.0000000000000002 then 1.0: that is no fall."""
    calibration, gains, slices = review.evaluation_artifacts(
        store.client, latest.loc["2", "run_id"]
    )
    found = gains["share_of_problems_found"].to_numpy(copy=True)
    found[-2:] = [1.0 + 2e-16, 1.0]
    review.check_artifacts(
        calibration, gains.assign(share_of_problems_found=found), slices, latest.loc["2"], gates,
        GATES,
    )  # fmt: skip
