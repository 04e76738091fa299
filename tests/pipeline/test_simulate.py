"""The simulated city: its extracts, its mess at the declared rates, and its truth kept apart."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskdraw.domain.codes import valid_uscc_mask
from riskdraw.domain.names import halfwidth_series
from riskdraw.simcity.mess import MESS_BITS
from tests.conftest import simulate_params

pytestmark = pytest.mark.pipeline


def read_extract(raw: Path, entry: dict) -> pd.DataFrame:
    """Every cell as text, as a naive reader of the delivered file sees it."""
    path = raw / entry["file"]
    fmt, enc = entry["format"], entry["encoding"]
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, encoding=enc, keep_default_na=False)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, dtype=False, encoding=enc).astype(str)
    if fmt == "xlsx":
        frame = pd.read_excel(path, dtype=object)
        return frame.map(
            lambda v: (
                ""
                if pd.isna(v)
                else str(int(v))
                if isinstance(v, float | int) and float(v).is_integer()
                else str(v)
            )
        )
    if fmt == "xml":
        if path.stat().st_size < 200:
            return pd.DataFrame()
        return pd.read_xml(path, xpath="//record", dtype=str, parser="lxml").fillna("")
    raise AssertionError(fmt)


@pytest.fixture(scope="module")
def manifest(tiny_city) -> dict:
    return json.loads((tiny_city.raw / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extracts(tiny_city, manifest) -> dict[str, tuple[dict, pd.DataFrame, pd.DataFrame]]:
    """source_id -> (manifest entry, delivered rows, identity truth) for every intact file."""
    cut = {
        t["source_id"]
        for t in json.loads((tiny_city.truth / "truncated.json").read_text())["truncated"]
    }
    out = {}
    for entry in manifest["sources"]:
        if entry["source_id"] in cut:
            continue
        frame = read_extract(tiny_city.raw, entry)
        ident = pd.read_parquet(tiny_city.truth / "identities" / f"{entry['source_id']}.parquet")
        out[entry["source_id"]] = (entry, frame, ident)
    return out


def _within(observed: int, total: int, rate: float, what: str) -> None:
    """Observed count is a binomial draw at `rate`: within 4.5 standard deviations (+2)."""
    expected = total * rate
    sd = np.sqrt(total * rate * (1 - rate))
    assert abs(observed - expected) <= 4.5 * sd + 2, (
        f"{what}: {observed} of {total} ({observed / max(total, 1):.4f}), declared {rate}"
    )


def test_the_city_has_every_kind_of_source(tiny_city, manifest):
    report = tiny_city.report
    assert report["sources"] == len(manifest["sources"]) == 142
    assert report["entities"] == 2000
    assert {"csv", "jsonl", "xlsx", "xml"} <= set(report["formats"])
    assert {"utf-8", "gbk"} <= set(report["encodings"])
    assert set(report["key_types"]) == {
        "credit_code",
        "registration_number",
        "organisation_code",
        "name",
    }
    assert {"chinese", "excel"} <= set(report["date_styles"]) and len(report["date_styles"]) >= 4
    kinds = set(report["records_by_kind"])
    for kind in (
        "registration",
        "registration_change",
        "licence",
        "annual_report",
        "abnormal_list",
        "dishonesty_list",
        "inspection",
        "penalty",
        "complaint",
        "lawsuit",
        "enforcement",
        "social_insurance",
        "tax_rating",
        "utility",
    ):
        assert kind in kinds and report["records_by_kind"][kind] > 0, kind
    assert sum(report["records_by_kind"].values()) == report["records"]
    for entry in manifest["sources"]:
        for field in ("department", "kind", "format", "encoding", "key", "records", "file"):
            assert field in entry
        assert (tiny_city.raw / entry["file"]).exists()
    # Slow formats stay with the small sources, as in real life.
    big = sorted(manifest["sources"], key=lambda e: -e["records"])[:20]
    assert all(e["format"] in ("csv", "jsonl") for e in big)


def test_extract_rows_match_manifest_and_identity_truth(extracts):
    for source_id, (entry, frame, ident) in extracts.items():
        assert len(frame) == entry["records"] == len(ident), source_id


def test_registry_credit_codes_are_valid_except_the_spoiled_ones(extracts):
    checked = 0
    for entry, frame, ident in extracts.values():
        if entry["kind"] != "registration" or entry["key"] != "credit_code":
            continue
        codes = halfwidth_series(frame["统一社会信用代码"]).str.strip()
        valid = valid_uscc_mask(codes)
        spoiled = (
            ident["mess"].to_numpy() & (MESS_BITS["invalid_check"] | MESS_BITS["missing_key"])
        ) > 0
        assert valid[~spoiled].all()
        assert not valid[spoiled].any()
        checked += len(frame)
    assert checked > 1000


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    from riskdraw.simcity.city import simulate_city

    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    params = simulate_params(entities=300)
    simulate_city(params, tmp_path / "a" / "raw", tmp_path / "a" / "truth", progress=False)
    simulate_city(params, tmp_path / "b" / "raw", tmp_path / "b" / "truth", progress=False)
    first = digest(tmp_path / "a" / "raw")
    assert len(first) == 143  # 142 extracts and the manifest
    assert first == digest(tmp_path / "b" / "raw")
    other = simulate_params(entities=300, seed=7)
    simulate_city(other, tmp_path / "c" / "raw", tmp_path / "c" / "truth", progress=False)
    assert digest(tmp_path / "c" / "raw") != first


def test_truth_never_inside_the_extracts(tiny_city, extracts):
    raw, truth = tiny_city.raw.resolve(), tiny_city.truth.resolve()
    assert not truth.is_relative_to(raw) and not raw.is_relative_to(truth)
    forbidden = re.compile(r"uid|conduct|p_full|p_known|violat|truth|latent", re.I)
    entities = pd.read_parquet(truth / "entities.parquet")
    conduct = {f"{v:.6f}" for v in entities["conduct"].head(200)}
    for entry, frame, _ in extracts.values():
        assert not [c for c in frame.columns if forbidden.search(c)], entry["source_id"]
        text = frame.head(200).to_csv(index=False)
        assert not any(c in text for c in conduct), entry["source_id"]
    manifest_text = (raw / "manifest.json").read_text(encoding="utf-8")
    assert "truth" not in manifest_text and "driver" not in manifest_text


def test_every_kind_of_mess_is_present_at_its_rate(tiny_city, extracts):
    rates = tiny_city.params.mess
    entities = pd.read_parquet(tiny_city.truth / "entities.parquet")
    true_names = entities["name"].to_numpy()
    counts = {
        k: [0, 0]
        for k in (
            "invalid_check",
            "missing_key",
            "fullwidth",
            "amount_as_text",
            "name_changed",
            "duplicate_exact",
            "date_other_style",
        )
    }
    for entry, frame, ident in extracts.values():
        if frame.empty:
            continue
        mess = ident["mess"].to_numpy()
        original = (mess & (MESS_BITS["duplicate_exact"] | MESS_BITS["duplicate_near"])) == 0
        if entry["key"] == "credit_code":
            keys = frame["统一社会信用代码"].astype(str)
            present = (keys.str.strip() != "").to_numpy()
            valid = valid_uscc_mask(halfwidth_series(keys).str.strip())
            counts["invalid_check"][0] += int((original & present & ~valid).sum())
            counts["invalid_check"][1] += int((original & present).sum())
        key_col = {
            "credit_code": "统一社会信用代码",
            "registration_number": "注册号",
            "organisation_code": "组织机构代码",
        }.get(entry["key"])
        if key_col is not None:
            keys = frame[key_col].astype(str).str.strip()
            counts["missing_key"][0] += int((original & (keys == "").to_numpy()).sum())
            counts["missing_key"][1] += int(original.sum())
            wide = keys.str.contains(r"[\uff01-\uff5e]").to_numpy()
            counts["fullwidth"][0] += int((original & wide).sum())
            counts["fullwidth"][1] += int((original & (keys != "").to_numpy()).sum())
        if entry["amount_unit"] == "yuan":
            amount_cols = [c for c in frame.columns if c.endswith("(元)")]
            if amount_cols:
                text = frame[amount_cols[0]].astype(str)
                filled = (text != "").to_numpy()
                counts["amount_as_text"][0] += int(
                    (original & text.str.contains("万").to_numpy()).sum()
                )
                counts["amount_as_text"][1] += int((original & filled).sum())
        name_col = next(
            c
            for c in frame.columns
            if c
            in (
                "企业名称",
                "当事人名称",
                "被投诉举报对象",
                "纳税人名称",
                "单位名称",
                "户名",
                "被执行人名称",
            )
        )
        changed = frame[name_col].to_numpy() != true_names[ident["entity_uid"].to_numpy()]
        counts["name_changed"][0] += int((original & changed).sum())
        counts["name_changed"][1] += int(original.sum())
        counts["duplicate_exact"][0] += int(frame.duplicated().sum())
        counts["duplicate_exact"][1] += int(original.sum())
    _within(*counts["invalid_check"], rates.invalid_check, "invalid check characters")
    _within(*counts["missing_key"], rates.missing_key, "missing keys")
    _within(*counts["fullwidth"], rates.fullwidth, "full-width keys")
    _within(*counts["amount_as_text"], rates.amount_as_text, "amounts written as 万")
    # A name is changed by a variant or a typo (or blanked when the name is the key).
    p_name = 1 - (1 - rates.name_variant) * (1 - rates.name_typo)
    assert counts["name_changed"][0] / counts["name_changed"][1] >= p_name * 0.9
    # Exact duplicates of rows: the declared copies (plus rare natural coincidences).
    assert (
        counts["duplicate_exact"][0] >= 0.8 * rates.duplicate_exact * counts["duplicate_exact"][1]
    )
    _within(
        int(counts["duplicate_exact"][0]),
        counts["duplicate_exact"][1],
        rates.duplicate_exact,
        "exact duplicates",
    )


def test_dates_come_in_many_styles_and_some_are_impossible(tiny_city, extracts):
    patterns = {
        "iso": r"^\d{4}-\d{2}-\d{2}$",
        "slash": r"^\d{4}/\d{1,2}/\d{1,2}$",
        "compact": r"^\d{8}$",
        "chinese": r"^\d{4}年\d{1,2}月\d{1,2}日$",
        "dot": r"^\d{4}\.\d{2}\.\d{2}$",
        "excel": r"^-?\d{1,5}$",
    }
    seen, other, total, impossible = set(), 0, 0, 0
    for entry, frame, ident in extracts.values():
        dates = [c for c in frame.columns if c.endswith("日期")]
        if not dates or frame.empty:
            continue
        col = halfwidth_series(frame[dates[-1]].astype(str))  # the last is never spoiled
        col = col[col != ""]
        own = col.str.match(patterns[entry["date_style"]])
        other += int((~own).sum())
        total += len(col)
        for style, pattern in patterns.items():
            if col.str.match(pattern).any():
                seen.add(style)
        mess = ident["mess"].to_numpy()
        impossible += int(((mess & MESS_BITS["impossible_date"]) > 0).sum())
    assert seen == set(patterns)
    rates = tiny_city.params.mess
    # "compact" and "excel" strings can look alike only for other lengths: rate holds closely.
    _within(other, total, rates.date_style_mix * 5 / 5, "dates in another style")
    assert impossible > 0


def test_one_file_arrives_truncated_mid_record(tiny_city, manifest):
    cut = json.loads((tiny_city.truth / "truncated.json").read_text())["truncated"]
    assert len(cut) == tiny_city.params.mess.truncated_files == 1
    entry = next(e for e in manifest["sources"] if e["source_id"] == cut[0]["source_id"])
    data = (tiny_city.raw / entry["file"]).read_bytes()
    assert not data.endswith(b"\n")
    assert len(data) == cut[0]["cut_at_byte"] < cut[0]["bytes_before"]


def test_random_draws_are_uniform_and_recorded_with_inclusion_probability(tiny_city, extracts):
    rows = [frame for entry, frame, _ in extracts.values() if entry["kind"] == "inspection"]
    insp = pd.concat(rows, ignore_index=True)
    prob = insp["入选概率"].astype(float)
    assert prob.between(0.04, 0.06).all()
    assert insp["检查人员执法证号"].str.count(";").eq(1).all()  # two inspectors per visit
    assert insp["检查结果"].str.contains("发现问题|无法联系|不配合").any()


def test_truth_has_both_probabilities_for_every_round_and_the_screening_date(tiny_city):
    truth = pd.read_parquet(tiny_city.truth / "probabilities.parquet")
    rounds = len(tiny_city.params.rounds)
    assert sorted(truth["round"].unique()) == list(range(0, rounds + 1))
    assert truth[["p_full", "p_known"]].stack().between(0, 1).all()
    for _, group in truth[truth["round"] > 0].groupby("round"):
        assert abs(group["p_known"].mean() - tiny_city.params.random_hit_rate) < 0.005
    drivers = json.loads((tiny_city.truth / "drivers.json").read_text())
    assert [d["name"] for d in drivers["drivers"]] == [d.name for d in tiny_city.params.drivers]
    assert all(d["family"] for d in drivers["drivers"])
