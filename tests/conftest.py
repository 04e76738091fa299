"""Shared fixtures: a tiny simulated city built once per test session (per xdist worker)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from riskdraw.config import SimulateParams, load_section

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params.yaml"
TINY_ENTITIES = 2000


@dataclass(frozen=True)
class City:
    raw: Path
    truth: Path
    report: dict
    params: SimulateParams


LONGEST_FIRST = (
    "tests/pipeline/test_rounds_loop.py",
    "tests/e2e/",
    "tests/pipeline/test_round.py",
    "tests/serving/",
    "tests/pipeline/test_simcity_mechanisms.py",
    "tests/pipeline/test_other_drivers.py",
    "tests/pipeline/test_chicago.py",
    "tests/pipeline/test_city_by_configuration.py",
    "tests/pipeline/test_drift.py",
)
"""Modules that build a city, a champion or a service of their own, longest first: `make test`
hands whole modules to its two workers in collection order (`--dist loadscope`), and a long
module collected last leaves one worker idle while the other runs it."""


def pytest_collection_modifyitems(config, items) -> None:
    """Collect the longest modules first (a stable sort: each module keeps its own order)."""

    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        where = [i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)]
        return where[0] if where else len(LONGEST_FIRST)

    items.sort(key=rank)


def simulate_params(**overrides) -> SimulateParams:
    """The project's simulate section with some keys replaced."""
    return load_section("simulate", PARAMS, **overrides)


MODEL_FACTORS = [
    "abnormal_list_listed_now",
    "complaint_count_count_365d",
    "penalty_count_count_1095d",
    "tax_rating_latest_score",
    "years_in_existence",
    "subscribed_capital",
]
"""Factors the model stages' tests use on the tiny city (selection is tested on its own)."""


def model_params(folder: Path, name: str, trials: int = 4, **gates) -> str:
    """params.yaml with few trials, a wide capacity (the tiny city inspects ~100 a round), its
    own registered model name and the given promotion gates; returns its path."""
    import yaml

    raw = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    raw["tune"] |= {"trials": trials, "capacity": 0.25, "validation_rounds": 2}
    raw["train"]["model_name"] = name
    raw["evaluate"]["gates"] |= gates
    path = folder / f"params-{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


def tiny_champion(profile: Path, folder: Path, name: str) -> str:
    """Tune, train and evaluate a model of the tiny city on `MODEL_FACTORS` under its own
    registered name, promoted to champion (gates loosened for a city this small); returns the
    params file naming it."""
    import json

    (folder / "selection.json").write_text(json.dumps({"factors": MODEL_FACTORS}), encoding="utf-8")
    params = model_params(folder, name, max_calibration_error=1.0, slice_floor=0.0)
    p = str(profile)
    run_cli("tune", "--profile", p, "--selection", str(folder / "selection.json"), "--report",
            str(folder / "tuning.json"), "--storage", str(folder / "optuna.db"),
            "--params", params)  # fmt: skip
    run_cli("train", "--profile", p, "--tuning", str(folder / "tuning.json"), "--report",
            str(folder / "train.json"), "--params", params)  # fmt: skip
    run_cli("evaluate", "--profile", p, "--train-report", str(folder / "train.json"),
            "--metrics", str(folder / "metrics.json"), "--plots", str(folder / "plots"),
            "--params", params)  # fmt: skip
    assert json.loads((folder / "metrics.json").read_text())["promoted"]
    return params


def run_cli(*args: str) -> None:
    """Run a `riskdraw` command in process; it must succeed."""
    from typer.testing import CliRunner

    from riskdraw.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


def profiled_city(params: SimulateParams, root: Path):
    """A whole simulated city through ingest, resolve and profile into `root` (for the tests
    of cities with other drivers); returns its round snapshots and attribute -> family."""
    import json

    import pandas as pd

    from riskdraw.entities.resolve import resolve
    from riskdraw.features.profile import connect, snapshots, write_profile
    from riskdraw.governance.catalogue import load_kinds
    from riskdraw.governance.ingest import ingest_all
    from riskdraw.simcity.catalogue import city_catalogue
    from riskdraw.simcity.city import simulate_city

    simulate_city(params, root / "raw", root / "truth", progress=False)
    kinds = load_kinds(ROOT / "catalogue" / "kinds.yaml")
    manifest = json.loads((root / "raw" / "manifest.json").read_text(encoding="utf-8"))
    declared = {e["source_id"]: e["records"] for e in manifest["sources"]}
    ingest_all(
        city_catalogue(params, kinds), kinds, root / "raw", root / "interim", declared,
        progress=False,
    )  # fmt: skip
    resolve(root / "interim", root / "entities", load_section("resolve", PARAMS))
    settings = load_section("profile", PARAMS)
    con = connect(settings.memory_limit, 1)
    events = root / "entities" / "events"
    snaps = snapshots(con, events, settings.screening_date)
    attrs = write_profile(
        con, events, root / "entities" / "entities.parquet", snaps, root / "profile",
        progress=False,
    )  # fmt: skip
    frame = pd.read_parquet(root / "profile", filters=[("snapshot", "=", "round")])
    return frame, {a.name: a.family for a in attrs}


