"""The audit log: every screening and every draw, appended, each entry chained to the last.

One JSON object per line. Each entry holds its sequence number, who ran it and when, what was
done, the hashes of its inputs and outputs, the model and data versions, and `prev`, the hash
of the entry before it; `hash` is the SHA-256 of the entry itself without `hash`. Editing an
entry breaks its own hash; deleting or reordering one breaks the next entry's `prev`; cutting
entries off the end is caught by comparing the head (the last hash) with one published or
kept elsewhere, which every plan report carries (`audit_head`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from riskdraw.errors import DATA, UserError

GENESIS = "0" * 64
"""The `prev` of the first entry."""


class AuditError(UserError):
    """The audit log is not the chain it should be (exit status 3)."""

    exit_code = DATA


def _digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def who() -> str:
    """Who is acting: `RISKDRAW_USER`, else the login name."""
    try:
        return os.environ.get("RISKDRAW_USER") or getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return f"uid {os.getuid()}"


def read(path: Path | str) -> list[dict]:
    """The log's entries, oldest first (none if there is no log yet).

    Raises:
        AuditError: a line that is not a JSON object (named by its line number).
    """
    path = Path(path)
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise AuditError(f"{path}: line {number} is not JSON: {error}") from None
        if not isinstance(entry, dict):
            raise AuditError(f"{path}: line {number} is not an entry (a JSON object)")
        entries.append(entry)
    return entries


def append(path: Path | str, action: str, actor: str | None = None, **details) -> dict:
    """Append one entry (after checking the chain so far) and return it.

    Args:
        path: the log file (made with its folder if missing).
        action: what was done (`screen`, `commit`, `plan`, `verify`, ...).
        actor: who did it, where that is not this process's user (`who`): the service's
            caller, by the name their token carries.
        details: what the entry records: inputs' hashes, model and data versions, counts
            (JSON values).

    Raises:
        AuditError: the log as it stands is broken (nothing is appended to a broken chain).
    """
    path = Path(path)
    entries = read(path)
    report = verify(entries)
    if not report.ok:
        raise AuditError(f"{path}: not appending to a broken chain: {report.problems[0]}")
    return _write(path, len(entries) + 1, report.head, action, actor, details)


def _write(path: Path, seq: int, prev: str, action: str, actor: str | None, details) -> dict:
    """Append the entry that follows `prev` as number `seq`, synced to disk; return it."""
    entry = {
        "seq": seq,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "who": actor or who(),
        "action": action,
        **details,
        "prev": prev,
    }
    entry["hash"] = _digest(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry


class Appender:
    """Appends to one log from a long-running process (the service), thread-safe.

    The chain is checked when it opens, and again whenever the file changed since its own last
    write (another process appended); otherwise it links to the head it wrote, so an append
    does not re-read a log that grows with every request.

    Raises:
        AuditError: (on opening, or on an append after another process wrote) a broken chain.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._load()

    def _size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def _load(self) -> None:
        report = verify(read(self.path))
        if not report.ok:
            raise AuditError(f"{self.path}: not appending to a broken chain: {report.problems[0]}")
        self._seq, self._head, self._at = report.entries, report.head, self._size()

    def append(self, action: str, actor: str | None = None, **details) -> dict:
        """Append one entry (as `append`) and return it."""
        with self._lock:
            if self._size() != self._at:
                self._load()
            entry = _write(self.path, self._seq + 1, self._head, action, actor, details)
            self._seq, self._head, self._at = entry["seq"], entry["hash"], self._size()
            return entry


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found: the entries read, the head hash, and every break (empty: intact)."""

    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(entries: list[dict], head: str | None = None) -> ChainReport:
    """Check the chain: sequence numbers, each entry's hash and each link to the one before.

    Args:
        entries: the log's entries (`read`).
        head: a head hash kept elsewhere (a plan report's `audit_head`): it must be in the chain
            (an entry cut off the end after it is then caught).
    """
    problems, prev = [], GENESIS
    hashes = set()
    for i, entry in enumerate(entries, start=1):
        seq = entry.get("seq")
        if seq != i:
            problems.append(
                f"entry {i}: sequence number {seq}, expected {i} (one deleted or moved)"
            )
        if entry.get("prev") != prev:
            problems.append(
                f"entry {i} ({entry.get('action')}): does not follow the entry before it"
            )
        if entry.get("hash") != _digest(entry):
            problems.append(f"entry {i} ({entry.get('action')}): edited (its hash does not match)")
        prev = entry.get("hash")
        hashes.add(prev)
    if head is not None and head not in hashes:
        problems.append(
            f"the head {head[:12]}... kept elsewhere is not in the log: entries removed"
        )
    return ChainReport(len(entries), prev if entries else GENESIS, problems)
