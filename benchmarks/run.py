"""Run the benchmarks and record them in BENCHMARKS.md, each with its command and machine.

Each benchmark runs the real command in a child process and samples the proportional memory
(PSS: shared pages split between the processes sharing them) of the whole process tree, so a
pool of forked workers is counted once, not once per worker.

    python -m benchmarks.run                       # every benchmark, default sizes
    python -m benchmarks.run --sizes 20000         # quick
    python -m benchmarks.run --repeat 3            # medians of three runs
    python -m benchmarks.run --only governance --only profile --workdir /scratch --keep
                                                   # keep the cities: a rerun skips simulate
    python -m benchmarks.run --only governance --sizes 1300000 --reference aafb8c5 \\
        --workdir /scratch --keep                  # ours against an earlier revision's code
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from benchmarks import alarms

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN = ROOT / "BENCHMARKS.md"
RISKDRAW = str(Path(sys.executable).with_name("riskdraw"))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _tree_pss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_full_info().pss
    return total


def measure(cmd: list[str], cwd: Path, env: dict | None = None, log: Path | None = None) -> dict:
    """Wall time and peak PSS of a command's whole process tree (sampled every 0.2 s); its
    standard error goes to `log` when given."""
    start = time.perf_counter()
    sink = log.open("w", encoding="utf-8") if log is not None else subprocess.PIPE
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=sink, text=True, env=env
    )
    ps = psutil.Process(proc.pid)
    peak, peak_at = 0, 0.0
    while proc.poll() is None:
        pss = _tree_pss(ps)
        if pss > peak:
            peak, peak_at = pss, time.perf_counter() - start
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if log is not None:
        sink.close()
    if proc.returncode != 0:
        said = log.read_text(encoding="utf-8") if log is not None else proc.stderr.read()
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{said}")
    print(
        f"  {cmd[1]}: {seconds:.1f} s, peak {peak / 2**30:.2f} GiB at {peak_at:.0f} s", flush=True
    )
    return {"seconds": seconds, "peak_gib": peak / 2**30}


def bench_simulate(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[dict]]:
    rows = []
    for n in sizes:
        runs = []
        for _ in range(repeat if n <= 200_000 else 1):
            out = workdir / f"city-{n}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [
                RISKDRAW,
                "simulate",
                "--entities",
                str(n),
                "--out",
                str(out / "raw"),
                "--truth",
                str(out / "truth"),
                "--report",
                str(out / "simulate.json"),
                "--no-progress",
                "--no-track",
            ]
            result = measure(cmd, ROOT)
            report = json.loads((out / "simulate.json").read_text())
            size = sum(p.stat().st_size for p in (out / "raw").rglob("*") if p.is_file())
            result.update(records=report["records"], raw_gib=size / 2**30)
            runs.append(result)
            shutil.rmtree(out, ignore_errors=True)
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_gib"] for r in runs)
        records = runs[0]["records"]
        rows.append(
            {
                "entities": n,
                "runs": len(runs),
                "seconds": seconds,
                "records": records,
                "records_per_s": records / seconds,
                "peak_gib": peak,
                "raw_gib": runs[0]["raw_gib"],
            }
        )
        print(
            f"simulate {n:>9,}: {seconds:7.1f} s, {records:>12,} records, "
            f"{records / seconds:>10,.0f} records/s, peak {peak:.2f} GiB",
            flush=True,
        )
    lines = [
        "| enterprises | runs | seconds (median) | records | records/s | peak memory (PSS) "
        "| extracts on disk | target (1.3M: < 15 min, < 8 GiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        target = ""
        if r["entities"] >= 1_300_000:
            ok = r["seconds"] < 900 and r["peak_gib"] < 8
            target = "met" if ok else "**missed**"
        lines.append(
            f"| {r['entities']:,} | {r['runs']} | {r['seconds']:.1f} | "
            f"{r['records']:,} | {r['records_per_s']:,.0f} | {r['peak_gib']:.2f} GiB "
            f"| {r['raw_gib']:.1f} GiB | {target} |"
        )
    command = (
        "riskdraw simulate --entities N --out DIR/raw --truth DIR/truth "
        "--report DIR/simulate.json --no-progress --no-track"
    )
    return command, lines


KEEP = False  # --keep: leave the simulated cities (and their outputs) in --workdir


def _city(workdir: Path, n: int) -> Path:
    """A simulated city of n enterprises in `workdir` (not timed); one already there is reused."""
    city = workdir / f"gov-{n}"
    if (city / "raw" / "manifest.json").exists() and (city / "truth").is_dir():
        return city
    shutil.rmtree(city, ignore_errors=True)
    subprocess.run(
        [
            RISKDRAW,
            "simulate",
            "--entities",
            str(n),
            "--out",
            str(city / "raw"),
            "--truth",
            str(city / "truth"),
            "--report",
            str(city / "simulate.json"),
            "--no-progress",
            "--no-track",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return city


REFERENCE: str | None = None  # --reference REV: the governance benchmark also times REV's code


def _reference_code(workdir: Path, rev: str) -> tuple[list[str], dict, Path]:
    """The `riskdraw` command of revision `rev` (a git worktree in `workdir`, run with this
    environment's interpreter and packages), the environment that makes it import that
    revision's `src/` as `riskdraw`, and the worktree to run it in (its own params and
    catalogue)."""
    tree = workdir / f"reference-{rev}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
    package = workdir / f"reference-{rev}-path"
    package.mkdir(exist_ok=True)
    link = package / "riskdraw"
    if not link.exists():
        link.symlink_to(tree / "src")
    env = os.environ | {"PYTHONPATH": str(package)}
    return [sys.executable, "-c", "from riskdraw.cli import app; app()"], env, tree


def _governance_run(
    command: list[str], city: Path, tag: str, env: dict | None = None, cwd: Path = ROOT
) -> tuple:
    interim, entities = city / f"interim{tag}", city / f"entities{tag}"
    for stage in (interim, entities):
        shutil.rmtree(stage, ignore_errors=True)
    ingest = measure(
        [*command, "ingest", "--raw", str(city / "raw"), "--out", str(interim),
         "--report", str(city / f"quality{tag}.json"), "--page", str(city / f"quality{tag}.html"),
         "--no-progress"],
        cwd, env,
    )  # fmt: skip
    resolve = measure(
        [*command, "resolve", "--interim", str(interim), "--out", str(entities),
         "--report", str(city / f"resolve{tag}.json")],
        cwd, env,
    )  # fmt: skip
    if tag:  # the reference's outputs are not the city's
        for stage in (interim, entities):
            shutil.rmtree(stage, ignore_errors=True)
    return ingest, resolve


def bench_governance(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """ingest + resolve on a simulated city of each size (the city itself is not timed); with
    `--reference REV`, the same commands of revision REV in the same run, before ours."""
    rows = []
    reference = _reference_code(workdir, REFERENCE) if REFERENCE else None
    for n in sizes:
        city = _city(workdir, n)
        runs, refs = [], []
        for _ in range(repeat if n <= 200_000 else 1):
            if reference:
                refs.append(_governance_run(reference[0], city, "-reference", *reference[1:]))
            runs.append(_governance_run([RISKDRAW], city, ""))
        quality = json.loads((city / "quality.json").read_text())
        if not KEEP:
            shutil.rmtree(city, ignore_errors=True)

        def summary(runs: list[tuple]) -> dict:
            return {
                "ingest": statistics.median(r[0]["seconds"] for r in runs),
                "resolve": statistics.median(r[1]["seconds"] for r in runs),
                "ingest_peak": max(r[0]["peak_gib"] for r in runs),
                "resolve_peak": max(r[1]["peak_gib"] for r in runs),
            }

        ours = summary(runs)
        total = ours["ingest"] + ours["resolve"]
        row = {
            "entities": n,
            "runs": len(runs),
            **ours,
            "records": quality["records_in"],
            "records_per_s": quality["records_in"] / total,
            "peak_gib": max(ours["ingest_peak"], ours["resolve_peak"]),
        }
        if refs:
            row["reference"] = summary(refs)
        rows.append(row)
        print(
            f"ingest+resolve {n:>9,}: {ours['ingest']:7.1f} s + {ours['resolve']:6.1f} s, "
            f"{row['records']:>12,} records, {row['records_per_s']:>10,.0f} records/s, "
            f"peak {row['peak_gib']:.2f} GiB",
            flush=True,
        )
    lines = [
        "| enterprises | runs | ingest s | resolve s | records in | records/s (both) "
        "| peak PSS ingest | peak PSS resolve | target (1.3M: < 20 min, < 12 GiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        target = ""
        if r["entities"] >= 1_300_000:
            ok = r["ingest"] + r["resolve"] < 1200 and r["peak_gib"] < 12
            target = "met" if ok else "**missed**"
        lines.append(
            f"| {r['entities']:,} | {r['runs']} | {r['ingest']:.1f} | "
            f"{r['resolve']:.1f} | {r['records']:,} | {r['records_per_s']:,.0f} | "
            f"{r['ingest_peak']:.2f} GiB | {r['resolve_peak']:.2f} GiB | {target} |"
        )
    if any("reference" in r for r in rows):
        lines += [
            "",
            f"Against the reference revision `{REFERENCE}`, run in the same benchmark run on "
            "the same city, just before ours (time and peak memory, ours / reference):",
            "",
            "| enterprises | reference ingest + resolve s | ours s | time ratio "
            "| reference peak PSS | ours peak PSS | memory ratio |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            ref = r["reference"]
            ref_total, our_total = ref["ingest"] + ref["resolve"], r["ingest"] + r["resolve"]
            ref_peak = max(ref["ingest_peak"], ref["resolve_peak"])
            lines.append(
                f"| {r['entities']:,} | {ref_total:.1f} | {our_total:.1f} | "
                f"{our_total / ref_total:.3f} | {ref_peak:.2f} GiB | {r['peak_gib']:.2f} GiB | "
                f"{r['peak_gib'] / ref_peak:.3f} |"
            )
    command = (
        "riskdraw ingest --raw DIR/raw --out DIR/interim ...; "
        "riskdraw resolve --interim DIR/interim --out DIR/entities ..."
    )
    return command, lines


SCAN = """
import glob, sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
for path in sorted(glob.glob(f"{sys.argv[1]}/*.parquet")):
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()]
    sums = ", ".join(f'sum(hash("{c}"))' for c in columns if c != "entity_id")
    con.execute(f"SELECT entity_id, count(*), {sums} FROM '{path}' GROUP BY entity_id").fetchall()
