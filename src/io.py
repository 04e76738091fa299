"""The small I/O helpers the stage commands share."""

from __future__ import annotations

import json
from pathlib import Path


def write_json(path: Path | str, payload: dict) -> None:
    """Write a metrics/report file as readable UTF-8 JSON (DVC reads these as metrics)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )


def read_json(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
