"""The governance review of the risk model (`notebooks/04-model-review`): what the registry, the
runs of experiment `riskdraw-model` and the reports say, and whether they tell the same story.

Two kinds of function. Gathering functions read MLflow (the registry, the runs, a run's
artifacts, downloaded to a temporary folder that is removed again) and return tables.
`check_*` functions take those tables and the reports (`reports/tuning.json`,
`reports/metrics.json`, already read) and raise `ReviewError` listing every disagreement they
find, each naming both sides. Nothing here writes anything.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import pandas as pd

from riskdraw.domain.risk import RISK_CLASSES

from .registry import CHALLENGER, CHAMPION
from .tuning import objective_value

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from riskdraw.config import Gates

EXPERIMENT = "riskdraw-model"
TUNED = "LightGBM tuned (best trial)"  # the tuning run's row, as tuning.json names it
NOT_EVALUATED = "not evaluated"  # the registry table's `promoted` of a version never evaluated
TAGS = [
    "role",
    "mlflow.runName",
    "mlflow.parentRunId",
    "tuning_run",
    "model_name",
    "model_version",
    "round",
    "data_version",
]
"""Run tags the review reads; a column for each even when no run carries the tag yet."""
TUNING_MEASURES = [
    "val_hit_rate_at_capacity",
    "val_auc",
    "val_pr_auc",
    "val_brier",
    "val_log_loss",
    "val_picked_inspections",
]
"""What `tune` logs for the best trial and each baseline: means over the validation rounds."""
EVALUATION_MEASURES = [
    "enterprises",
    "inspections",
    "capacity",
    "hit_rate_random",
    "hit_rate_model",
    "model_picks_inspected",
    "hit_rate_plan",
    "compliant_reduction",
    "compliant_reduction_at_capacity",
    "auc",
    "pr_auc",
    "brier",
    "calibration_error",
    "promoted",
]
"""What an evaluation run logs about a version on the held-out round, in the order shown."""


class ReviewError(AssertionError):
    """The review's sources disagree, or one it rests on is missing.

    `findings` holds one line per disagreement, each naming what disagrees with what."""

    def __init__(self, findings: Iterable[str]) -> None:
        self.findings = list(findings)
        super().__init__("\n".join(self.findings))


def _settle(findings: list[str]) -> None:
    if findings:
        raise ReviewError(findings)


def _differ(a, b) -> bool:
    """Two measures differ (None and NaN alike mean: not measured)."""
    a, b = (np.nan if v is None else float(v) for v in (a, b))
    return not np.isclose(a, b, equal_nan=True)


# --- the runs and the registry ----------------------------------------------------------------


def model_runs(experiment: str = EXPERIMENT) -> pd.DataFrame:
    """Every run of the model's experiment, latest first, from MLflow's current tracking URI.

    Returns:
        `mlflow.search_runs`' frame, with a `tags.<tag>` column for each of `TAGS`.

    Raises:
        ReviewError: the experiment does not exist (no model stage has run).
    """
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        raise ReviewError(
            [
                f"no experiment {experiment} at {mlflow.get_tracking_uri()}: "
                "run `riskdraw tune`, `train`, `evaluate`"
            ]
        )
    runs = mlflow.search_runs([found.experiment_id], order_by=["start_time DESC"])
    return runs.reindex(columns=runs.columns.union([f"tags.{t}" for t in TAGS], sort=False))


def registry_table(client: MlflowClient, model_name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every version of the model with its aliases and what `evaluate` recorded on it.

    Returns:
        The table, indexed by version (as a string, in version order): `aliases`,
        `registered`, `promoted` (`true`/`false`, or `not evaluated`), one `gate.<gate>`
        column per gate any version carries (`pass`/`fail`, empty where the version has no
        such tag) and `run_id` (the run that trained it); and the aliases, alias -> version.

    Raises:
        ReviewError: the model has no version.
    """
    versions = client.search_model_versions(f"name='{model_name}'")
    if not versions:
        raise ReviewError([f"no version of {model_name} in the registry: run `riskdraw train`"])
    # search_model_versions may leave aliases out: the registered model holds them.
    aliases = {a: str(v) for a, v in client.get_registered_model(model_name).aliases.items()}
    gates = sorted({g for v in versions for g in _gate_names(v.tags)})
    rows = [
        {
            "version": str(v.version),
            "aliases": ", ".join(sorted(a for a, n in aliases.items() if n == str(v.version))),
            "registered": pd.to_datetime(v.creation_timestamp, unit="ms").floor("s"),
            "promoted": v.tags.get("promoted", NOT_EVALUATED),
            **{f"gate.{g}": v.tags.get(f"gate.{g}", "") for g in gates},
            "run_id": v.run_id,
        }
        for v in versions
    ]
    table = pd.DataFrame(rows).sort_values("version", key=lambda s: s.astype(int))
    return table.set_index("version"), aliases