"""


def bench_profile(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """The profile at the screening date (and with every round at small sizes), beside one
    DuckDB pass over the same events (every column read, grouped by enterprise)."""
    rows = []
    for n in sizes:
        city = _city(workdir, n)
        if not (city / "entities" / "events").is_dir():
            raise RuntimeError(f"{city}/entities missing: run --only governance --keep first")
        runs = []
        for _ in range(repeat if n <= 200_000 else 1):
            scan = measure([sys.executable, "-c", SCAN, str(city / "entities" / "events")], ROOT)
            screening = measure(
                [
                    RISKDRAW,
                    "profile",
                    "--entities",
                    str(city / "entities"),
                    "--out",
                    str(city / "features" / "screening.parquet"),
                    "--report",
                    str(city / "profile-screening.json"),
                    "--page",
                    str(city / "attributes.md"),
                    "--screening-only",
                    "--no-progress",
                ],
                ROOT,
            )
            full = None
            if n <= 200_000:
                full = measure(
                    [
                        RISKDRAW,
                        "profile",
                        "--entities",
                        str(city / "entities"),
                        "--out",
                        str(city / "features" / "profile.parquet"),
                        "--report",
                        str(city / "profile.json"),
                        "--page",
                        str(city / "attributes.md"),
                        "--no-progress",
                    ],
                    ROOT,
                )
            runs.append((scan, screening, full))
        report = json.loads((city / "profile-screening.json").read_text())
        scan_s = statistics.median(r[0]["seconds"] for r in runs)
        screen_s = statistics.median(r[1]["seconds"] for r in runs)
        full_s = statistics.median(r[2]["seconds"] for r in runs) if runs[0][2] else None
        rows.append(
            {
                "entities": n,
                "runs": len(runs),
                "scan": scan_s,
                "screening": screen_s,
                "ratio": screen_s / scan_s,
                "rows": report["rows"],
                "attributes": report["attributes"],
                "peak": max(r[1]["peak_gib"] for r in runs),
                "full": full_s,
                "full_rows": json.loads((city / "profile.json").read_text())["rows"]
                if full_s
                else None,
            }
        )
        print(
            f"profile {n:>9,}: scan {scan_s:6.1f} s, screening snapshot {screen_s:6.1f} s "
            f"({screen_s / scan_s:.2f}x), peak {rows[-1]['peak']:.2f} GiB",
            flush=True,
        )
    lines = [
        "| enterprises | runs | events scan s | screening snapshot s | ratio | rows x attributes "
        "| peak memory (PSS) | every snapshot s | target (1.3M: < 5 min, < 2x scan) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        target = ""
        if r["entities"] >= 1_300_000:
            ok = r["screening"] < 300 and r["ratio"] < 2
            target = "met" if ok else "**missed**"
        full = f"{r['full']:.1f} ({r['full_rows']:,} rows)" if r["full"] else "—"
        lines.append(
            f"| {r['entities']:,} | {r['runs']} | {r['scan']:.1f} | {r['screening']:.1f} | "
            f"{r['ratio']:.2f} | {r['rows']:,} x {r['attributes']} | {r['peak']:.2f} GiB | "
            f"{full} | {target} |"
        )
    command = "riskdraw profile --entities DIR/entities --screening-only ..."
    return command, lines


def _fresh_store(store: Path) -> Path:
    """An empty folder whose MLflow store (SQLite) and artifacts the commands run next use."""
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    os.environ["RISKDRAW_ARTIFACTS"] = str(store / "mlruns")
    return store


def bench_model(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """The default city's 50 tuning trials and final training (a fresh study and MLflow store
    each run), on the profile and factors of the city the governance and profile benchmarks
    kept (the profile and selection are built first if missing, not timed)."""
    n = 20_000  # the default city: the target is set on it
    city = _city(workdir, n)
    profile = city / "features" / "profile.parquet"
    if not profile.exists():
        raise RuntimeError(f"{profile} missing: run --only governance --only profile --keep first")
    selection = city / "selection.json"
    if not selection.exists():
        subprocess.run(
            [RISKDRAW, "select", "--profile", str(profile), "--report", str(selection),
             "--scores", str(city / "selection-scores.csv"), "--plot",
             str(city / "selection.png"), "--no-track"],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    runs = []
    for i in range(repeat):
        store = _fresh_store(workdir / f"model-{i}")
        tune = measure(
            [RISKDRAW, "tune", "--profile", str(profile), "--selection", str(selection),
             "--report", str(store / "tuning.json"), "--storage", str(store / "optuna.db"),
             "--trials", "50"],
            ROOT,
        )  # fmt: skip
        train = measure(
            [RISKDRAW, "train", "--profile", str(profile), "--tuning", str(store / "tuning.json"),
             "--report", str(store / "train.json")],
            ROOT,
        )  # fmt: skip
        runs.append((tune, train, json.loads((store / "tuning.json").read_text())["trials"]))
    tune_s = statistics.median(r[0]["seconds"] for r in runs)
    train_s = statistics.median(r[1]["seconds"] for r in runs)
    total = tune_s + train_s
    trials = runs[0][2]
    print(f"model {n:,}: tune {tune_s:.1f} s + train {train_s:.1f} s = {total:.1f} s", flush=True)
    lines = [
        "| enterprises | runs | tune (50 trials + 5 baselines) s | train s | total s "
        "| trials complete / pruned | peak memory (PSS) | target (< 10 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {n:,} | {len(runs)} | {tune_s:.1f} | {train_s:.1f} | {total:.1f} | "
        f"{trials.get('complete', 0)} / {trials.get('pruned', 0)} | "
        f"{max(max(r[0]['peak_gib'], r[1]['peak_gib']) for r in runs):.2f} GiB | "
        f"{'met' if total < 600 else '**missed**'} |",
    ]
    return "riskdraw tune --trials 50 ... && riskdraw train ...", lines


def bench_chicago(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """Chicago's whole run (check, reproduce, select, 2 x 50 trials, train, evaluate) on its
    18,712 real inspections, with a fresh study and MLflow store each run; the figures of the
    last run beside the time."""
    runs = []
    for i in range(repeat):
        store = _fresh_store(workdir / f"chicago-{i}")
        runs.append(
            measure(
                [
                    RISKDRAW,
                    "chicago",
                    "--report",
                    str(store / "chicago.json"),
                    "--quarantine",
                    str(store / "quarantine.csv"),
                    "--scores",
                    str(store / "scores.csv"),
                    "--storage",
                    str(store / "optuna.db"),
                ],
                ROOT,
            )
        )
    r = json.loads((workdir / f"chicago-{repeat - 1}" / "chicago.json").read_text())
    seconds = statistics.median(x["seconds"] for x in runs)
    print(f"chicago: {seconds:.1f} s", flush=True)

    def days(key: str) -> str:
        return f"{r[key]['days_earlier']:.2f} / {r[key]['first_half_share']:.4f}"

    lines = [
        "| inspections | runs | seconds | peak memory (PSS) | city re-fitted, with inspector "
        "(published 7.44 / 0.6822) | riskdraw, with inspector | city re-fitted, without "
        "inspector (published 2.20 days) | riskdraw, without inspector |",
        "|---:|---:|---:|---:|---|---|---|---|",
        f"| {r['rows_accepted']:,} | {len(runs)} | {seconds:.1f} | "
        f"{max(x['peak_gib'] for x in runs):.2f} GiB | {days('city_with_inspector')} | "
        f"{days('riskdraw_with_inspector')} | {days('city_without_inspector')} | "
        f"{days('riskdraw_without_inspector')} |",
    ]
    return "riskdraw chicago", lines


BARE = """
import json, sys, time
import pyarrow.parquet as pq
from riskdraw.training.registry import load_version
model = load_version(sys.argv[2], sys.argv[3])
rows = pq.read_table(sys.argv[1], filters=[("snapshot", "=", "screening")]).to_pandas()
t = time.perf_counter()
model.model.calibrate(model.model.raw_score(rows))
scores = time.perf_counter() - t
t = time.perf_counter()
model.model.contributions(rows)
print(json.dumps({"rows": len(rows), "scores": scores, "contributions": time.perf_counter() - t}))
"""

POOL = """
import sys
from pathlib import Path
from riskdraw.config import load_section
from riskdraw.io import write_csv
from riskdraw.simcity.city import build_world
from riskdraw.simcity.inspectors import inspector_pool
params = load_section("simulate", "params.yaml", entities=int(sys.argv[2]))
world, _ = build_world(params)
write_csv(inspector_pool(world), Path(sys.argv[1]), index=False, encoding="utf-8")
"""


def _round_champion(workdir: Path) -> tuple[str, str]:
    """A copy of the model benchmark's MLflow store, its version made champion: (name, version)."""
    trained = workdir / "model-0" / "train.json"
    if not trained.exists():
        raise RuntimeError(
            f"{trained} missing: run --only model --keep first (it trains the model)"
        )
    store = workdir / "round-store"
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(workdir / "model-0", store)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    os.environ["RISKDRAW_ARTIFACTS"] = str(store / "mlruns")
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    report = json.loads(trained.read_text())
    MlflowClient().set_registered_model_alias(report["model_name"], "champion", report["version"])
    return report["model_name"], str(report["version"])


