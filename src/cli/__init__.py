"""The `riskdraw` command: one thin command per pipeline stage.

Each command takes its paths from the command line (as `dvc.yaml` gives them), loads its
section of `params.yaml` into a validated model, calls one library function, and writes its
outputs and metrics. One module per area; each imports only `_common` and `_tables`, never
another command module, so the commands register on `app` in any order.
"""

from __future__ import annotations

from importlib import import_module

from ._common import app

MODULES = (
    "city", "governance", "features", "model", "inspection", "results", "service", "monitor",
    "loop", "cities", "report", "track",
)  # fmt: skip
"""The command modules, in the order of the flow (`--help` lists their panels so)."""
for _module in MODULES:
    import_module(f"{__name__}.{_module}")

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - the console script entry point
    app()
