"""The simulated city's source catalogue, as its regulator would keep it."""

from __future__ import annotations

from riskdraw.config import SimulateParams
from riskdraw.governance.catalogue import Kinds, SourceCatalogue, SourceEntry

from .sources import build_sources

CITY = "佛山市 (simulated)"


def city_catalogue(params: SimulateParams, kinds: Kinds, version: int = 1) -> SourceCatalogue:
    """One catalogue entry per source the simulated city's departments deliver."""
    entries = []
    for source in build_sources(params):
        entries.append(
            SourceEntry(
                source_id=source.source_id,
                department=source.department,
                level=source.level,
                kind=source.kind,
                licence_domain=source.licence_domain,
                format=source.format,
                encoding=source.encoding,
                key=source.key,
                date_style=source.date_style,
                amount_unit=source.amount_unit,
                file=f"{source.folder}/{source.file_name}",
                owner=f"{source.department} 数据管理员",
                cadence=kinds.kinds[source.kind].cadence,
            )
        )
    return SourceCatalogue(city=CITY, version=version, sources=entries)