def _gate_names(tags: dict[str, str]) -> list[str]:
    return sorted(
        k.removeprefix("gate.") for k in tags if k.startswith("gate.") and not k.endswith(".detail")
    )


def check_registry(table: pd.DataFrame, aliases: dict[str, str]) -> None:
    """The aliases point at listed versions, `challenger` is set, every evaluated version's
    `promoted` tag agrees with its gates, and the champion has passed them.

    Args:
        table, aliases: `registry_table()`'s.
    """
    findings = [
        f"alias {alias} points at version {n}, which the registry does not list"
        for alias, n in aliases.items()
        if n not in table.index
    ]
    if CHALLENGER not in aliases:
        findings.append(f"alias {CHALLENGER} is not set: run `riskdraw train`")
    gate_columns = [c for c in table.columns if c.startswith("gate.")]
    for n, row in table[table["promoted"] != NOT_EVALUATED].iterrows():
        failed = [c.removeprefix("gate.") for c in gate_columns if row[c] not in ("pass", "")]
        if row["promoted"] != str(not failed).lower():
            gates = f"gate {', '.join(failed)} failed" if failed else "every gate passed"
            findings.append(f"version {n}: tag promoted={row['promoted']}, but {gates}")
    champion = aliases.get(CHAMPION)
    if champion in table.index and table.loc[champion, "promoted"] != "true":
        findings.append(
            f"alias {CHAMPION} points at version {champion}, whose tag promoted is "
            f"{table.loc[champion, 'promoted']}: it has not passed its gates"
        )
    _settle(findings)


def gate_table(client: MlflowClient, model_name: str, version: str) -> pd.DataFrame:
    """What each gate of a version saw: indexed by gate, its `verdict` (pass/fail) and the
    `detail` `evaluate` recorded beside it (a dict: the figures the verdict rests on).
    Empty for a version not evaluated yet."""
    tags = client.get_model_version(model_name, version).tags
    rows = [
        {
            "gate": g,
            "verdict": tags[f"gate.{g}"],
            "detail": json.loads(tags.get(f"gate.{g}.detail", "{}")),
        }
        for g in _gate_names(tags)
    ]
    return pd.DataFrame(rows, columns=["gate", "verdict", "detail"]).set_index("gate")


def _detail(gates: pd.DataFrame, gate: str) -> dict:
    return gates.loc[gate, "detail"] if gate in gates.index else {}


def model_cards(client: MlflowClient, model_name: str, version: str) -> tuple[str, str]:
    """A version's model card twice: the version's description in the registry, and the
    `model_card.md` artifact of the run that trained it (`train` writes both)."""
    found = client.get_model_version(model_name, version)
    with tempfile.TemporaryDirectory(prefix="riskdraw-review-") as tmp:
        path = client.download_artifacts(found.run_id, "model_card.md", tmp)
        artifact = Path(path).read_text(encoding="utf-8")
    return found.description or "", artifact


def check_model_card(description: str, artifact: str, model_name: str) -> None:
    """The registry's description and the run's model card are the same text, a card of
    `model_name`."""
    findings = []
    if description != artifact:
        lines = list(zip(description.splitlines(), artifact.splitlines(), strict=False))
        at = next((i for i, (a, b) in enumerate(lines) if a != b), len(lines)) + 1
        findings.append(
            f"the version's description and its run's model_card.md differ from line {at}"
        )
    heading = f"# Model card: {model_name}"
    if not description.startswith(heading):
        first = description.splitlines()[0] if description else "(empty)"
        findings.append(f"the model card opens with {first!r}, not {heading!r}")
    _settle(findings)


# --- tuning: the tuned model, the baselines, the trials ---------------------------------------


