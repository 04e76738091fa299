"""What every command shares: the Typer app, the console, logging, params loading, paths."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler

from riskdraw.config import ConfigError, load_section

app = typer.Typer(
    help="riskdraw: risk-differentiated double-random inspection plans.\n\n"
    "Each command is one stage of dvc.yaml; `make run` runs them all with `dvc repro`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
PARAMS = typer.Option("--params", help="the parameters file; each stage reads its own section")
PROGRESS = typer.Option(help="show progress bars")
VERBOSE = typer.Option("--verbose", "-v", help="debug logging")


def setup_logging(verbose: bool) -> None:
    """Log lines through rich on stderr (INFO, or DEBUG with --verbose)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
        force=True,
    )


def load(section: str, params: Path, config: Path | None = None, **overrides):
    """A validated params section, or exit 2 with the file, section and key at fault."""
    try:
        return load_section(section, params, config, **overrides)
    except (ConfigError, FileNotFoundError) as error:
        console.print(f"[red]configuration error[/red]\n{error}")
        raise typer.Exit(2) from None


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` in red and return the exit to raise (2: usage and config, 3: data)."""
    console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def round_snapshots(profile: Path):
    """The profile's labelled round snapshots (every enterprise of each round)."""
    import pyarrow.parquet as pq

    return pq.read_table(profile, filters=[("snapshot", "=", "round")]).to_pandas()


def save_figure(fig, path: Path) -> None:
    """Write a Matplotlib figure as PNG and close it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