def bench_round(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """The one click from governed events to a drawn plan: the profile's screening snapshot,
    `screen` and `plan`, on each city the governance benchmark kept, with the default city's
    model (the model benchmark's, made champion; not timed); beside it the champion's bare
    scoring and TreeSHAP cost on the same snapshot."""
    name, version = _round_champion(workdir)
    rows = []
    for n in sizes:
        city = _city(workdir, n)
        if not (city / "entities" / "events").is_dir():
            raise RuntimeError(f"{city}/entities missing: run --only governance --keep first")
        pool = city / "raw" / "inspectors" / "pool.csv"
        if not pool.exists():  # a city simulated before the pool was delivered
            pool.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-c", POOL, str(pool), str(n)], cwd=ROOT, check=True,
                           capture_output=True)  # fmt: skip
        out = city / "round"
        runs = []
        for _ in range(repeat if n <= 200_000 else 1):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            snapshot = out / "screening.parquet"
            profile = measure(
                [RISKDRAW, "profile", "--entities", str(city / "entities"), "--out", str(snapshot),
                 "--report", str(out / "profile.json"), "--page", str(out / "attributes.md"),
                 "--screening-only", "--no-progress"],
                ROOT,
            )  # fmt: skip
            screen = measure(
                [RISKDRAW, "screen", "--profile", str(snapshot), "--entities",
                 str(city / "entities" / "entities.parquet"), "--out", str(out / "scores"),
                 "--report", str(out / "screen.json"), "--audit", str(out / "audit.jsonl")],
                ROOT,
            )  # fmt: skip
            plan = measure(
                [RISKDRAW, "plan", "--scores", str(out / "scores"), "--events",
                 str(city / "entities" / "events"), "--profile", str(snapshot), "--secret",
                 str(out / "draw.key"), "--pool", str(pool), "--out", str(out / "plans"),
                 "--report", str(out / "plan.json"), "--plot", str(out / "plan.png"),
                 "--audit", str(out / "audit.jsonl")],
                ROOT,
            )  # fmt: skip
            bare = subprocess.run(
                [sys.executable, "-c", BARE, str(snapshot), name, version], cwd=ROOT, check=True,
                capture_output=True, text=True,
            )  # fmt: skip
            runs.append((profile, screen, plan, json.loads(bare.stdout.strip().splitlines()[-1])))
        screened = json.loads((out / "screen.json").read_text())
        planned = json.loads((out / "plan.json").read_text())
        med = {k: statistics.median(r[i]["seconds"] for r in runs)
               for i, k in enumerate(("profile", "screen", "plan"))}  # fmt: skip
        bare_s = statistics.median(r[3]["scores"] + r[3]["contributions"] for r in runs)
        rows.append({"entities": n, "runs": len(runs), **med, "bare": bare_s,
                     "bare_scores": statistics.median(r[3]["scores"] for r in runs),
                     "open": screened["enterprises"], "explained": screened["explained"],
                     "visits": planned["visits"],
                     "peak": max(max(r[0]["peak_gib"], r[1]["peak_gib"], r[2]["peak_gib"])
                                 for r in runs)})  # fmt: skip
        r = rows[-1]
        print(f"round {n:>9,}: screening snapshot {r['profile']:.1f} s, screen {r['screen']:.1f} s"
              f" (bare {bare_s:.1f} s), plan {r['plan']:.1f} s", flush=True)  # fmt: skip
    lines = [
        "| enterprises | runs | open at the screening date | screening snapshot s | screen s "
        "(C, D explained) | champion's bare cost s (scores + TreeSHAP for all) | screen / bare "
        "| plan s (visits) | one click s | peak memory (PSS) | targets (1.3M: screen < 60 s, "
        "plan < 30 s, one click < 4 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        click = r["profile"] + r["screen"] + r["plan"]
        target = ""
        if r["entities"] >= 1_300_000:
            met = r["screen"] < 60 and r["plan"] < 30 and click < 240
            target = "met" if met else "**missed**"
        lines.append(
            f"| {r['entities']:,} | {r['runs']} | {r['open']:,} | {r['profile']:.1f} | "
            f"{r['screen']:.1f} ({r['explained']:,}) | {r['bare']:.1f} ({r['bare_scores']:.1f} + "
            f"{r['bare'] - r['bare_scores']:.1f}) | {r['screen'] / r['bare']:.2f} | "
            f"{r['plan']:.1f} ({r['visits']:,}) | {click:.1f} | {r['peak']:.2f} GiB | {target} |"
        )
    command = "riskdraw profile --screening-only ...; riskdraw screen ...; riskdraw plan ..."
    return command, lines


def _served(workdir: Path, city: Path, out: Path):
    """`riskdraw serve` on a city's screening snapshot with the round benchmark's champion, on a
    free loopback port: (process, url, seconds to ready)."""
    import yaml

    from benchmarks.service import free_port, wait_ready

    port = free_port()
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["serve"] |= {"max_rows": 200_000}
    params = out / "params.yaml"
    params.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = os.environ | {
        "RISKDRAW_TOKENS": f"bench:plan:{BENCH_TOKEN}",
        "BENTOML_HOME": str(out / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            RISKDRAW,
            "serve",
            "--port",
            str(port),
            "--profile",
            str(city / "round" / "screening.parquet"),
            "--entities",
            str(city / "entities" / "entities.parquet"),
            "--events",
            str(city / "entities" / "events"),
            "--out",
            str(out / "service"),
            "--audit",
            str(out / "audit.jsonl"),
            "--secret",
            str(out / "draw.key"),
            "--domains",
            str(ROOT / "catalogue" / "domains.yaml"),
            "--params",
            str(params),
        ],
        cwd=out,
        stdout=(out / "service.log").open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process, out / "service.log", seconds=600)
    return process, url, time.perf_counter() - started


def bench_service(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """The service over loopback, on each city's screening snapshot with the round benchmark's
    champion: 100,000-row batches over HTTP (a Parquet upload and JSON rows) against in-process
    scoring of the same rows; single-record latency; one-click screening through the endpoint;
    60 s of concurrent load; schemathesis for 120 s (the first city only)."""
    import httpx
    import pandas as pd

    from benchmarks.service import Kind, fuzz, load, stop
    from riskdraw.features.profile import screening_rows
    from riskdraw.training.registry import load_version
    from riskdraw.training.scoring import score

    name, version = _round_champion(workdir)
    model = load_version(name, version)
    headers = {"Authorization": f"Bearer {BENCH_TOKEN}"}
    rows_out, extra = [], []
    for i, n in enumerate(sizes):
        city = _city(workdir, n)
        snapshot = city / "round" / "screening.parquet"
        if not snapshot.exists():
            measure(
                [
                    RISKDRAW,
                    "profile",
                    "--entities",
                    str(city / "entities"),
                    "--out",
                    str(snapshot),
                    "--report",
                    str(city / "round" / "profile.json"),
                    "--page",
                    str(city / "round" / "attributes.md"),
                    "--screening-only",
                    "--no-progress",
                ],
                ROOT,
            )
        out = workdir / f"service-{n}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        frame = screening_rows(snapshot, "bench", model.factors)
        batch = pd.concat([frame] * -(-100_000 // len(frame)), ignore_index=True).head(100_000)
        batch = batch[["entity_id", *model.factors]]
        parquet = out / "batch.parquet"
        batch.to_parquet(parquet, index=False)
        records = [
            {k: (None if v != v else v) for k, v in r.items()}
            for r in batch[model.factors].to_dict(orient="records")
        ]
        process, url, ready = _served(workdir, city, out)
        try:
            inproc, upload, as_json = [], [], []
            with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
                for _ in range(repeat):
                    t = time.perf_counter()
                    score(model, batch)
                    inproc.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    answer = http.post(
                        "/score_file", files={"file": ("batch.parquet", parquet.read_bytes())}
                    )
                    upload.append(time.perf_counter() - t)
                    assert answer.status_code == 200, answer.text[:500]
                    t = time.perf_counter()
                    answer = http.post("/score", json={"rows": records})
                    as_json.append(time.perf_counter() - t)
                    assert answer.status_code == 200, answer.text[:500]
                single = []
                one = {"rows": records[:1]}
                for _ in range(50):  # warm
                    http.post("/score", json=one)
                for _ in range(1000):
                    t = time.perf_counter()
                    http.post("/score", json=one)
                    single.append((time.perf_counter() - t) * 1000)
                clicks = []
                for _ in range(repeat if n <= 200_000 else 1):
                    t = time.perf_counter()
                    task = http.post("/screen/submit", json={}).json()["task_id"]
                    while http.get("/screen/status", params={"task_id": task}).json()["status"] in (
                        "in_progress",
                        "pending",
                    ):
                        time.sleep(0.2)
                    found = http.get("/screen/get", params={"task_id": task}).json()
                    clicks.append(time.perf_counter() - t)
                    assert found["enterprises"] == len(frame), found
            if i == 0:
                mix = [
                    Kind("batch of 1,000 rows", "/score", {"rows": records[:1000]}, 0.2),
                    Kind("one row", "/score", {"rows": records[:1], "reasons": 3}, 0.6),
                    Kind(
                        "one enterprise",
                        "/score_enterprises",
                        {"entity_ids": frame["entity_id"].head(1).tolist()},
                        0.2,
                    ),
                ]
                loaded = load(url, BENCH_TOKEN, mix, seconds=60, clients=8)
                fuzzed = fuzz(url, BENCH_TOKEN, seconds=120, report=out / "schemathesis.txt")
                extra.append((n, loaded, fuzzed))
        finally:
            stop(process)
        med = statistics.median
        rows_out.append(
            {
                "n": n,
                "open": len(frame),
                "ready": ready,
                "inproc": med(inproc),
                "upload": med(upload),
                "json": med(as_json),
                "p50": float(np.percentile(single, 50)),
                "p99": float(np.percentile(single, 99)),
                "click": med(clicks),
                "runs": repeat,
            }
        )
        r = rows_out[-1]
        print(
            f"service {n:>9,}: 100k rows in-process {r['inproc']:.2f} s, Parquet upload "
            f"{r['upload']:.2f} s, JSON {r['json']:.2f} s; one row p50 {r['p50']:.1f} ms p99 "
            f"{r['p99']:.1f} ms; one click {r['click']:.1f} s",
            flush=True,
        )
    lines = [
        "| enterprises | open at the screening date | runs | service ready s | 100,000 rows in "
        "process s | over HTTP, Parquet upload s (rows/s, / in process) | over HTTP, JSON rows s "
        "(rows/s, / in process) | one row p50 / p99 ms | one-click screening through the "
        "endpoint s | targets (batch ≥ 0.5 of in process, p99 < 50 ms) |",
        "|---:|---:|---:|---:|---:|---|---|---|---:|---|",
    ]
    for r in rows_out:
        up, js = r["inproc"] / r["upload"], r["inproc"] / r["json"]
        met = "met" if max(up, js) >= 0.5 and r["p99"] < 50 else "**missed**"
        lines.append(
            f"| {r['n']:,} | {r['open']:,} | {r['runs']} | {r['ready']:.1f} | {r['inproc']:.2f} | "
            f"{r['upload']:.2f} ({100_000 / r['upload']:,.0f}, {up:.2f}) | {r['json']:.2f} "
            f"({100_000 / r['json']:,.0f}, {js:.2f}) | {r['p50']:.1f} / {r['p99']:.1f} | "
            f"{r['click']:.1f} | {met} |"
        )
    for n, loaded, fuzzed in extra:
        lines += [
            "",
            f"Load on the {n:,}-enterprise city: {loaded['clients']} clients for "
            f"{loaded['seconds']} s, {loaded['requests']:,} requests "
            f"({loaded['requests_per_second']:,} per second), {loaded['errors']} errors.",
            "",
            "| request | requests | errors | p50 ms | p95 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for kind, k in loaded["kinds"].items():
            lines.append(
                f"| {kind} | {k['requests']:,} | {k['errors']} | {k['p50_ms']} | "
                f"{k['p95_ms']} | {k['p99_ms']} |"
            )
        lines += [
            "",
            f"schemathesis for 120 s against /docs.json (not_a_server_error, "
            f"response_schema_conformance): {fuzzed['cases']:,} cases, "
            f"{'passed' if fuzzed['passed'] else '**failed**'}.",
        ]
    return "riskdraw serve ...; HTTP batch, single-record, one-click, load and fuzz", lines


BENCH_TOKEN = "bench-token-0123456789abcdef"


VALIDATED = """
import json, sys, tempfile, time
from pathlib import Path
import pyarrow.parquet as pq
from riskdraw.config import load_section
from riskdraw.monitoring.checks import tolerances
from riskdraw.monitoring.monitor import validated_snapshots
from riskdraw.monitoring.tracking import download_reference, validated_rounds
from riskdraw.training.reference import attribute_columns
name, version, profile = sys.argv[1], sys.argv[2], sys.argv[3]
settings = load_section("monitor", "params.yaml")
with tempfile.TemporaryDirectory() as tmp:
    reference = download_reference(name, version, Path(tmp))
first = sorted(Path(profile).glob("*.parquet"))[0]
present = set(pq.read_schema(first).names)
columns = [c for c in reference.columns if c in present]
start = time.perf_counter()
frame = validated_snapshots(profile, validated_rounds(name, version), columns,
                            settings.drift.family_sample_rows, settings.seed)
read = time.perf_counter() - start
attrs = [a for a in attribute_columns(frame) if a in reference.columns]
tolerances(reference, frame, attrs)
print(json.dumps({"seconds": time.perf_counter() - start, "read": read, "rows": len(frame)}))
"""


def _relabelled_rounds(screening: Path, dates: list[str], out: Path) -> Path:
    """A profile of the screening snapshot beside copies of it labelled as the given rounds
    (only to time what the monitor reads of a version's validated rounds in a city whose
    benchmark built no round snapshot)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if all((out / f"as_of={date}.parquet").is_file() for date in dates):
        return out  # made by an earlier run for the same rounds
    out.mkdir(parents=True, exist_ok=True)
    table = pq.read_table(screening)
    for date in dates:
        when = pa.array([dt.datetime.fromisoformat(date)] * len(table), pa.timestamp("us"))
        relabelled = table.set_column(table.schema.get_field_index("as_of_date"), "as_of_date",
                                      when)  # fmt: skip
        snapshot = pa.array(["round"] * len(table))
        relabelled = relabelled.set_column(relabelled.schema.get_field_index("snapshot"),
                                           "snapshot", snapshot)  # fmt: skip
        pq.write_table(relabelled, out / f"as_of={date}.parquet")
    return out


def bench_monitor(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """`riskdraw monitor` on each city's screening as the round benchmark left it (its scores
    and plan), with the round's results simulated and recorded first (not timed), every
    source's deliveries from the governance benchmark's ingest, and the round benchmark's
    champion (the default city's model, its reference stored with it). Where the profile
    benchmark built every snapshot (the champion's own city), the monitor reads the rounds
    the version was calibrated and judged on from it; elsewhere it has none to read, and
    reading as many rounds of the city's size and measuring their moves is timed apart."""
    name, version = _round_champion(workdir)
    from riskdraw.monitoring.tracking import validated_rounds

    dates = validated_rounds(name, version)
    rows = []
    for n in sizes:
        city = _city(workdir, n)
        done = city / "round"
        if not (done / "scores").is_dir() or not (city / "interim").is_dir():
            raise RuntimeError(f"{done} or {city}/interim missing: run --only round --keep first")
        out = city / "monitor"
        recorded = out / "recorded"
        if not (recorded / "results.parquet").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            for args in (
                ["simulate-results", "--plan", done / "plans", "--truth", city / "truth",
                 "--out", out / "delivered" / "results.csv"],
                ["record-results", "--results", out / "delivered" / "results.csv", "--plan",
                 done / "plans", "--out", recorded, "--report", out / "results.json"],
            ):  # fmt: skip
                subprocess.run([RISKDRAW, *map(str, args)], cwd=ROOT, check=True,
                               capture_output=True)  # fmt: skip
        full = city / "features" / "profile.parquet"
        profile = full if full.is_dir() else done / "screening.parquet"
        apart = None
        if profile != full:
            rounds = _relabelled_rounds(done / "screening.parquet", dates, out / "rounds.parquet")
            seconds_apart = []
            for _ in range(repeat):
                read = subprocess.run([sys.executable, "-c", VALIDATED, name, version,
                                       str(rounds)], cwd=ROOT, check=True, capture_output=True,
                                      text=True)  # fmt: skip
                seconds_apart.append(json.loads(read.stdout.strip().splitlines()[-1])["seconds"])
            apart = statistics.median(seconds_apart)
        runs = []
        for _ in range(repeat):  # a minute or two at 1.3M: every size gets its median
            for stale in ("drift", "workspace"):
                shutil.rmtree(out / stale, ignore_errors=True)
            log = out / "monitor.log"
            taken = measure(
                [RISKDRAW, "monitor", "--profile", str(profile),
                 "--scores", str(done / "scores"), "--results", str(recorded),
                 "--interim", str(city / "interim"), "--quality", str(city / "quality.json"),
                 "--out", str(out / "drift"), "--workspace", str(out / "workspace"),
                 "--no-fail"],
                ROOT, os.environ | {"COLUMNS": "200"}, log,
            )  # fmt: skip
            parts = {k: float(v) for k, v in re.findall(
                r"(deliveries|model report|families report): .*? in ([\d.]+) s",
                log.read_text(encoding="utf-8", errors="replace"))}  # fmt: skip
            runs.append((taken, parts))
        summary = json.loads((out / "drift" / "summary.json").read_text())
        seconds = statistics.median(r[0]["seconds"] for r in runs)
        part = {k: statistics.median(r[1].get(k, float("nan")) for r in runs)
                for k in ("deliveries", "model report", "families report")}  # fmt: skip
        rows.append({"entities": n, "runs": len(runs), "seconds": seconds, **part,
                     "apart": apart, "peak": max(r[0]["peak_gib"] for r in runs),
                     "summary": summary})  # fmt: skip
        print(f"monitor {n:>9,}: {seconds:.1f} s (deliveries {part['deliveries']:.1f} s, model "
              f"{part['model report']:.1f} s, families {part['families report']:.1f} s"
              f"{'' if apart is None else f'; {len(dates)} rounds apart {apart:.1f} s'})",
              flush=True)  # fmt: skip
    lines = [
        "| enterprises | runs | screened | results | sources | records delivered | validated "
        "rounds read | checks (failed, warned) | deliveries s | model report s | families "
        "report s | monitor s | peak memory (PSS) | target (1.3M: < 2 min) |",
        "|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        s, compared = r["summary"], r["summary"]["compared"]
        delivered = json.loads((_city(workdir, r["entities"]) / "quality.json").read_text())
        total = r["seconds"] + (r["apart"] or 0.0)
        target = ("met" if total < 120 else "**missed**") * (r["entities"] >= 1_300_000)
        read = (f"{len(compared['validated_rounds'])} (in the run)" if r["apart"] is None
                else f"none in the run; {len(dates)} apart: {r['apart']:.1f} s")  # fmt: skip
        failed = "; ".join(f"{f['group']}: {f['subject']}" for f in s["failed"])
        extra = "" if r["apart"] is None else f" (+ {r['apart']:.1f})"
        lines.append(
            f"| {r['entities']:,} | {r['runs']} | {compared['screened_enterprises']:,} | "
            f"{compared['results']:,} | {compared['sources']} | {delivered['records_in']:,} | "
            f"{read} | {s['checks']} ({len(s['failed'])}{': ' * bool(failed)}{failed}, "
            f"{len(s['warnings'])}) | {r['deliveries']:.1f} | {r['model report']:.1f} | "
            f"{r['families report']:.1f} | {r['seconds']:.1f}{extra} | "
            f"{r['peak']:.2f} GiB | {target} |"
        )
    command = "riskdraw monitor --profile ... --scores ... --results ... --interim ... --no-fail"
    return command, lines


ALARM_CITIES = ((2000, [11, 12, 13, 14, 15]), (20_000, [11, 12, 13]))
"""(enterprises, seeds) of the alarms benchmark: small cities, and the default city's size."""


def bench_alarms(sizes: list[int], repeat: int, workdir: Path) -> tuple[str, list[str]]:
    """False alarms of the monitor on cities without drift and the drift scenarios caught,
    over several seeds of two sizes (`benchmarks.alarms`; `--sizes` does not apply)."""
    out, commands = [], []
    for entities, seeds in ALARM_CITIES:
        folder = workdir / f"alarms-{entities}"
        found = alarms.measure(seeds, entities, folder)
        (folder / "alarms.json").write_text(json.dumps(found, indent=2, default=str))
        out += [f"**{entities:,} enterprises**", "", *alarms.lines(found), ""]
        commands.append(f"python -m benchmarks.alarms --seeds {' '.join(map(str, seeds))} "
                        f"--entities {entities} --workdir DIR")  # fmt: skip
    return "; ".join(commands), out[:-1]


BENCHES = {
    "simulate": bench_simulate,
    "governance": bench_governance,
    "profile": bench_profile,
    "model": bench_model,
    "round": bench_round,
    "service": bench_service,
    "chicago": bench_chicago,
    "monitor": bench_monitor,
    "alarms": bench_alarms,
}


def write_section(name: str, command: str, lines: list[str], note: str) -> None:
    """Replace (or add) the benchmark's section in BENCHMARKS.md."""
    text = (
        MARKDOWN.read_text(encoding="utf-8")
        if MARKDOWN.exists()
        else (
            "# Benchmarks\n\nWritten by `make bench` (`python -m benchmarks.run`); each section "
            "gives its command, machine and date. Memory is the peak proportional set size (PSS) "
            "of the whole process tree.\n"
        )
    )
    body = "\n".join(
        [
            f"<!-- bench:{name} -->",
            f"## {name}",
            "",
            f"- command: `{command}` (via `python -m benchmarks.run --only {name}`)",
            f"- machine: {machine()}",
            f"- date: {dt.date.today().isoformat()}",
            "",
            *lines,
            "",
            note,
            f"<!-- /bench:{name} -->",
        ]
    )
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    text = (
        pattern.sub(lambda _: body, text)
        if pattern.search(text)
        else (text.rstrip("\n") + "\n\n" + body + "\n")
    )
    MARKDOWN.write_text(text, encoding="utf-8")


NOTES = {
    "service": "Each figure is over loopback to `riskdraw serve` (BentoML, one worker, four "
    "threads) with the round benchmark's champion on the city's screening snapshot. A batch "
    "is 100,000 rows of the 12 factors (the snapshot repeated where the city is smaller), "
    "timed from the request to the whole answer; in process is the one scoring function on the "
    "same rows in the benchmark's own process. The one-click screening is submit, status polls "
    "every 0.2 s, and the answer (class counts, the riskiest with reasons, the files written). "
    "Single-record latency is 1,000 sequential requests after 50 to warm up. Medians of "
    "`--repeat` runs (one for the 1.3M city's screening). Needs the governance and model "
    "benchmarks' outputs (`--keep`).",
    "round": "The one click is the profile's screening snapshot from resolve's events, `screen` "
    "(every open enterprise scored and classed, the reasons of classes C and D) and `plan` "
    "(overrides, inclusion probabilities, the draw, two inspectors per visit, the frontier), "
    "each timed in its own process, start-up and MLflow loading included. The champion is the "
    "default city's model from the model benchmark (not timed); its bare cost is its "
    "`raw_score` + `calibrate` and `pred_contrib` on every open enterprise in one process. "
    "Needs the governance and model benchmarks' outputs (`--keep`).",
    "profile": "The scan is one DuckDB pass over every events file that reads every column "
    "and groups by enterprise (a count and a hash sum of each column), in its own process, in "
    "the same run. The screening snapshot "
    "is every enterprise open at the screening date; at small sizes the whole profile (every "
    "inspection round and the screening date) is timed too. Needs the governance benchmark's "
    "outputs (`--keep`).",
    "governance": "The city is simulated first (not timed; `--keep` reuses it). Records are "
    "every row the 142 sources deliver. Peak memory is each stage's own; text extracts are "
    "memory-mapped and the pages already read are handed back to the kernel as reading goes, "
    "so the page cache of an 11 GB extract is not held by the process.",
    "model": "Every run starts a fresh Optuna study and MLflow store (SQLite), so all 50 trials "
    "run; the tuning time includes the five baselines on the same validation folds and every "
    "trial's nested MLflow run; training includes logging and registering the model. Medians "
    "of `--repeat` runs. Needs the 20,000-enterprise city's profile (`--keep`).",
    "chicago": "Figures: mean days earlier a critical violation is found / share found in the "
    "first half of the test period (2014-09-02..2014-10-31), the work re-ordered by score. "
    "Each run starts a fresh Optuna study (50 trials each way) and MLflow store; `--sizes` does "
    "not apply (the city is what it is). Median of `--repeat` runs.",
    "monitor": "The monitor reads the city's screening snapshot, its scores and the round's "
    "results (simulated from the truth and recorded first, not timed), every source's "
    "deliveries in ingest's output (each kind scanned by DuckDB: volume, fields filled, "
    "amounts' quartiles and code lists per window), the champion's reference from MLflow and "
    "the profile's snapshots of the rounds the champion was calibrated and judged on (at most "
    "50,000 enterprises each); it writes three Evidently reports (HTML and JSON), the checks, "
    "the summary, an MLflow run and the workspace's snapshots, all timed, start-up included. "
    "The parts are its own log lines; every figure is the median of `--repeat` runs, the "
    "1.3M city's too. The champion is the default city's model (the round "
    "benchmark's): the 1.3M city is judged against another city's reference and holds no "
    "snapshot of the champion's rounds (its profile benchmark built the screening only), so "
    "reading as many rounds of its size (copies of its snapshot, relabelled) and measuring "
    "how far they moved (`checks.tolerances`) is timed apart and added for the target; "
    "without those rounds nothing tolerates the seasonal "
    "drift of annual reports' filing days (a June screening against a September round), "
    "which fails there, and its 65,598 results find 5 points more problems than the "
    "20,000-enterprise model expected in classes B and C. Needs the governance, profile and "
    "round benchmarks' outputs (`--keep`).",
    "alarms": alarms.NOTE,
    "simulate": "Sizes up to 200,000 are the median of `--repeat` runs; the 1.3M city runs once. "
    "Records are every row delivered by the 142 sources (monthly streams included).",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        choices=sorted(BENCHES),
        action="append",
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[20_000, 1_300_000],
        help="city sizes in enterprises (default: 20000 1300000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size up to 200,000")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the simulated cities and their outputs in --workdir (reused next time)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="scratch folder (default: a temporary folder, removed after)",
    )
    parser.add_argument(
        "--reference",
        metavar="REV",
        help="governance: also time git revision REV's code in the same run (a worktree in "
        "--workdir), and report ours / reference",
    )
    args = parser.parse_args()
    global KEEP, REFERENCE
    REFERENCE = args.reference
    # The profile benchmark reads the governance benchmark's outputs: keep them for it (the
    # temporary folder is still removed at the end unless --workdir is given).
    KEEP = args.keep or bool(
        {"profile", "model", "round", "service", "monitor"} & set(args.only or BENCHES)
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="riskdraw-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for name in args.only or list(BENCHES):  # in order: each may read the one before
            command, lines = BENCHES[name](args.sizes, args.repeat, workdir)
            write_section(name, command, lines, NOTES[name])
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"written: {MARKDOWN}")


if __name__ == "__main__":
    main()