def tuning_run(runs: pd.DataFrame, tuning: dict) -> pd.Series:
    """The tuning run `tuning.json` names (its `run_id`), as a row of `runs`.

    Raises:
        ReviewError: no tuning run of `runs` is that one.
    """
    tunings = runs[runs["tags.role"] == "tuning"]
    found = tunings[tunings["run_id"] == tuning.get("run_id")]
    if found.empty:
        raise ReviewError(
            [
                f"tuning.json names tuning run {tuning.get('run_id')}, which is not among the "
                f"{len(tunings)} tuning runs of the experiment: run `riskdraw tune`"
            ]
        )
    return found.iloc[0]


def tuning_comparison(runs: pd.DataFrame, parent: pd.Series) -> pd.DataFrame:
    """The tuned model's validation measures beside its baselines' (the runs `tune` tagged with
    the tuning run's id), as MLflow holds them.

    Args:
        runs: `model_runs()`.
        parent: the tuning run (`tuning_run()`).

    Returns:
        Indexed by model (`TUNED`, then each baseline's run name), one float column per
        `TUNING_MEASURES`.

    Raises:
        ReviewError: no run is tagged with the tuning run, or one that is is no baseline.
    """
    baselines = runs[runs["tags.tuning_run"] == parent["run_id"]]
    if baselines.empty:
        raise ReviewError([f"no baseline run is tagged tuning_run={parent['run_id']}"])
    others = baselines.loc[baselines["tags.role"] != "baseline", "run_id"].tolist()
    if others:
        raise ReviewError(
            [f"runs {others} are tagged tuning_run={parent['run_id']} but are no baselines"]
        )
    rows = pd.concat([parent.to_frame().T.assign(**{"tags.mlflow.runName": TUNED}), baselines])
    table = rows.set_index("tags.mlflow.runName")[[f"metrics.{m}" for m in TUNING_MEASURES]]
    return table.astype(float).set_axis(TUNING_MEASURES, axis=1).rename_axis("model")


def check_tuning(compared: pd.DataFrame, tuning: dict) -> None:
    """`tuning.json` and MLflow agree on the models compared and every measure of each, and the
    report's `best_value` is the study's objective of the tuned model's measures.

    Args:
        compared: `tuning_comparison()`.
        tuning: the `reports/tuning.json` payload.
    """
    findings = []
    in_mlflow, reported = set(compared.index), set(tuning["compared"])
    if in_mlflow != reported:
        findings.append(
            f"tuning.json compares models MLflow does not hold {sorted(reported - in_mlflow)}, "
            f"and MLflow holds runs tuning.json does not compare {sorted(in_mlflow - reported)}"
        )
    for model in [m for m in compared.index if m in reported]:
        for measure in TUNING_MEASURES:
            said, logged = tuning["compared"][model].get(measure), compared.loc[model, measure]
            if _differ(said, logged):
                findings.append(
                    f"{model}, {measure}: tuning.json says {said}, its MLflow run logged {logged}"
                )
    if TUNED in compared.index:
        best = compared.loc[TUNED]
        value = objective_value(best["val_hit_rate_at_capacity"], best["val_log_loss"])
        if _differ(value, tuning["best_value"]):
            findings.append(
                f"tuning.json's best_value {tuning['best_value']} is not the objective of the "
                f"tuning run's logged best trial ({value})"
            )
    _settle(findings)


def tuning_trials(runs: pd.DataFrame, parent: pd.Series) -> pd.DataFrame:
    """The trials logged under the tuning run (its nested runs), with their number as `trial`,
    in trial order. A resumed study's earlier trials sit under earlier tuning runs, and pruned
    trials are not logged."""
    trials = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    number = trials["tags.mlflow.runName"].str.removeprefix("trial ").astype(int)
    return trials.assign(trial=number).sort_values("trial")


def check_trials(trials: pd.DataFrame, parent: pd.Series) -> None:
    """Every run nested under the tuning run is a trial, and none beats the study's best trial
    (logged on the tuning run) on the study's objective.

    Args:
        trials: `tuning_trials()`.
        parent: the tuning run.
    """
    findings = [
        f"run {r['run_id']} nested under the tuning run has role {r['tags.role']}, not trial"
        for _, r in trials[trials["tags.role"] != "trial"].iterrows()
    ]
    best = objective_value(
        parent["metrics.val_hit_rate_at_capacity"], parent["metrics.val_log_loss"]
    )
    for _, r in trials.iterrows():
        value = objective_value(r["metrics.val_hit_rate_at_capacity"], r["metrics.val_log_loss"])
        if value > best + 1e-9:
            findings.append(
                f"trial {r['trial']}'s objective {value:.6g} beats the best trial the tuning run "
                f"logged ({best:.6g})"
            )
    _settle(findings)


