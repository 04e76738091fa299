"""No raw personal data downstream of ingest, on the tiny city: every output file is scanned.

The simulator's truth lists every natural person it made (legal representatives, shareholders,
the names registration changes quote) with their name and resident ID number. No string in
the interim tables, the quarantine, the entities, crosswalk, conflicts and events, the profile
or any report next to them may hold one of them: not as a value, not inside one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from riskdraw.governance.privacy import pseudonymise_personal

REPORTS = (".json", ".html", ".csv", ".md", ".txt")
ID_SHAPE = r"[0-9]{17}[0-9Xx]"
CHUNK = 400  # names per RE2 alternation


class Forbidden:
    """The raw names and ID numbers of the truth's persons, and a vectorised search for them.

    Names shorter than 2 characters are not searched. A name found inside an enterprise's
    registered name or address in the truth (the simulator's trade names and roads are drawn
    from characters that also make given names, e.g. 陈华 in 佛山市陈华贸易有限公司) cannot be
    told apart inside text, so it is searched as a whole value only; every other name is
    searched inside every string too. ID numbers are searched inside every string.
    """

    def __init__(self, truth: Path) -> None:
        persons = pd.read_parquet(truth / "persons.parquet")
        entities = pd.read_parquet(truth / "entities.parquet")
        self.ids = set(persons["id_number"].astype(str))
        names = {n for n in persons["name"].astype(str) if len(n) >= 2}
        benign = pa.array(pd.concat([entities["name"], entities["address"]]).astype(str))
        self.ambiguous = {n for n in names if _any_contains(benign, [n])}
        self.names = names
        self.inner_names = sorted(names - self.ambiguous)
        self.whole = pa.array(sorted(self.ids | names))

    def offenders(self, values: pa.Array) -> list[tuple[str, str]]:
        """(value, the raw personal string found in it) for the distinct values holding one."""
        values = pc.unique(values.drop_null())
        if not len(values):
            return []
        found = []
        exact = pc.is_in(values, value_set=self.whole).to_numpy(zero_copy_only=False)
        found += [(v, v) for v in values.filter(pa.array(exact)).to_pylist()]
        shaped = pc.match_substring_regex(values, ID_SHAPE).to_numpy(zero_copy_only=False)
        for value in values.filter(pa.array(shaped & ~exact)).to_pylist():
            found += [(value, m) for m in re.findall(ID_SHAPE, value) if m.upper() in self.ids]
        rest = values.filter(pa.array(~exact))
        for start in range(0, len(self.inner_names), CHUNK):
            chunk = self.inner_names[start : start + CHUNK]
            hit = _contains(rest, chunk)
            for value in rest.filter(pa.array(hit)).to_pylist():
                found += [(value, name) for name in chunk if name in value]
        return found


def _contains(values: pa.Array, needles: list[str]) -> np.ndarray:
    pattern = "|".join(re.escape(n) for n in needles)
    return pc.match_substring_regex(values, pattern).to_numpy(zero_copy_only=False)


def _any_contains(values: pa.Array, needles: list[str]) -> bool:
    return bool(_contains(values, needles).any())


def _string_columns(path: Path) -> Iterator[tuple[str, pa.Array]]:
    table = pq.read_table(path)
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.dictionary_decode(), kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            yield name, column.cast(pa.string())


def _outputs(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        if folder.is_file():
            yield folder
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and (path.suffix == ".parquet" or path.suffix in REPORTS):
                yield path


def test_no_raw_name_or_id_number_in_any_output(
    tiny_city, tiny_ingest, tiny_entities, tiny_profile
):
    forbidden = Forbidden(tiny_city.truth)
    assert len(forbidden.ids) > 1000 and len(forbidden.inner_names) > 500  # the scan has teeth
    # Every distinct string of every output, with the first place it was seen; then one scan.
    where: dict[str, str] = {}
    scanned = 0
    for path in _outputs(tiny_ingest.out, tiny_entities, tiny_profile.path):
        if path.suffix == ".parquet":
            columns = list(_string_columns(path))
        else:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            columns = [("<text>", pa.array(lines, type=pa.string()))]
        for column, values in columns:
            scanned += 1
            for value in pc.unique(values.drop_null()).to_pylist():
                where.setdefault(value, f"{path.relative_to(path.parents[1])}:{column}")
    assert scanned > 100
    found = forbidden.offenders(pa.array(list(where), type=pa.string()))
    offenders = [f"{where[value]}: {raw!r} in {value[:80]!r}" for value, raw in found]
    assert not offenders, f"{len(offenders)} raw personal values, e.g.:\n" + "\n".join(
        sorted(offenders)[:15]
    )


def test_the_scan_finds_names_and_ids_inside_text(tiny_city):
    forbidden = Forbidden(tiny_city.truth)
    name, number = forbidden.inner_names[0], sorted(forbidden.ids)[0]
    values = pa.array([f"备注：{name}先生", f"证件{number.lower()}号", "干净", None, name])
    found = forbidden.offenders(values)
    assert sorted(f for _, f in found) == sorted([name, name, number.lower()])


def test_one_person_has_one_pseudonym_and_enterprise_holders_keep_their_names(
    tiny_city, tiny_ingest
):
    persons = pd.read_parquet(tiny_city.truth / "persons.parquet")
    entities = pd.read_parquet(tiny_city.truth / "entities.parquet")
    holders = pd.read_parquet(tiny_city.truth / "shareholders.parquet")
    out = tiny_ingest.out
    registration = pd.concat(pd.read_parquet(p) for p in (out / "registration").glob("*.parquet"))
    shares = pd.concat(pd.read_parquet(p) for p in (out / "shareholder").glob("*.parquet"))
    natural = shares[shares["holder_type"] == "自然人股东"]
    enterprise = shares[shares["holder_type"] == "企业法人"]

    # Persons who represent one enterprise and hold shares in another (or the same).
    both = np.intersect1d(entities["legal_rep_uid"], holders["holder_person_uid"])
    person = persons.set_index("person_uid").loc[both]
    expected_id = pseudonymise_personal("person_id", person["id_number"])
    expected_name = pseudonymise_personal("person_name", person["name"])
    as_rep = registration.drop_duplicates("legal_rep_id").set_index("legal_rep_id")
    as_holder = natural.drop_duplicates("holder_id").set_index("holder_id")
    joined = [p for p in expected_id if p in as_rep.index and p in as_holder.index]
    assert len(both) > 50 and len(joined) > 0.8 * len(both)
    # The same pseudonym for the same person's name, as representative and as shareholder.
    names = pd.DataFrame(
        {
            "rep": as_rep.loc[joined, "legal_rep_name"],
            "holder": as_holder.loc[joined, "holder_name"],
        }
    )
    assert (names["rep"] == names["holder"]).all()
    assert set(names["rep"]) <= set(expected_name)

    # An enterprise holder's name and credit code are its own, in clear (joins on enterprises).
    assert len(enterprise) > 20
    assert enterprise["holder_name"].isin(entities["name"]).all()
    assert enterprise["holder_id"].isin(entities["credit_code"]).all()