def part_of_delivery(city: City, sources: list, root: Path) -> Path:
    """Some sources of the simulated city as a delivery of their own in `root`: their extracts
    under raw/, the manifest's entries for them, and their catalogue as s.yaml."""
    import json
    import shutil

    from riskdraw.governance.catalogue import SourceCatalogue, dump_sources

    for source in sources:
        (root / "raw" / source.file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(city.raw / source.file, root / "raw" / source.file)
    manifest = json.loads((city.raw / "manifest.json").read_text(encoding="utf-8"))
    ids = {s.source_id for s in sources}
    manifest["sources"] = [e for e in manifest["sources"] if e["source_id"] in ids]
    (root / "raw" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    catalogue = SourceCatalogue(city="佛山市 (simulated)", version=1, sources=sources)
    dump_sources(catalogue, root / "s.yaml")
    return root


def quick_selection(frame, families: dict[str, str]):
    """The factors of a whole city's training rounds, with select's criteria and 10 L1
    resamples (quicker); returns the fitted FactorSelector."""
    from riskdraw.features.selection import FactorSelector, training_rows
    from riskdraw.training.rounds import weights

    select = load_section("select", PARAMS)
    rows = training_rows(frame, select.holdout_rounds)
    names = [c for c in frame.columns if c in families]
    return FactorSelector(
        n_factors=select.n_factors,
        families=families,
        min_iv=select.min_iv,
        max_correlation=select.max_correlation,
        l1_resamples=10,
        l1_keep=select.l1_keep,
        random_state=select.seed,
    ).fit(
        rows[names],
        rows["problem"].astype(int),
        rows["as_of_date"].rank(method="dense").astype(int),
        sample_weight=weights(rows),
    )


@pytest.fixture(scope="session")
def tiny_city(tmp_path_factory) -> City:
    """A 2,000-enterprise city with every source, written once for the whole session."""
    from riskdraw.simcity.city import simulate_city

    root = tmp_path_factory.mktemp("tiny-city")
    params = simulate_params(entities=TINY_ENTITIES)
    report = simulate_city(params, root / "raw", root / "truth", progress=False)
    return City(raw=root / "raw", truth=root / "truth", report=report, params=params)


@pytest.fixture(scope="session", autouse=True)
def isolated_mlflow(tmp_path_factory) -> str:
    """Every test session logs to its own MLflow store, never to the project's mlflow.db."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ["RISKDRAW_ARTIFACTS"] = str(root / "mlruns")
    return uri


@dataclass(frozen=True)
class Ingested:
    out: Path
    results: dict


@pytest.fixture(scope="session")
def tiny_ingest(tiny_city, tmp_path_factory) -> Ingested:
    """The tiny city ingested once per session: canonical tables, quarantine, results."""
    import json

    from riskdraw.governance.catalogue import load_kinds
    from riskdraw.governance.ingest import ingest_all
    from riskdraw.simcity.catalogue import city_catalogue

    kinds = load_kinds(ROOT / "catalogue" / "kinds.yaml")
    catalogue = city_catalogue(tiny_city.params, kinds)
    manifest = json.loads((tiny_city.raw / "manifest.json").read_text(encoding="utf-8"))
    declared = {e["source_id"]: e["records"] for e in manifest["sources"]}
    out = tmp_path_factory.mktemp("interim")
    results = ingest_all(catalogue, kinds, tiny_city.raw, out, declared, progress=False)
    return Ingested(out=out, results={r.source_id: r for r in results})


@pytest.fixture(scope="session")
def tiny_entities(tiny_ingest, tmp_path_factory) -> Path:
    """The tiny city resolved once per session: entities, crosswalk, conflicts, events."""
    from riskdraw.entities.resolve import resolve

    out = tmp_path_factory.mktemp("entities")
    resolve(tiny_ingest.out, out, load_section("resolve", PARAMS))
    return out


@dataclass(frozen=True)
class Profiled:
    path: Path
    frame: object  # pandas.DataFrame
    attributes: list
    snapshots: object  # pandas.DataFrame


@pytest.fixture(scope="session")
def tiny_profile(tiny_entities, tmp_path_factory) -> Profiled:
    """The tiny city's profile at every round and the screening date, built once per session."""
    import pandas as pd

    from riskdraw.features.profile import connect, snapshots, write_profile

    settings = load_section("profile", PARAMS)
    con = connect(settings.memory_limit, 1)
    snaps = snapshots(con, tiny_entities / "events", settings.screening_date)
    path = tmp_path_factory.mktemp("features") / "profile.parquet"
    attrs = write_profile(
        con, tiny_entities / "events", tiny_entities / "entities.parquet", snaps, path,
        progress=False,
    )  # fmt: skip
    return Profiled(path=path, frame=pd.read_parquet(path), attributes=attrs, snapshots=snaps)


def profile_folder(frame, path: Path) -> Path:
    """Write profile rows as the profile stage leaves them (a folder with its completion
    manifest), for tests that hand a doctored profile to a later stage."""
    from riskdraw.outputs import staged_folder, write_completion

    with staged_folder(path) as work:
        frame.to_parquet(work / "as_of=all.parquet")
        write_completion(work, "profile", {}, counts={"rows": len(frame)})
    return path


def run_notebook(notebook: Path, out_dir: Path, parameters: dict, timeout: int = 180) -> list:
    """Execute a notebook headless with papermill, from its own folder, as `make test` does;
    return the executed cells (a failing cell raises papermill's PapermillExecutionError)."""
    import nbformat
    import papermill as pm

    out = out_dir / notebook.name
    pm.execute_notebook(
        notebook, out, parameters=parameters, kernel_name="python3", cwd=str(notebook.parent),
        progress_bar=False, execution_timeout=timeout,
    )  # fmt: skip
    return nbformat.read(out, as_version=4).cells


def assert_committed_clean(notebook: Path) -> None:
    """A committed notebook holds no outputs and opens with its papermill parameters cell."""
    import nbformat

    code = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])


def printed(cells) -> str:
    """All the text an executed notebook's cells printed or displayed."""
    return "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in cells
        for o in c.get("outputs", [])
    )


def images(cells) -> int:
    """How many images an executed notebook's cells showed."""
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