# --- evaluations: the challenger against the champion -----------------------------------------


def evaluations_by_version(runs: pd.DataFrame, model_name: str) -> pd.DataFrame:
    """The latest evaluation run of each version of `model_name`, indexed by version.

    Args:
        runs: `model_runs()`; evaluation runs carry tags `model_name` and `model_version`.
    """
    mine = runs[(runs["tags.role"] == "evaluation") & (runs["tags.model_name"] == model_name)]
    latest = mine.sort_values("start_time", ascending=False).drop_duplicates("tags.model_version")
    return latest.set_index("tags.model_version").rename_axis("version")


def versions_compared(challenger: str, champion: str | None, gates: pd.DataFrame) -> dict[str, str]:
    """The versions the review puts side by side, version -> role: the challenger, and the
    champion, or, when the challenger is the champion already, the champion it was judged
    against (as its `beats_champion` gate recorded; none if there was none).

    Args:
        challenger, champion: the versions the aliases point at (champion None: not set).
        gates: the challenger's `gate_table()`.
    """
    judged = _detail(gates, "beats_champion").get("champion_version")
    rival = champion if champion != challenger else judged
    shown = {challenger: "challenger" + (", champion" if challenger == champion else "")}
    if rival is not None and str(rival) != challenger:
        shown[str(rival)] = "champion" if rival == champion else "former champion"
    return shown


def check_evaluated(latest: pd.DataFrame, table: pd.DataFrame, versions: Iterable[str]) -> None:
    """Each version has an evaluation run, and the `promoted` its latest one logged is the
    version's tag (the tags are the latest evaluation's verdict).

    Args:
        latest: `evaluations_by_version()`.
        table: `registry_table()`'s.
        versions: the versions to check (`versions_compared()`).
    """
    findings = []
    for n in versions:
        if n not in latest.index:
            findings.append(f"version {n} has no evaluation run: run `riskdraw evaluate`")
            continue
        logged = str(bool(latest.loc[n, "metrics.promoted"])).lower()
        tagged = table.loc[n, "promoted"] if n in table.index else "(not in the registry)"
        if logged != tagged:
            findings.append(
                f"version {n}: its latest evaluation run logged promoted={logged}, the version's "
                f"tag says promoted={tagged}"
            )
    _settle(findings)


def check_champion_judged(
    latest: pd.DataFrame, challenger: str, champion: str | None, gates: pd.DataFrame
) -> None:
    """The challenger's `beats_champion` gate judged it against the champion of the day: the
    current champion unless the challenger has taken its place; and, where both evaluations
    read the same data, with the hit rate the champion's own evaluation found.

    Args:
        latest: `evaluations_by_version()`.
        challenger, champion: the versions the aliases point at.
        gates: the challenger's `gate_table()`.
    """
    if "beats_champion" not in gates.index:
        return  # not evaluated yet: `check_evaluated` says so
    judged = gates.loc["beats_champion", "detail"]
    rival, rate = judged.get("champion_version"), judged.get("champion")
    rival = None if rival is None else str(rival)
    findings = []
    if champion != challenger and rival != champion:
        findings.append(
            f"version {challenger}'s beats_champion gate judged it against champion {rival}, "
            f"but the alias {CHAMPION} points at {champion}"
        )
    same_data = (
        rival in latest.index
        and challenger in latest.index
        and latest.loc[rival, "tags.data_version"] == latest.loc[challenger, "tags.data_version"]
    )
    if rate is not None and same_data:
        found = latest.loc[rival, "metrics.hit_rate_model"]
        if _differ(rate, found):
            findings.append(
                f"version {challenger}'s beats_champion gate used champion {rival}'s hit rate "
                f"{rate}, but {rival}'s latest evaluation on the same data found {found}"
            )
    _settle(findings)


