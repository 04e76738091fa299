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
    assert len(first) == 144  # 142 extracts, the inspector pool and the manifest
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


NAME_COLUMNS = (
    "企业名称",
    "当事人名称",
    "被投诉举报对象",
    "纳税人名称",
    "单位名称",
    "户名",
    "被执行人名称",
)
KEY_COLUMNS = {
    "credit_code": "统一社会信用代码",
    "registration_number": "注册号",
    "organisation_code": "组织机构代码",
}
DATE_PATTERNS = {
    "iso": r"^\d{4}-\d{2}-\d{2}$",
    "slash": r"^\d{4}/\d{1,2}/\d{1,2}$",
    "compact": r"^\d{8}$",
    "chinese": r"^\d{4}年\d{1,2}月\d{1,2}日$",
    "dot": r"^\d{4}\.\d{2}\.\d{2}$",
    "excel": r"^-?\d{1,5}$",
}
STREAMS = ("social_insurance", "medical_insurance", "utility")


class Tally:
    """Observed count and eligible count of each kind of mess, read from the extracts."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    def add(self, kind: str, hits, eligible) -> None:
        entry = self.counts.setdefault(kind, [0, 0])
        entry[0] += int(np.sum(hits & eligible))
        entry[1] += int(np.sum(eligible))

    def __getitem__(self, kind: str) -> tuple[int, int]:
        return tuple(self.counts[kind])


def _parse(values: pd.Series, style: str) -> pd.Series:
    """Dates written in `style` as datetimes; NaT where no calendar has them."""
    if style == "excel":
        serial = pd.to_numeric(values, errors="coerce")
        serial = serial.where((serial > 0) & (serial < 100_000))
        return pd.to_datetime(serial, unit="D", origin="1899-12-30")
    fmt = {
        "iso": "%Y-%m-%d",
        "slash": "%Y/%m/%d",
        "compact": "%Y%m%d",
        "chinese": "%Y年%m月%d日",
        "dot": "%Y.%m.%d",
    }[style]
    parsed = pd.to_datetime(values, format=fmt, errors="coerce")
    return parsed.where(parsed.dt.year > 1900)


def _yuan(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An amount column in whole yuan, whether the source writes 元, 万元, or text in 万."""
    header = next(c for c in frame.columns if c.startswith(f"{column}("))
    cells = frame[header].astype(str)
    wan = cells.str.contains("万").to_numpy() | header.endswith("(万元)")
    number = pd.to_numeric(cells.str.replace(r"万元?$", "", regex=True), errors="coerce")
    return np.round(number.to_numpy() * np.where(wan, 10_000, 1))


@pytest.fixture(scope="module")
def tally(tiny_city, extracts) -> Tally:
    """Every kind of mess, counted in the delivered files (truth only says which row is whom)."""
    entities = pd.read_parquet(tiny_city.truth / "entities.parquet")
    true_names = entities["name"].to_numpy()
    true_address = entities["address"].to_numpy()
    true_paid_in = np.round(entities["paid_in_capital"].to_numpy())
    t = Tally()
    for entry, frame, ident in extracts.values():
        if frame.empty:
            continue
        uid = ident["entity_uid"].to_numpy()
        copies = (
            ident["mess"].to_numpy() & (MESS_BITS["duplicate_exact"] | MESS_BITS["duplicate_near"])
        ) > 0
        original = ~copies
        key_col = KEY_COLUMNS.get(entry["key"])
        if key_col is not None:
            keys = frame[key_col].astype(str).str.strip()
            present = (keys != "").to_numpy()
            t.add("missing_key", ~present, original)
            t.add("fullwidth", keys.str.contains(r"[\uff01-\uff5e]").to_numpy(), original & present)
            if entry["key"] == "credit_code":
                valid = valid_uscc_mask(halfwidth_series(keys))
                t.add("invalid_check", ~valid, original & present)
        if entry["amount_unit"] == "yuan":
            # Per record: a record with several amounts counts once, whichever is in 万.
            amounts = frame[[c for c in frame.columns if c.endswith("(元)")]].astype(str)
            if amounts.shape[1]:
                t.add(
                    "amount_as_text",
                    amounts.apply(lambda c: c.str.contains("万")).any(axis=1).to_numpy(),
                    original & (amounts != "").any(axis=1).to_numpy(),
                )
        if entry["kind"] not in STREAMS:  # streams keep one name per account, not per row
            name = frame[next(c for c in frame.columns if c in NAME_COLUMNS)].to_numpy()
            changed = name != true_names[uid]
            t.add("name_changed", changed, original & (name != ""))
        if entry["kind"] == "annual_report":
            # Per record: an annual report echoes the address and the paid-in capital.
            paid_in = _yuan(frame, "实缴资本")
            conflict = (frame["企业通信地址"].to_numpy() != true_address[uid]) | (
                paid_in != true_paid_in[uid]
            )
            t.add("conflict", conflict, original)
        if entry["kind"] == "licence":
            t.add("conflict", frame["经营场所"].to_numpy() != true_address[uid], original)
        t.add("duplicate_exact", frame.duplicated().to_numpy(), np.ones(len(frame), bool))
        squeezed = frame.apply(lambda c: c.astype(str).str.replace(r"\s", "", regex=True))
        near = squeezed.duplicated().to_numpy() & ~frame.duplicated().to_numpy()
        t.add("duplicate_near", near, np.ones(len(frame), bool))
        dates = [c for c in frame.columns if c.endswith("日期")]
        if dates:
            first = halfwidth_series(frame[dates[0]].astype(str))
            own = first.str.match(DATE_PATTERNS[entry["date_style"]]).to_numpy()
            filled = (first != "").to_numpy()
            t.add("date_other_style", ~own, original & filled)
            bad = _parse(first, entry["date_style"]).isna().to_numpy()
            t.add("impossible_date", bad, original & filled & own)
    return t


def test_every_kind_of_mess_is_present_at_its_rate(tiny_city, tally):
    rates = tiny_city.params.mess
    for kind, (_, eligible) in tally.counts.items():
        assert eligible >= 5000, f"{kind}: only {eligible} records could show it"
    _within(*tally["invalid_check"], rates.invalid_check, "invalid check characters")
    _within(*tally["missing_key"], rates.missing_key, "missing keys")
    _within(*tally["fullwidth"], rates.fullwidth, "full-width keys")
    _within(*tally["amount_as_text"], rates.amount_as_text, "records with an amount in 万")
    _within(*tally["conflict"], rates.conflict, "records conflicting with the registry")
    _within(*tally["duplicate_exact"], rates.duplicate_exact, "exact duplicates")
    _within(*tally["duplicate_near"], rates.duplicate_near, "near duplicates")
    _within(*tally["date_other_style"], rates.date_style_mix, "dates in another style")
    _within(*tally["impossible_date"], rates.impossible_date, "impossible dates")
    # A name written otherwise than in the registry: a variant, a typo, or both.
    p_name = 1 - (1 - rates.name_variant) * (1 - rates.name_typo)
    _within(*tally["name_changed"], p_name, "names changed")


def test_dates_come_in_every_style(extracts):
    seen = set()
    for _, frame, _ in extracts.values():
        for column in [c for c in frame.columns if c.endswith("日期")]:
            col = frame[column].astype(str)
            seen |= {s for s, pattern in DATE_PATTERNS.items() if col.str.match(pattern).any()}
    assert seen == set(DATE_PATTERNS)


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
