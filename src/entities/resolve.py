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
from riskdraw.errors import DATA, UserError
from riskdraw.outputs import HandoffError, require_complete, staged_folder, write_completion

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


def _files(interim: Path, kind: str) -> str:
    """The kind's Parquet files as a DuckDB list literal (paths quoted, never pasted raw)."""
    return "[" + ", ".join(_sql_text(p) for p in sorted((interim / kind).glob("*.parquet"))) + "]"


def _sql_text(value: object) -> str:
    """A string as a DuckDB string literal: quotes doubled, so no path can end the literal."""
    return "'" + str(value).replace("'", "''") + "'"


class IntegrityError(UserError):
    """The crosswalk does not hold exactly one row per accepted record (exit status 3)."""

    exit_code = DATA


def _kinds(interim: Path) -> list[str]:
    return sorted(
        p.name
        for p in interim.iterdir()
        if p.is_dir() and p.name != "quarantine" and any((interim / p.name).glob("*.parquet"))
    )


def _key_views(con: duckdb.DuckDBPyConnection, interim: Path, kinds: list[str]) -> None:
    """`keyed_<kind>`: each record of a kind with the entity its keys give (rules 2-3).

    Views, not tables: every use streams the kind's files once against the small tables of
    codes (`ids`, `regno`), so no table of all records is ever built.
    """
    for kind in kinds:
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW keyed_{kind} AS
            SELECT k.*, '{kind}' AS kind,
                   coalesce(a.entity_id, b.entity_id, c.entity_id) AS key_entity,
                   CASE WHEN a.entity_id IS NOT NULL THEN 'credit_code'
                        WHEN b.entity_id IS NOT NULL THEN 'registration_number'
                        WHEN c.entity_id IS NOT NULL THEN 'organisation_code' END AS key_method
            FROM read_parquet({_files(interim, kind)}, union_by_name=true) k
            LEFT JOIN ids a ON k.credit_code = a.credit_code
            LEFT JOIN regno b ON k.credit_code IS NULL
                             AND k.registration_number = b.registration_number
            LEFT JOIN orgs c ON k.credit_code IS NULL AND k.registration_number IS NULL
                             AND k.organisation_code = c.organisation_code""")


def _linked_views(con: duckdb.DuckDBPyConnection, kinds: list[str]) -> None:
    """`linked_<kind>`: the keyed records, and the name links of the rest (rule 4)."""
    for kind in kinds:
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW linked_{kind} AS
            SELECT k.* EXCLUDE (key_entity, key_method),
                   coalesce(k.key_entity, n.entity_id) AS entity_id,
                   coalesce(k.key_method, n.method, 'unmatched') AS method,
                   CASE WHEN k.key_entity IS NOT NULL THEN 1.0 ELSE n.score END AS score
            FROM keyed_{kind} k LEFT JOIN named n
                 ON k.key_entity IS NULL AND k.name = n.name""")


def _union(kinds: list[str], view: str, columns: str) -> str:
    return " UNION ALL ".join(f"SELECT {columns} FROM {view}_{kind}" for kind in kinds)


def resolve(
    interim: Path, out: Path, params: ResolveParams, con: duckdb.DuckDBPyConnection | None = None
) -> Resolved:
    """Build `entities`, `crosswalk`, `conflicts` and `events/` in `out` from ingest's tables.

    `interim` must be ingest's complete output (its completion manifest checked); `out` is
    written beside itself and swapped in whole on success, with its own completion manifest.
    Every run asserts that the crosswalk holds exactly one row per accepted record.

    Raises:
        HandoffError: `interim` is missing, partial or stale, or `out` cannot be written.
        IntegrityError: the crosswalk is not one row per accepted record (nothing is written).
    """
    interim, out = Path(interim), Path(out)
    handed = require_complete(interim, "ingest", "resolve")
    accepted = sum(c.get("accepted", 0) for c in handed["counts"].values())
    with staged_folder(out, {"interim": interim}) as work:
        # Spill next to the outputs (never into the working directory), removed when done.
        settings = {
            "memory_limit": f"{params.memory_limit}B",
            "temp_directory": str(work / ".spill"),
        }
        if con is None:
            con = duckdb.connect(config=settings)
        else:
            for name, value in settings.items():
                con.execute(f"SET {name} = {_sql_text(value)}")  # names ours, values quoted
        result = _resolve(con, interim, work, params, accepted)
        shutil.rmtree(work / ".spill", ignore_errors=True)
        write_completion(
            work,
            "resolve",
            {"interim": interim},
            params.model_dump(mode="json"),
            {"entities": len(result.entities), "records": sum(result.crosswalk_counts.values()),
             "by_method": result.crosswalk_counts, "conflicts": result.conflicts},
        )  # fmt: skip
    return result