def check_metrics_report(metrics: dict, latest: pd.DataFrame, model_name: str) -> None:
    """`metrics.json` is the report of its version's latest evaluation run: same model, round,
    hit rate at capacity and verdict.

    Args:
        metrics: the `reports/metrics.json` payload.
        latest: `evaluations_by_version()`.
    """
    if metrics["model_name"] != model_name:
        raise ReviewError([f"metrics.json is about {metrics['model_name']}, not {model_name}"])
    version = str(metrics["model_version"])
    if version not in latest.index:
        raise ReviewError([f"metrics.json reports version {version}, which has no evaluation run"])
    run, findings = latest.loc[version], []
    for what, said, logged in (
        ("round", metrics["round"], run["tags.round"]),
        ("promoted", bool(metrics["promoted"]), bool(run["metrics.promoted"])),
    ):
        if said != logged:
            findings.append(
                f"version {version}, {what}: metrics.json says {said}, its latest evaluation "
                f"run logged {logged}"
            )
    if _differ(metrics["hit_rate_model"], run["metrics.hit_rate_model"]):
        findings.append(
            f"version {version}, hit_rate_model: metrics.json says {metrics['hit_rate_model']}, "
            f"its latest evaluation run logged {run['metrics.hit_rate_model']}"
        )
    _settle(findings)


def _labels(shown: dict) -> list[str]:
    return [f"v{n} ({role})" for n, role in shown.items()]


def evaluation_measures(latest: pd.DataFrame, shown: dict) -> pd.DataFrame:
    """The held-out round's measures of the versions shown: one row per version (labelled with
    its role), one float column per `EVALUATION_MEASURES` (NaN: not logged)."""
    frame = latest.loc[list(shown)].reindex(columns=[f"metrics.{k}" for k in EVALUATION_MEASURES])
    return frame.astype(float).set_axis(EVALUATION_MEASURES, axis=1).set_axis(_labels(shown))


def class_hit_rates(latest: pd.DataFrame, shown: dict) -> pd.DataFrame:
    """Each version's hit rate per risk class on the held-out round: one row per version shown,
    one column per class (NaN: no inspection of the class)."""
    columns = [f"metrics.hit_rate_class_{c}" for c in RISK_CLASSES]
    frame = latest.loc[list(shown)].reindex(columns=columns).astype(float)
    return frame.set_axis(list(RISK_CLASSES), axis=1).set_axis(_labels(shown))


def class_table(metrics: dict) -> pd.DataFrame:
    """metrics.json's classes: enterprises, inspections, hit rate and plan ratio of each."""
    return pd.DataFrame(
        {
            "enterprises": metrics["class_sizes"],
            "inspections": metrics["inspections_by_class"],
            "hit_rate": metrics["hit_rate_by_class"],
            "plan_ratio": metrics["plan_ratios"],
        }
    )


# --- an evaluation's artifacts: calibration, gains, slices ------------------------------------


