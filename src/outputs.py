"""Stage outputs that are never destructive, and hand-offs that refuse partial or stale input.

Every stage that writes a folder (ingest, resolve, profile) writes it through `staged_folder`:

- the work goes into a fresh hidden folder beside the target, marked as riskdraw's
  (`MARKER`); on success it is swapped in, on failure removed, so a failed stage leaves the
  previous output intact and an output never mixes two runs (nothing of an old run, e.g.
  the events of a kind no longer delivered, survives);
- an output that is, contains or lies inside one of the stage's inputs is refused;
- an existing target is replaced only if riskdraw made it (it holds the marker) or it is
  empty: a command never deletes a folder it did not create.

Each such folder ends with a completion manifest (`COMPLETION`): the stage, its inputs and
their signatures, its params, its counts and every file it wrote with its size. The next
stage calls `require_complete`, which names what is missing (never made: exit status 2, run
the stage before), partial (files missing, cut or added) or stale (an input of the upstream
stage changed since it ran), the last two exit status 3. The manifest holds no clock time,
so that a stage re-run on the same inputs writes the same bytes (DVC sees no change).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskdraw.errors import UserError

MARKER = ".riskdraw-output"
"""The file that marks a folder as a riskdraw stage's output (safe for riskdraw to replace)."""

COMPLETION = "_complete.json"
"""The completion manifest a stage writes last into its output folder."""


class HandoffError(UserError):
    """An output that cannot be written where asked, or an input that is missing, partial or
    stale. `exit_code`: 2 for usage (a wrong path, a stage not run yet), 3 for data."""


def _inside(a: Path, b: Path) -> bool:
    """Whether `a` is `b` or lies inside it (both resolved)."""
    return a == b or b in a.parents


def check_disjoint(out: Path, inputs: dict[str, Path]) -> None:
    """Refuse an output that is, contains or lies inside one of the inputs.

    Args:
        out: the output folder or file.
        inputs: name (e.g. "--raw") -> path of every input of the stage.

    Raises:
        HandoffError: naming the output, the input and how they overlap (exit status 2).
    """
    target = Path(out).resolve()
    for name, path in inputs.items():
        source = Path(path).resolve()
        if _inside(target, source) or _inside(source, target):
            how = (
                "is"
                if target == source
                else ("lies inside" if _inside(target, source) else "contains")
            )
            raise HandoffError(
                f"the output {out} {how} the input {name} {path}: writing it would destroy "
                "the input; choose another output"
            )


def check_file_outputs(outputs: dict[str, Path], inputs: dict[str, Path]) -> None:
    """Before any work: refuse a file output that is a folder or overlaps an input.

    Args:
        outputs: name (e.g. "--report") -> path of each file the stage writes.
        inputs: name -> path of every input of the stage.

    Raises:
        HandoffError: naming the output and the rule (exit status 2).
    """
    for name, path in outputs.items():
        if Path(path).is_dir():
            raise HandoffError(f"the output {name} {path} is a folder; it must be a file path")
        check_disjoint(path, inputs)


