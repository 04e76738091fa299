"""The draw: unequal-probability sampling that anyone can re-run and check.

Before the draw the regulator publishes a **commitment**, the SHA-256 of a secret it keeps.
After that a **public value** is fixed that nobody controls (a lottery number, a randomness
beacon's output) and the draw's seed is derived from both: `seed = SHA-256(secret, public
value)`. The regulator could not pick a seed that suits it (the public value came after the
commitment) and nobody else could predict one (the secret was not known). Once the secret is
revealed, anyone holding the scores file and the params re-runs `draw` and must get the same
plan byte for byte (`riskdraw verify`).

The sample is **systematic sampling in a random order**: the enterprises are ordered by a
key derived from the seed and their entity id (so the order of the input rows does not matter),
their inclusion probabilities laid end to end, and every enterprise hit by one of the points
`u, u + 1, u + 2, ...` (`u` from the seed) is drawn. Each enterprise is then drawn with
exactly its inclusion probability, the number drawn is the sum of the probabilities rounded
down or up, and every estimate weighted by the inverse of the recorded probabilities
(Horvitz-Thompson) is unbiased. The randomness is SHA-256 alone, not a library's generator,
so a draw re-runs the same on any machine and any version years later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import numpy as np
import pandas as pd

SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh secret (64 hex characters) from the operating system's random source."""
    return secrets.token_hex(SECRET_BYTES)


def commitment(secret: str) -> str:
    """What is published before the draw: SHA-256 of the secret (hex)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_secret(secret: str, committed: str) -> bool:
    """Whether `secret` is the one `committed` was made from."""
    return hmac.compare_digest(commitment(secret), committed)


def derive_seed(secret: str, public_value: str) -> str:
    """The draw's seed from the revealed secret and the public value fixed after the commitment."""
    return hashlib.sha256(f"riskdraw-seed\0{secret}\0{public_value}".encode()).hexdigest()


def _uniform(seed: str, labels: list[str]) -> np.ndarray:
    """One number in [0, 1) per label, from SHA-256(seed, label): the same on any machine."""
    base = hashlib.sha256(f"{seed}\0".encode())  # the seed hashed once, its state copied

    def digest(label: str) -> bytes:
        h = base.copy()
        h.update(label.encode("utf-8"))
        return h.digest()

    blob = b"".join(map(digest, labels))
    first = np.frombuffer(blob, dtype=">u8")[::4]  # each digest's first 8 of its 32 bytes
    # Its first 7 bytes, big-endian: 56 bits, exact in a float64.
    out = (first >> np.uint64(8)).astype(np.float64) / 2**56
    return out


def draw(entity_ids: np.ndarray, inclusion: np.ndarray, seed: str) -> np.ndarray:
    """Which enterprises the draw takes (a boolean per enterprise, in the input order).

    Args:
        entity_ids: each enterprise's id (unique).
        inclusion: each enterprise's inclusion probability, in [0, 1].
        seed: the draw's seed (`derive_seed`).

    Raises:
        ValueError: ids repeated, or a probability outside [0, 1].
    """
    ids = np.asarray(entity_ids).astype(str)
    pi = np.asarray(inclusion, dtype=np.float64)
    if pd.Index(ids).has_duplicates:
        raise ValueError("draw: entity ids repeat: each enterprise may be drawn once")
    if len(pi) and (np.isnan(pi).any() or pi.min() < 0 or pi.max() > 1):
        raise ValueError("draw: inclusion probabilities must lie in [0, 1]")
    keys = _uniform(seed, list(ids))
    order = np.lexsort((ids, keys))  # the random order; ids break (vanishingly rare) ties
    ends = np.cumsum(pi[order])
    starts = np.r_[0.0, ends[:-1]]  # each one begins where the one before ends
    (start,) = _uniform(seed, ["\0start"])
    # Enterprise i is hit when a point start + k lies in [starts_i, ends_i): it is drawn when
    # the count of points up to its end exceeds the count up to its start.
    hits = np.floor(ends - start) > np.floor(starts - start)
    taken = np.zeros(len(ids), dtype=bool)
    taken[order] = hits
    return taken