def evaluation_artifacts(
    client: MlflowClient, run_id: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The calibration, gains and slice tables an evaluation run logged (under `evaluation/`)."""
    with tempfile.TemporaryDirectory(prefix="riskdraw-review-") as tmp:
        folder = Path(client.download_artifacts(run_id, "evaluation", tmp))
        calibration, gains, slices = (
            pd.read_csv(folder / f"{t}.csv") for t in ("calibration", "gains", "slices")
        )
    return calibration, gains, slices


def check_artifacts(
    calibration: pd.DataFrame,
    gains: pd.DataFrame,
    slices: pd.DataFrame,
    evaluation: pd.Series,
    gates: pd.DataFrame,
    settings: Gates,
) -> None:
    """An evaluation's artifacts agree with its run, its version's gates and the params.

    The calibration bins hold every inspection of the round; the gains curve rises to every
    problem found; the calibration and slice gates used the params' bound and floor, gated the
    slices with at least `slice_min_inspections` inspections in classes C and D, and their
    verdicts follow from the figures.

    Args:
        calibration, gains, slices: `evaluation_artifacts()`.
        evaluation: the evaluation run (a row of `evaluations_by_version()`).
        gates: the evaluated version's `gate_table()`.
        settings: the params' `evaluate.gates`.
    """
    findings = []
    binned, inspections = calibration["inspections"].sum(), evaluation["metrics.inspections"]
    if binned != inspections:
        findings.append(
            f"the calibration bins hold {binned} inspections, the evaluation run logged "
            f"{inspections:g}"
        )
    found = gains["share_of_problems_found"].dropna()
    if not gains["share_visited"].is_monotonic_increasing:
        findings.append("the gains table's share_visited does not increase")
    rises = bool(np.all(np.diff(found.to_numpy()) >= -1e-9))  # sums of weights: float error
    if not rises or not (found.empty or np.isclose(found.iloc[-1], 1)):
        findings.append("the gains table's share_of_problems_found does not rise to 1")
    findings += _calibration_gate(evaluation, gates, settings)
    findings += _slice_gate(slices, gates, settings)
    _settle(findings)


def _calibration_gate(evaluation: pd.Series, gates: pd.DataFrame, settings: Gates) -> list[str]:
    bound = _detail(gates, "calibration").get("bound")
    findings = []
    if bound != settings.max_calibration_error:
        findings.append(
            f"the calibration gate used bound {bound}, the params' max_calibration_error is "
            f"{settings.max_calibration_error} (changed since the evaluation?)"
        )
    error = evaluation["metrics.calibration_error"]
    verdict = gates.loc["calibration", "verdict"] if "calibration" in gates.index else None
    if bound is not None and verdict != ("pass" if error <= bound else "fail"):
        findings.append(
            f"the calibration gate says {verdict}, but the run's calibration error is {error} "
            f"against the bound {bound}"
        )
    return findings


def _slice_gate(slices: pd.DataFrame, gates: pd.DataFrame, settings: Gates) -> list[str]:
    recorded = _detail(gates, "slices")
    floor, least = settings.slice_floor, settings.slice_min_inspections
    gated = slices[slices["hit_rate_targeted"].notna()]
    findings = []
    wrong = slices[slices["hit_rate_targeted"].notna() != (slices["targeted_inspections"] >= least)]
    if len(wrong):
        named = ", ".join(f"{s}={v}" for s, v in zip(wrong["slice"], wrong["value"], strict=True))
        findings.append(
            f"slices {named}: a targeted hit rate where classes C and D had fewer than {least} "
            "inspections, or none where they had as many"
        )
    if recorded.get("gated_slices") != len(gated):
        findings.append(
            f"the slice gate recorded {recorded.get('gated_slices')} gated slices, the slice "
            f"table gates {len(gated)}"
        )
    if recorded.get("floor") != floor:
        findings.append(
            f"the slice gate used floor {recorded.get('floor')}, the params' slice_floor is "
            f"{floor} (changed since the evaluation?)"
        )
    verdict = gates.loc["slices", "verdict"] if "slices" in gates.index else None
    expected = "pass" if (gated["hit_rate_targeted"] >= floor).all() else "fail"
    if verdict != expected:
        findings.append(
            f"the slice gate says {verdict}, but the slice table's gated slices say {expected} "
            f"against the floor {floor}"
        )
    return findings


# --- the oracle (simulated city only) ---------------------------------------------------------


def check_oracle(metrics: dict, latest: pd.DataFrame) -> None:
    """metrics.json's oracle ratio is the one its evaluation run logged, and the ratio of the
    model's expected hit rate to the oracle's."""
    if "oracle_ratio" not in metrics:
        raise ReviewError(["metrics.json holds no oracle ratio (evaluate ran without --truth)"])
    ratio, findings = metrics["oracle_ratio"], []
    logged = latest.loc[str(metrics["model_version"]), "metrics.oracle_ratio"]
    if _differ(ratio, logged):
        findings.append(
            f"oracle ratio: metrics.json says {ratio}, its evaluation run logged {logged}"
        )
    expected = metrics["expected_hit_rate_model"] / metrics["expected_hit_rate_oracle"]
    if _differ(ratio, expected):
        findings.append(
            f"metrics.json's oracle ratio {ratio} is not its expected hit rates' ratio, "
            f"model / oracle = {expected}"
        )
    _settle(findings)


def oracle_tables(metrics: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The simulated truth's expected hit rates beside the observed ones: of the random draw,
    the model's picks and the oracles; and of each risk class."""
    kinds = ("random", "model", "oracle", "full_oracle")
    expected = pd.DataFrame(
        {
            "expected": [metrics[f"expected_hit_rate_{k}"] for k in kinds],
            "observed": [metrics["hit_rate_random"], metrics["hit_rate_model"], None, None],
        },
        index=["random draw", "model's picks", "oracle (records)", "full oracle (latent too)"],
    )
    classes = pd.DataFrame(
        {
            "expected": metrics["expected_hit_rate_by_class"],
            "observed": metrics["hit_rate_by_class"],
        }
    ).astype(float)
    return expected, classes
