"""A mutation test over the tiny city: deliveries broken at random, the invariants kept.

Each round takes a few sources of every format (csv in utf-8 and gbk, jsonl, xlsx, xml; the
registry among them), applies random mutations to random sources (byte edits, truncation,
inserted bytes, duplicated or renamed headers, nesting, markup, oversize values, control
characters and personal IDs in keys, formula strings) and runs `ingest` and `resolve` as a
user would. Invariants: no traceback; the quality report written; every source's counts
reconcile with its declaration; the crosswalk holds exactly one row per accepted record; no
raw personal name or ID number of the simulator's truth in any output. Seeded and bounded:
the same rounds every run, a few seconds each.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import zipfile
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
ROUNDS = 10
SEED = 20261201
# (kind, format, encoding) of the sources each round draws its victims from.
PICKS = (
    ("registration", "csv", "utf-8"),
    ("registration", "csv", "gbk"),
    ("registration", "jsonl", "utf-8"),
    ("registration_change", "csv", "utf-8"),
    ("shareholder", None, None),
    ("licence", "xlsx", "utf-8"),
    ("dishonesty_list", "xml", "utf-8"),
    ("penalty", "xml", "utf-8"),
    ("complaint", None, None),
)


@pytest.fixture(scope="module")
def delivery(tiny_city, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-delivery")
    catalogue = city_catalogue(tiny_city.params, load_kinds(KINDS))
    chosen = []
    for kind, fmt, encoding in PICKS:
        source = next(
            s
            for s in catalogue.sources
            if s.kind == kind
            and (fmt is None or s.format == fmt)
            and (encoding is None or s.encoding == encoding)
            and s not in chosen
        )
        chosen.append(source)
    part_of_delivery(tiny_city, chosen, root)
    # Tolerate most failed sources, so that resolve runs after most rounds (a broken registry
    # still stops the run).
    params = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    params["ingest"]["max_failed_share"] = 0.75
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def personal(tiny_city) -> tuple[list[str], list[str]]:
    """The raw names (two characters or more) and ID numbers of every person of the truth."""
    persons = pd.read_parquet(tiny_city.truth / "persons.parquet")
    names = sorted({n for n in persons["name"] if isinstance(n, str) and len(n) >= 2})
    return names, sorted(set(persons["id_number"].dropna()))


# ---------------------------------------------------------------------------------------------
# mutations: each takes the file's bytes, its source entry and a random generator


def _text(data: bytes, source) -> str:
    return data.decode(source.encoding, errors="replace")


def _bytes(text: str, source) -> bytes:
    return text.encode(source.encoding, errors="replace")


def byte_edits(data, source, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def truncate(data, source, rng):
    return data[: rng.randrange(len(data))]


def insert_bytes(data, source, rng):
    at = rng.randrange(len(data))
    return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + data[at:]


def _columns(source) -> list[str]:
    spec = load_kinds(KINDS).kinds[source.kind]
    return [spec.name] + [f.column for f in spec.fields.values()]


def _swap_text(text: str, old: str, new: str, rng, count: int = 1) -> str:
    return text.replace(old, new, count) if old in text else text


def duplicate_header(data, source, rng):
    first, second = rng.sample(_columns(source), 2)
    text = _text(data, source)
    if source.format == "csv":
        head, _, body = text.partition("\n")
        return _bytes(head.replace(second, first, 1) + "\n" + body, source)
    return _bytes(_swap_text(text, f'"{second}"', f'"{first}"', rng, 2), source)


def rename_header(data, source, rng):
    column = rng.choice(_columns(source))
    return _bytes(_text(data, source).replace(column, column + "_新", 3), source)


def nest(data, source, rng):
    text = _text(data, source)
    if source.format == "jsonl":
        return _bytes(text.replace(':"', ":" + "[" * 3000 + '"', 1), source)
    if source.format == "xml":
        return _bytes(text.replace("</企业名称>", "<b>某</b></企业名称>", 5), source)
    return _bytes(text.replace(",", ',"a""b', 3), source)


def markup(data, source, rng):
    column = rng.choice(_columns(source))
    return _bytes(_text(data, source).replace(column, f"[/red][bold]{column}[link=x]", 2), source)


def oversize(data, source, rng):
    text = _text(data, source)
    at = text.find("\n", len(text) // 2) + 1
    line_end = text.find("\n", at)
    if at <= 0 or line_end < 0:
        return data + b"x" * 2_000_000
    line = text[at:line_end]
    return _bytes(text[:at] + line.replace("佛山", "佛" * 2_000_000, 1) + text[line_end:], source)


def control_in_key(data, source, rng):
    text = _text(data, source)
    marks = ["\x00", "\x07", "\u202e", "\x1b[31m", "\ufeff"]
    out, start = [], 0
    for _ in range(5):
        at = text.find("91440", start)
        if at < 0:
            break
        cut = at + rng.randint(1, 17)
        out.append(text[start:cut] + rng.choice(marks))
        start = cut
    return _bytes("".join(out) + text[start:], source)


def id_in_key(data, source, rng, ids=()):
    text = _text(data, source)
    at = text.find("91440")
    if at < 0 or not ids:
        return data
    return _bytes(text[:at] + rng.choice(ids) + text[at + 18 :], source)


def formula(data, source, rng):
    return _bytes(_text(data, source).replace("佛山市", '=HYPERLINK("http://x")佛山市', 4), source)


TEXT_MUTATIONS = (
    duplicate_header, rename_header, nest, markup, oversize, control_in_key, id_in_key, formula,
)  # fmt: skip
BYTE_MUTATIONS = (byte_edits, truncate, insert_bytes)


def mutate(path: Path, source, rng: random.Random, ids: list[str]) -> str:
    """Apply one random mutation to a source's file in place; returns its name."""
    data = path.read_bytes()
    if not data:
        return "empty"
    operator = rng.choice(TEXT_MUTATIONS + BYTE_MUTATIONS)
    kwargs = {"ids": ids} if operator is id_in_key else {}
    if source.format == "xlsx" and operator in TEXT_MUTATIONS:
        # Text mutations go into the workbook's sheet and shared strings, re-zipped.
        book = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
            for item in book.infolist():
                part = book.read(item.filename)
                if item.filename.startswith("xl/") and item.filename.endswith(".xml"):
                    part = operator(part, source.model_copy(update={"encoding": "utf-8"}), rng,
                                    **kwargs)  # fmt: skip
                new.writestr(item, part)
        path.write_bytes(out.getvalue())
    else:
        path.write_bytes(operator(data, source, rng, **kwargs))
    return operator.__name__