def _replaceable(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise HandoffError(f"the output {target} exists and is not a folder; choose another")
    if target.is_dir() and not (target / MARKER).exists() and any(target.iterdir()):
        raise HandoffError(
            f"the output {target} is a folder riskdraw did not make (it has no {MARKER}); "
            "riskdraw never deletes what it did not create: empty or remove it yourself, "
            "or choose another output"
        )


@contextmanager
def staged_folder(target: Path | str, inputs: dict[str, Path] | None = None) -> Iterator[Path]:
    """Write a stage's output folder beside `target` and swap it in only on success.

    Args:
        target: the output folder.
        inputs: name -> path of the stage's inputs (the output must not overlap them).

    Yields:
        The fresh folder to write into (marked as riskdraw's).

    Raises:
        HandoffError: the output overlaps an input, is a file, or is a folder riskdraw did not
            make (before anything is written).
    """
    target = Path(target)
    check_disjoint(target, inputs or {})
    _replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    (work / MARKER).write_text("made by riskdraw; replaced whole by the next run\n")
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _swap(work, target)


def _swap(work: Path, target: Path) -> None:
    """Put `work` in the place of `target`; the old output (riskdraw's) is removed after."""
    if not target.exists():
        work.rename(target)
        return
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    target.rename(old)
    work.rename(target)
    if (old / MARKER).exists():
        shutil.rmtree(old)
    else:  # an empty folder that was there before
        old.rmdir()


def signature(path: Path | str) -> str | None:
    """A digest that changes when an input changes, cheap at any size, stable across copies.

    A stage's output is signed by its completion manifest without the files' sizes: what it
    was made from, with which params, and its counts (so a re-run on the same inputs signs the
    same, even where an engine lays its files out differently). A delivery is signed by its
    manifest.json and its files' names and sizes; any other folder by its files' names and
    sizes; a file by its content. None if the path does not exist.
    """
    path = Path(path)
    if not path.exists():
        return None
    digest = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    if (path / COMPLETION).is_file():
        try:
            made = json.loads((path / COMPLETION).read_text(encoding="utf-8"))
            made.pop("files")
        except (ValueError, KeyError, AttributeError):
            made = {"unreadable": (path / COMPLETION).read_text(errors="replace")}
        return hashlib.sha256(json.dumps(made, sort_keys=True).encode()).hexdigest()
    if (path / "manifest.json").is_file():
        digest.update(b"manifest.json" + (path / "manifest.json").read_bytes())
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = file.relative_to(path).as_posix()
        if relative != MARKER:
            digest.update(f"{relative}\0{file.stat().st_size}\n".encode())
    return digest.hexdigest()


def write_completion(
    folder: Path,
    stage: str,
    inputs: dict[str, Path],
    params: dict | None = None,
    counts: dict | None = None,
) -> dict:
    """Write the completion manifest of `folder`, last: the stage, its inputs' signatures,
    its params and counts, and every file written with its size. Returns the manifest."""
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in (MARKER, COMPLETION)
    }
    manifest = {
        "stage": stage,
        "inputs": {
            name: {"path": str(path), "signature": signature(path)} for name, path in inputs.items()
        },
        "params": params or {},
        "counts": counts or {},
        "files": files,
    }
    (folder / COMPLETION).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n",
        encoding="utf-8",
    )
    return manifest


def require_complete(folder: Path | str, stage: str, consumer: str) -> dict:
    """Check that `folder` is the complete, current output of `stage`; return its manifest.

    Args:
        folder: the upstream stage's output folder.
        stage: the stage that makes it (e.g. "ingest").
        consumer: the stage asking (named in the messages).

    Raises:
        HandoffError: the folder is missing or was never completed (exit status 2: run `stage`),
            or it is partial (a file missing, cut or added since) or stale (an input of `stage`
            changed since it ran), exit status 3; the message names the files or inputs.
    """
    folder = Path(folder)
    run = f"run `riskdraw {stage}` first"
    if not folder.is_dir():
        raise HandoffError(f"{consumer}: {folder} does not exist: {run}")
    path = folder / COMPLETION
    if not path.is_file():
        raise HandoffError(
            f"{consumer}: {folder} has no completion manifest ({COMPLETION}): it is the partial "
            f"output of a {stage} that did not finish, or was not made by `riskdraw {stage}`; "
            f"{run.replace(' first', ' again')}",
            3,
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        made_by, files, inputs = manifest["stage"], manifest["files"], manifest["inputs"]
    except (ValueError, KeyError, TypeError) as error:
        raise HandoffError(f"{consumer}: {path} is unreadable ({error}); {run}", 3) from None
    if made_by != stage:
        raise HandoffError(f"{consumer}: {folder} was made by {made_by}, not {stage}; {run}")
    present = {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and p.name not in (MARKER, COMPLETION)
    }
    missing = sorted(set(files) - set(present))
    cut = sorted(f for f in set(files) & set(present) if files[f] != present[f])
    added = sorted(set(present) - set(files))
    if missing or cut or added:
        parts = [
            f"{label} {', '.join(names[:5])}{' …' if len(names) > 5 else ''}"
            for label, names in (("missing", missing), ("changed", cut), ("added", added))
            if names
        ]
        raise HandoffError(
            f"{consumer}: {folder} is not as {stage} left it: {'; '.join(parts)}; "
            f"{run.replace(' first', ' again')}",
            3,
        )
    stale = [
        f"{name} {entry['path']}"
        for name, entry in inputs.items()
        if Path(entry["path"]).exists() and signature(entry["path"]) != entry["signature"]
    ]
    if stale:
        raise HandoffError(
            f"{consumer}: {folder} is stale: {', '.join(stale)} changed since {stage} made "
            f"it; {run.replace(' first', ' again')}",
            3,
        )
    return manifest
