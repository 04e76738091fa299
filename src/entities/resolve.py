"""One enterprise, one file: link every accepted record to an entity.

Rules, in order (each link records its method and score in the crosswalk):

1. The registry (record kind `registration`) is authoritative: each registered credit code is
   one entity, known also by its registration number and its organisation code (positions
   9-17 of the credit code).
2. A record carrying a credit code links to that code's entity (`credit_code`). A valid code the
   registry lacks (its registration record was quarantined) becomes an entity of its own,
   attributed from the other sources (`credit_code`, entity origin `records`).
3. Otherwise its registration number (`registration_number`), otherwise its organisation code
   (`organisation_code`), through the registry.
4. Otherwise (name-only sources) its name, against each entity's names (the registry's, and
   the `names_per_entity` spellings its keyed records give most often, if given twice or more):
   the full normalised name or the core name (`entities.names.core_names`) exactly
   (`name_exact`), else the nearest core name in its block if near enough and clearly nearer
   than any other entity's (`name_fuzzy`, score = similarity). Names shared by several entities
   are never linked (`name_ambiguous`); the rest stay `unmatched`, kept and counted.

Entities carry their best-known attributes, each with the source it came from: the registry
first; where the registry is silent, the newest other record. Values of other sources that
disagree are kept in `conflicts`. Events are every accepted record keyed by `entity_id` only.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from riskdraw.config import ResolveParams

from .names import NameLinker

log = logging.getLogger(__name__)

KEYS = ("credit_code", "registration_number", "organisation_code")
REGISTRY_ATTRIBUTES = (
    "name",
    "entity_type",
    "industry_code",
    "address",
    "founded_on",
    "deregistered_on",
    "status",
    "subscribed_capital",
    "paid_in_capital",
    "legal_rep_name",
    "legal_rep_id",
    "authority",
)
# Attributes other sources also state: (kind, field in that kind, entity attribute).
ECHOES = (
    ("annual_report", "address", "address"),
    ("annual_report", "paid_in_capital", "paid_in_capital"),
    ("licence", "premises", "address"),
    ("penalty", "legal_rep_name", "legal_rep_name"),
)


@dataclass
class Resolved:
    entities: pd.DataFrame
    crosswalk_counts: dict[str, int]
    conflicts: int


def _files(interim: Path, kind: str) -> list[str]:
    return sorted(str(p) for p in (interim / kind).glob("*.parquet"))


def _kinds(interim: Path) -> list[str]:
    return sorted(p.name for p in interim.iterdir() if p.is_dir() and p.name != "quarantine")


def _records_sql(interim: Path) -> str:
    """Every accepted record's identity columns, all kinds together."""
    parts = []
    for kind in _kinds(interim):
        files = _files(interim, kind)
        if not files:
            continue
        parts.append(
            f"SELECT source_id, row, '{kind}' AS kind, credit_code, registration_number, "
            f"organisation_code, name, known_on FROM read_parquet({files!r}, union_by_name=true)"
        )
    return " UNION ALL ".join(parts)