# ---------------------------------------------------------------------------------------------
# the invariants


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception),
        result.output,
    )
    return result


def string_values(folder: Path):
    """Every distinct string value of every Parquet file, JSON, HTML and CSV under `folder`."""
    for path in folder.rglob("*"):
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            for column in frame.columns:
                if frame[column].dtype == object:
                    yield path, set(frame[column].dropna().astype(str).unique())
        elif path.suffix in (".json", ".html", ".csv", ".md"):
            yield path, {path.read_text(encoding="utf-8", errors="replace")}


def leaks(folder: Path, names: list[str], ids: list[str]) -> list[str]:
    """Raw personal data found under `folder`: (file, value) of the first few offenders."""
    import re

    found = []
    id_pattern = re.compile("|".join(map(re.escape, ids)))
    name_set = set(names)
    for path, values in string_values(folder):
        for value in values:
            if value in name_set or id_pattern.search(value):
                found.append(f"{path.relative_to(folder)}: {value[:80]!r}")
                break
    return found[:10]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_random_breakage_keeps_every_invariant(delivery, personal, tmp_path, round_):
    rng = random.Random(SEED + round_)
    city = tmp_path / "city"
    shutil.copytree(delivery, city)
    sources = {s.source_id: s for s in _entries(city / "s.yaml")}
    victims = rng.sample(sorted(sources), rng.randint(1, 4))
    applied = {
        v: mutate(city / "raw" / sources[v].file, sources[v], rng, personal[1]) for v in victims
    }
    ingest = invoke(
        "ingest", "--raw", city / "raw", "--sources", city / "s.yaml", "--kinds", KINDS,
        "--out", city / "interim", "--report", city / "quality.json",
        "--page", city / "quality.html", "--params", city / "params.yaml", "--no-progress",
        "--no-track",
    )  # fmt: skip
    context = f"round {round_}: {applied}\n{ingest.output[-3000:]}"
    assert ingest.exit_code in (0, 3), context
    report = json.loads((city / "quality.json").read_text(encoding="utf-8"))
    declared = {
        e["source_id"]: e["records"]
        for e in json.loads((city / "raw" / "manifest.json").read_text())["sources"]
    }
    for s in report["per_source"]:
        assert s["reconciles"], (s["source_id"], context)
        assert s["records_declared"] == declared[s["source_id"]], context
        assert s["records_declared"] == (
            s["records_accepted"] + s["records_quarantined"] + s["records_undelivered"]
        ), (s, context)
    assert set(sources) == {s["source_id"] for s in report["per_source"]}
    if ingest.exit_code == 0:
        resolve = invoke(
            "resolve", "--interim", city / "interim", "--out", city / "entities",
            "--report", city / "resolve.json", "--params", city / "params.yaml", "--no-track",
        )  # fmt: skip
        assert resolve.exit_code in (0, 3), resolve.output
        if resolve.exit_code == 0:
            crosswalk = pd.read_parquet(city / "entities" / "crosswalk.parquet")
            assert len(crosswalk) == report["records_accepted"], context
            assert not crosswalk.duplicated(["source_id", "row"]).any(), context
    names, ids = personal
    offenders = []
    for folder in ("interim", "entities"):
        if (city / folder).exists():
            offenders += leaks(city / folder, names, ids)
    for name in ("quality.json", "quality.html", "resolve.json"):
        if (city / name).exists():
            text = (city / name).read_text(encoding="utf-8", errors="replace")
            offenders += [f"{name}: {i}" for i in ids if i in text][:3]
    assert not offenders, (offenders, applied)


def _entries(path: Path):
    from riskdraw.governance.catalogue import load_sources

    return load_sources(path, load_kinds(KINDS)).sources