def _resolve(
    con: duckdb.DuckDBPyConnection,
    interim: Path,
    out: Path,
    params: ResolveParams,
    accepted: int,
) -> Resolved:
    (out / "events").mkdir(parents=True, exist_ok=True)
    kinds = _kinds(interim)
    if "registration" not in kinds:
        raise HandoffError(
            f"resolve: {interim} holds no accepted registration record: the registry every "
            "enterprise file is built on is missing; have the registration sources "
            "re-delivered and run ingest again",
            3,
        )

    # 1. Entities of the registry: one per credit code (the newest registration record wins).
    reg_files = _files(interim, "registration")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE registry AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (PARTITION BY credit_code ORDER BY known_on DESC,
                                         source_id, row) AS rn
            FROM read_parquet({reg_files}, union_by_name=true) WHERE credit_code IS NOT NULL)
        WHERE rn = 1""")
    # 2. Codes the registry lacks but other records carry: entities from the records.
    codes = " UNION ".join(
        f"SELECT credit_code FROM read_parquet({_files(interim, kind)}, union_by_name=true) "
        f"WHERE credit_code IS NOT NULL"
        for kind in kinds
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE codes AS
        SELECT credit_code, 'registry' AS origin FROM registry
        UNION ALL
        SELECT credit_code, 'records' FROM ({codes})
        WHERE credit_code NOT IN (SELECT credit_code FROM registry)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ids AS
        SELECT printf('E%08d', row_number() OVER (ORDER BY credit_code)) AS entity_id,
               credit_code, origin, substr(credit_code, 9, 9) AS organisation_code
        FROM codes""")
    # An organisation code links only when one entity has it (two credit codes may embed the
    # same one, e.g. a code and a corrupted copy of it): never one record to two entities.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE orgs AS
        SELECT entity_id, organisation_code FROM ids
        QUALIFY count(*) OVER (PARTITION BY organisation_code) = 1""")
    # 3. Deterministic links.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE regno AS
        SELECT r.registration_number, i.entity_id FROM registry r JOIN ids i USING (credit_code)
        WHERE r.registration_number IS NOT NULL
        QUALIFY count(*) OVER (PARTITION BY r.registration_number) = 1""")
    _key_views(con, interim, kinds)

    # 4. Names: learn each entity's names (the registry's, and the spellings its keyed records
    # give most often), then link the records no key links.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE name_counts AS
        SELECT key_entity AS entity_id, name, count(*) AS n, min(source_id) AS source_id,
               max(row) AS last_row
        FROM ({_union(kinds, "keyed", "key_entity, name, source_id, row")})
        WHERE key_entity IS NOT NULL AND name IS NOT NULL GROUP BY ALL""")
    known = con.execute(f"""
        SELECT i.entity_id, r.name FROM ids i JOIN registry r USING (credit_code)
        WHERE r.name IS NOT NULL
        UNION ALL
        SELECT entity_id, name FROM name_counts WHERE n >= 2
        QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY n DESC, name)
                <= {params.names_per_entity}
    """).df()
    linker = NameLinker(params.name_threshold, params.name_margin, params.block_prefix)
    linker.fit(known["name"], known["entity_id"])
    pending = con.execute(
        f"SELECT DISTINCT name FROM ({_union(kinds, 'keyed', 'key_entity, name')}) "
        "WHERE key_entity IS NULL"
    ).df()
    named = linker.transform(pending["name"])
    named.insert(0, "name", pending["name"].to_numpy())
    con.execute("CREATE OR REPLACE TEMP TABLE named AS SELECT * FROM named")
    _linked_views(con, kinds)

    crosswalk = _sql_text(out / "crosswalk.parquet")
    con.execute(
        f"COPY ({_union(kinds, 'linked', 'source_id, row, kind, entity_id, method, score')}) "
        f"TO {crosswalk} (FORMAT parquet)"
    )
    records = " UNION ALL ".join(
        f"SELECT source_id, row FROM read_parquet({_files(interim, kind)}, union_by_name=true)"
        for kind in kinds
    )
    _one_row_per_record(con, crosswalk, records, accepted)
    counts = dict(
        con.execute(f"SELECT method, count(*) FROM read_parquet({crosswalk}) GROUP BY method")
        .fetchall()
    )  # fmt: skip
    entities = _entities(con, kinds)
    entities.to_parquet(out / "entities.parquet", index=False)
    conflicts = _conflicts(con, kinds, entities)
    conflicts.to_parquet(out / "conflicts.parquet", index=False)
    for kind in kinds:
        # In the sources' order: sorting 175M records by entity would cost minutes at 1.3M
        # enterprises, and the profile aggregates by hash, not by order.
        con.execute(f"""
            COPY (SELECT entity_id, * EXCLUDE (entity_id, method, score, kind, credit_code,
                                               registration_number, organisation_code, name)
                  FROM linked_{kind} WHERE entity_id IS NOT NULL)
            TO {_sql_text(out / "events" / f"{kind}.parquet")} (FORMAT parquet)""")
    return Resolved(entities, {k: int(v) for k, v in counts.items()}, len(conflicts))


def _one_row_per_record(
    con: duckdb.DuckDBPyConnection, crosswalk: str, records: str, accepted: int
) -> None:
    """Assert the crosswalk holds exactly one row per accepted record (source_id, row).

    `records` is a query of ingest's tables (source_id, row); `accepted` the records ingest's
    completion manifest counts. The crosswalk is those tables LEFT JOINed to entities, so no
    record can drop out; a record linked twice adds a row. Per source, the crosswalk's rows and
    the sum of their row numbers must equal the tables', and the total ingest's count: a few
    aggregates, cheap at any size (a distinct count of 175 million records is not). Only on
    failure are the records linked more than once looked for.
    """
    (rows,) = con.execute(f"SELECT count(*) FROM read_parquet({crosswalk})").fetchone()
    differ = con.execute(f"""
        WITH c AS (SELECT source_id, count(*) AS n, sum(row) AS s FROM read_parquet({crosswalk})
                   GROUP BY source_id),
             r AS (SELECT source_id, count(*) AS n, sum(row) AS s FROM ({records})
                   GROUP BY source_id)
        SELECT source_id, c.n, r.n FROM c FULL JOIN r USING (source_id)
        WHERE c.n IS DISTINCT FROM r.n OR c.s IS DISTINCT FROM r.s
        ORDER BY source_id LIMIT 5""").fetchall()
    if rows == accepted and not differ:
        return
    twice = con.execute(f"""
        SELECT source_id, row, list(DISTINCT entity_id) FROM read_parquet({crosswalk})
        GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 5""").fetchall()
    raise IntegrityError(
        f"resolve: the crosswalk has {rows:,} rows for {accepted:,} records accepted by "
        f"ingest: it must hold exactly one row per accepted record; sources whose rows differ "
        f"(source, crosswalk rows, records): {differ}; records linked more than once "
        f"(source, row, entities): {twice}"
    )


def _entities(con: duckdb.DuckDBPyConnection, kinds: list[str]) -> pd.DataFrame:
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
    # Entities from records: the name their keyed records give most often.
    newest = (
        con.execute("""
        SELECT * FROM name_counts
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
        if kind not in kinds or attribute not in registry:
            continue
        latest = (
            con.execute(f"""
            SELECT entity_id, {field} AS value, source_id FROM linked_{kind}
            WHERE entity_id IS NOT NULL AND {field} IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY known_on DESC,
                                       source_id, row) = 1""")
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
    con: duckdb.DuckDBPyConnection, kinds: list[str], entities: pd.DataFrame
) -> pd.DataFrame:
    """Values other sources state that differ from the entity's chosen value (kept, not lost)."""
    columns = ["entity_id", "attribute", "value", "chosen", "source_id", "row"]
    con.register("chosen_values", entities)
    parts = []
    for kind, field, attribute in ECHOES:
        if kind not in kinds or attribute not in entities:
            continue
        if attribute == "paid_in_capital":  # amounts: equal within a relative 1e-6
            differs = f"NOT abs(k.{field} - e.{attribute}) <= 1e-8 + 1e-6 * abs(e.{attribute})"
        else:
            differs = f"CAST(k.{field} AS VARCHAR) <> CAST(e.{attribute} AS VARCHAR)"
        parts.append(f"""
            SELECT k.entity_id, '{attribute}' AS attribute, CAST(k.{field} AS VARCHAR) AS value,
                   CAST(e.{attribute} AS VARCHAR) AS chosen, k.source_id, k.row
            FROM linked_{kind} k JOIN chosen_values e USING (entity_id)
            WHERE k.{field} IS NOT NULL AND e.{attribute} IS NOT NULL AND {differs}""")
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = con.execute(" UNION ALL ".join(parts)).df()[columns]
    con.unregister("chosen_values")
    return frame


def resolve_report(result: Resolved) -> dict:
    """The `resolve` stage's report: entities, records, how many linked, by method, conflicts."""
    total = sum(result.crosswalk_counts.values())
    unlinked = result.crosswalk_counts.get("unmatched", 0) + result.crosswalk_counts.get(
        "name_ambiguous", 0
    )
    return {
        "entities": len(result.entities),
        "records": total,
        "linked": total - unlinked,
        "by_method": dict(sorted(result.crosswalk_counts.items())),
        "conflicts": result.conflicts,
    }