def resolve(
    interim: Path, out: Path, params: ResolveParams, con: duckdb.DuckDBPyConnection | None = None
) -> Resolved:
    """Build `entities`, `crosswalk`, `conflicts` and `events/` in `out` from ingest's tables."""
    interim, out = Path(interim), Path(out)
    (out / "events").mkdir(parents=True, exist_ok=True)
    con = con or duckdb.connect()
    con.execute(f"SET memory_limit='{params.memory_limit}'")
    # Spill next to the outputs (never into the working directory), removed when done.
    spill = out / ".spill"
    con.execute(f"SET temp_directory='{spill}'")
    con.execute(f"CREATE OR REPLACE TEMP TABLE recs AS {_records_sql(interim)}")

    # 1. Entities of the registry: one per credit code (the newest registration record wins).
    reg_files = _files(interim, "registration")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE registry AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (PARTITION BY credit_code ORDER BY known_on DESC,
                                         source_id, row) AS rn
            FROM read_parquet({reg_files!r}, union_by_name=true) WHERE credit_code IS NOT NULL)
        WHERE rn = 1""")
    # 2. Codes the registry lacks but other records carry: entities from the records.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE codes AS
        SELECT credit_code, 'registry' AS origin FROM registry
        UNION ALL
        SELECT DISTINCT credit_code, 'records' FROM recs
        WHERE credit_code IS NOT NULL AND credit_code NOT IN (SELECT credit_code FROM registry)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ids AS
        SELECT printf('E%08d', row_number() OVER (ORDER BY credit_code)) AS entity_id,
               credit_code, origin, substr(credit_code, 9, 9) AS organisation_code
        FROM codes""")
    # 3. Deterministic links.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE regno AS
        SELECT r.registration_number, i.entity_id FROM registry r JOIN ids i USING (credit_code)
        WHERE r.registration_number IS NOT NULL
        QUALIFY count(*) OVER (PARTITION BY r.registration_number) = 1""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE links AS
        SELECT r.source_id, r.row, r.kind, r.name,
               coalesce(a.entity_id, b.entity_id, c.entity_id) AS entity_id,
               CASE WHEN a.entity_id IS NOT NULL THEN 'credit_code'
                    WHEN b.entity_id IS NOT NULL THEN 'registration_number'
                    WHEN c.entity_id IS NOT NULL THEN 'organisation_code' END AS method,
               CASE WHEN coalesce(a.entity_id, b.entity_id, c.entity_id) IS NOT NULL
                    THEN 1.0 END AS score
        FROM recs r
        LEFT JOIN ids a ON r.credit_code = a.credit_code
        LEFT JOIN regno b ON r.credit_code IS NULL AND r.registration_number = b.registration_number
        LEFT JOIN ids c ON r.credit_code IS NULL AND r.registration_number IS NULL
                         AND r.organisation_code = c.organisation_code""")

    # 4. Names: learn each entity's name (the registry's; for an entity from records, the
    # name its records give most often), then link the name-only records.
    known = con.execute(f"""
        SELECT i.entity_id, r.name FROM ids i JOIN registry r USING (credit_code)
        WHERE r.name IS NOT NULL
        UNION ALL
        SELECT entity_id, name FROM (
            SELECT l.entity_id, l.name, count(*) AS n FROM links l
            WHERE l.entity_id IS NOT NULL AND l.name IS NOT NULL GROUP BY l.entity_id, l.name)
        WHERE n >= 2
        QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY n DESC, name)
                <= {params.names_per_entity}
    """).df()
    linker = NameLinker(params.name_threshold, params.name_margin, params.block_prefix)
    linker.fit(known["name"], known["entity_id"])
    pending = con.execute("SELECT DISTINCT name FROM links WHERE entity_id IS NULL").df()
    named = linker.transform(pending["name"])
    named.insert(0, "name", pending["name"].to_numpy())
    con.register("named", named)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE crosswalk AS
        SELECT l.source_id, l.row, l.kind, l.name,
               coalesce(l.entity_id, n.entity_id) AS entity_id,
               coalesce(l.method, n.method, 'unmatched') AS method,
               coalesce(l.score, n.score) AS score
        FROM links l LEFT JOIN named n ON l.entity_id IS NULL AND l.name = n.name""")
    con.unregister("named")
    con.execute(
        f"COPY (SELECT * EXCLUDE (name) FROM crosswalk) TO "
        f"'{out / 'crosswalk.parquet'}' (FORMAT parquet)"
    )

    entities = _entities(con, interim)
    entities.to_parquet(out / "entities.parquet", index=False)
    conflicts = _conflicts(con, interim, entities)
    conflicts.to_parquet(out / "conflicts.parquet", index=False)
    for kind in _kinds(interim):
        files = _files(interim, kind)
        if files:
            con.execute(f"""
                COPY (SELECT x.entity_id, k.* EXCLUDE (credit_code, registration_number,
                                                        organisation_code, name)
                      FROM read_parquet({files!r}, union_by_name=true) k
                      JOIN crosswalk x USING (source_id, row)
                      WHERE x.entity_id IS NOT NULL ORDER BY x.entity_id, k.occurred_on)
                TO '{out / "events" / f"{kind}.parquet"}' (FORMAT parquet)""")
    counts = dict(con.execute("SELECT method, count(*) FROM crosswalk GROUP BY method").fetchall())
    shutil.rmtree(spill, ignore_errors=True)
    return Resolved(entities, {k: int(v) for k, v in counts.items()}, len(conflicts))


