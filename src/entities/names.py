"""Enterprise names for matching: the core of a name, and a fuzzy linker over blocked candidates.

Departments that know an enterprise only by name write it their own way: with or without the
city and district, 有限公司 or 有限责任公司, a (佛山) inserted, spaces, or a mistyped character.
`core_names` removes what does not identify the enterprise; `NameLinker` links a name to the
enterprise whose core name is nearest, only when it is near enough and clearly nearer than the
next candidate.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from riskdraw.domain.names import normalise_names
from riskdraw.domain.regions import DISTRICTS

_AREA = "|".join(sorted({d.name for d in DISTRICTS.values()}, key=len, reverse=True))
# Leading province/city/district, in any combination, and the area inserted in brackets.
_PREFIX = re.compile(rf"^(广东省|广东)?(佛山市|佛山)?({_AREA})?")
_BRACKETED_AREA = re.compile(rf"\((广东|佛山|佛山市|{_AREA})\)")


def core_names(names: pd.Series) -> pd.Series:
    """Normalised names without the place words that departments add or drop.

    Rules: `domain.names.normalise_names` (NFKC, no spaces, one bracket style, one spelling of
    each legal form), then drop a leading 广东(省)/佛山(市)/district and any bracketed place
    such as (佛山). A name that would become empty keeps its normalised form.
    """
    normal = normalise_names(names.astype(object))
    codes, uniques = pd.factorize(normal)
    cores = []
    for name in uniques:
        core = _BRACKETED_AREA.sub("", _PREFIX.sub("", name))
        cores.append(core if len(core) >= 2 else name)
    table = np.array([*cores, np.nan], dtype=object)
    return pd.Series(table[codes], index=names.index, dtype=object)


def _blocks(core: pd.Series, prefix: int) -> pd.Series:
    return core.str.slice(0, prefix)


class NameLinker:
    """Links names to entities by their core names: exact first, then fuzzy within blocks.

    Parameters follow scikit-learn's contract: `__init__` stores them, `fit` learns the index
    of known names (`index_`), `transform` links new names.

    Args:
        threshold: the least similarity (0-1, rapidfuzz ratio) for a fuzzy link.
        margin: how much nearer the best candidate must be than the next other entity.
        prefix: characters of the core name that form a block; names are blocked twice, by
            their first `prefix` characters and by the `prefix` characters after those.
    """

    def __init__(self, threshold: float = 0.9, margin: float = 0.04, prefix: int = 2) -> None:
        self.threshold = threshold
        self.margin = margin
        self.prefix = prefix

    def fit(self, names: pd.Series, entity_ids: pd.Series) -> NameLinker:
        """Learn which entity each known name belongs to (ambiguous names are left out)."""
        full = (
            pd.DataFrame(
                {
                    "full": normalise_names(names.astype(object)).to_numpy(),
                    "entity_id": entity_ids.to_numpy(),
                }
            )
            .dropna()
            .drop_duplicates()
        )
        full_owners = full.groupby("full")["entity_id"].nunique()
        self.full_index_ = full[full["full"].map(full_owners) == 1].set_index("full")["entity_id"]
        frame = (
            pd.DataFrame({"core": core_names(names).to_numpy(), "entity_id": entity_ids.to_numpy()})
            .dropna()
            .drop_duplicates()
        )
        owners = frame.groupby("core")["entity_id"].nunique()
        unique = frame[frame["core"].map(owners) == 1]
        self.index_ = unique.set_index("core")["entity_id"]
        self.ambiguous_ = set(owners[owners > 1].index)
        cores = self.index_.index.to_series()
        self.head_blocks_ = cores.groupby(_blocks(cores, self.prefix)).apply(list).to_dict()
        # The second block key is the next characters of the trade name (never the legal form,
        # which most names share): one mistyped character breaks at most one of the two keys.
        following = cores.str.slice(self.prefix, 2 * self.prefix)
        self.next_blocks_ = cores.groupby(following).apply(list).to_dict()
        return self

    def transform(self, names: pd.Series) -> pd.DataFrame:
        """For each name: entity_id (None if unlinked), method and score."""
        if not hasattr(self, "index_"):
            raise RuntimeError("NameLinker is not fitted: call fit() first")
        # The full normalised name first: it keeps the district that tells apart enterprises
        # whose core names coincide (佛山市禅城区华美贸易 and 佛山市南海区华美贸易).
        full = normalise_names(names.astype(object)).map(self.full_index_)
        core = core_names(names)
        distinct = pd.Series(core.dropna().unique())
        entity = distinct.map(self.index_)
        method = np.where(entity.notna(), "name_exact", None).astype(object)
        score = np.where(entity.notna(), 1.0, np.nan)
        entity = entity.to_numpy(dtype=object)
        for i in np.flatnonzero(pd.isna(entity)):
            name = distinct.iat[i]
            if name in self.ambiguous_:
                method[i] = "name_ambiguous"
                continue
            # Only candidates that could decide the link: the best must reach `threshold`,
            # and a runner-up matters only within `margin` of it.
            cutoff = 100 * (self.threshold - self.margin)
            found: dict[str, float] = {}
            for block in (
                self.head_blocks_.get(name[: self.prefix], ()),
                self.next_blocks_.get(name[self.prefix : 2 * self.prefix], ()),
            ):
                for cand, sc, _ in process.extract(
                    name, block, scorer=fuzz.ratio, limit=8, score_cutoff=cutoff
                ):
                    found[cand] = sc
            if not found:
                continue
            ranked = sorted(found.items(), key=lambda item: -item[1])
            best, best_score = ranked[0]
            owner = self.index_[best]
            # The runner-up is the nearest name of another entity (one entity has many names).
            runner_up = next((sc for cand, sc in ranked[1:] if self.index_[cand] != owner), 0.0)
            if best_score / 100 >= self.threshold and (best_score - runner_up) / 100 >= self.margin:
                entity[i] = self.index_[best]
                method[i] = "name_fuzzy"
                score[i] = best_score / 100
        table = pd.DataFrame(
            {"core": distinct, "entity_id": entity, "method": method, "score": score}
        )
        out = pd.DataFrame({"core": core.to_numpy()}).merge(table, on="core", how="left")
        exact = full.notna().to_numpy()
        out.loc[exact, "entity_id"] = full.to_numpy()[exact]
        out.loc[exact, "method"] = "name_exact"
        out.loc[exact, "score"] = 1.0
        out["method"] = out["method"].fillna("unmatched")
        return out[["entity_id", "method", "score"]]
