"""The simulated bureau's inspector pool, delivered as one more source (`inspectors/pool.csv`).

The inspectors are the ones who made the city's past inspections (`rounds.inspector_pools`:
the same ids), each with the unit and district of their pool, qualifications drawn by the
`simulate.inspector_pool` shares (every district has at least a visit's team in each domain),
this round's availability and, for a few, a declared conflict with an enterprise of their
district. A stream of its own draws them, so the rest of
the city is the same with or without it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskdraw.domain.regions import DISTRICTS

from .activity import World
from .rounds import inspector_pools

POOL_FILE = "inspectors/pool.csv"


def inspector_pool(world: World) -> pd.DataFrame:
    """One row per inspector: inspector_id, unit, district_code, qualifications,
    available_visits, conflicts (the columns riskdraw.inspection.inspectors reads)."""
    p = world.params
    spec = p.inspector_pool
    rng = np.random.default_rng([p.seed, 104729])
    codes = world.text("entities", "credit_code").to_numpy(zero_copy_only=False)
    district_of = world.entities["district_code"].to_numpy()
    rows = []
    for code, ids in inspector_pools(rng, world).items():
        local = codes[district_of == code]
        unit = f"佛山市{DISTRICTS[code].name}市场监督管理局"
        holds = {d: rng.random(len(ids)) < share for d, share in spec.qualifications.items()}
        for held in holds.values():  # every bureau trains a team for every domain
            lacking = p.inspectors_per_visit - int(held.sum())
            if lacking > 0:
                held[rng.choice(np.flatnonzero(~held), min(lacking, int((~held).sum())),
                                replace=False)] = True  # fmt: skip
        for k, inspector in enumerate(ids):
            held = [d for d in spec.qualifications if holds[d][k]]
            available = rng.random() < spec.available_share
            visits = int(rng.integers(spec.visits[0], spec.visits[1] + 1)) if available else 0
            declared = rng.random() < spec.conflict_share and len(local)
            conflicts = rng.choice(local, min(2, len(local)), replace=False) if declared else []
            rows.append(
                {
                    "inspector_id": inspector,
                    "unit": unit,
                    "district_code": code,
                    "qualifications": ";".join(held),
                    "available_visits": visits,
                    "conflicts": ";".join(conflicts),
                }
            )
    return pd.DataFrame(rows)