def _entities(con: duckdb.DuckDBPyConnection, interim: Path) -> pd.DataFrame:
    """One row per entity: the registry's attributes, or the newest other records' values."""
    registry = con.execute(f"""
        SELECT i.entity_id, i.credit_code, i.origin, r.registration_number,
               i.organisation_code, {", ".join(f"r.{a}" for a in REGISTRY_ATTRIBUTES)},
               r.source_id AS registry_source
        FROM ids i LEFT JOIN registry r USING (credit_code) ORDER BY i.entity_id""").df()
    for attribute in REGISTRY_ATTRIBUTES:
        registry[f"{attribute}_source"] = np.where(
            registry[attribute].notna(), registry["registry_source"], None
        )
    # Entities from records: the name their records give most often.
    newest = (
        con.execute("""
        SELECT * FROM (
            SELECT entity_id, name, min(source_id) AS source_id, count(*) AS n,
                   max(row) AS last_row
            FROM crosswalk WHERE entity_id IS NOT NULL AND name IS NOT NULL
            GROUP BY entity_id, name)
        QUALIFY row_number() OVER (PARTITION BY entity_id
                                   ORDER BY n DESC, last_row DESC, source_id) = 1
    """)
        .df()
        .set_index("entity_id")
    )
    missing = registry["name"].isna()
    registry.loc[missing, "name"] = registry.loc[missing, "entity_id"].map(newest["name"])
    registry.loc[missing, "name_source"] = registry.loc[missing, "entity_id"].map(
        newest["source_id"]
    )
    for kind, field, attribute in ECHOES:
        files = _files(interim, kind)
        if not files or attribute not in registry:
            continue
        latest = (
            con.execute(f"""
            SELECT x.entity_id, k.{field} AS value, k.source_id FROM read_parquet({files!r},
                union_by_name=true) k JOIN crosswalk x USING (source_id, row)
            WHERE x.entity_id IS NOT NULL AND k.{field} IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY x.entity_id ORDER BY k.known_on DESC,
                                       k.source_id, k.row) = 1""")
            .df()
            .set_index("entity_id")
        )
        gap = registry[attribute].isna()
        registry.loc[gap, attribute] = registry.loc[gap, "entity_id"].map(latest["value"])
        registry.loc[gap, f"{attribute}_source"] = registry.loc[gap, "entity_id"].map(
            latest["source_id"]
        )
    district = registry["credit_code"].str.slice(2, 8)
    registry.insert(4, "district_code", district.where(district.str.match(r"^4406\d\d$")))
    return registry.drop(columns=["registry_source"])


def _conflicts(
    con: duckdb.DuckDBPyConnection, interim: Path, entities: pd.DataFrame
) -> pd.DataFrame:
    """Values other sources state that differ from the entity's chosen value (kept, not lost)."""
    frames = []
    chosen = entities.set_index("entity_id")
    for kind, field, attribute in ECHOES:
        files = _files(interim, kind)
        if not files or attribute not in chosen:
            continue
        other = con.execute(f"""
            SELECT x.entity_id, k.source_id, k.row, k.{field} AS value
            FROM read_parquet({files!r}, union_by_name=true) k JOIN crosswalk x
            USING (source_id, row) WHERE x.entity_id IS NOT NULL AND k.{field} IS NOT NULL
        """).df()
        mine = other["entity_id"].map(chosen[attribute])
        differs = mine.notna() & (other["value"].astype(str) != mine.astype(str))
        if attribute == "paid_in_capital":
            differs = mine.notna() & ~np.isclose(
                other["value"].astype(float), mine.astype(float), rtol=1e-6
            )
        lost = other[differs].assign(
            attribute=attribute,
            chosen=mine[differs].astype(str),
            value=lambda f: f["value"].astype(str),
        )
        frames.append(lost)
    if not frames:
        return pd.DataFrame(
            columns=["entity_id", "attribute", "value", "chosen", "source_id", "row"]
        )
    return pd.concat(frames, ignore_index=True)[
        ["entity_id", "attribute", "value", "chosen", "source_id", "row"]
    ]
