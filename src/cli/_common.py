"""What every command shares: the Typer app, the console, logging, params loading, paths."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from riskdraw.config import ConfigError, city_name, load_section
from riskdraw.errors import USAGE, UserError

DEBUG_ENV = "RISKDRAW_DEBUG"
"""Set to 1 to let an unexpected error's traceback through (for developers)."""

EXIT_CODES = (
    "Exit status: 0 done; 1 an unexpected error (a bug: please report it); 2 bad usage or "
    "configuration (options, params, catalogue, an output over an input, a stage run before "
    "the one it needs); 3 bad, partial or stale data (the message names the source, record, "
    "field and rule); 4 the monitor's checks failed (`monitor`, `verdict`: the checks ran and "
    "something moved)."
)


def _contained(command):
    """Run a command so that no traceback reaches the user: a `UserError` prints its message
    and exits with its status, a file that cannot be read or written exits 2 naming it, and
    anything else is reported in one line as a bug (exit 1; `RISKDRAW_DEBUG=1` shows it)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except UserError as error:
            console.print(f"[red]{escape(str(error))}[/red]")
            raise typer.Exit(error.exit_code) from None
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            console.print(f"[red]{escape(where + (error.strerror or str(error)))}[/red]")
            raise typer.Exit(USAGE) from None
        except Exception as error:
            if os.environ.get(DEBUG_ENV):
                raise
            logging.getLogger("riskdraw").debug("unexpected error", exc_info=True)
            console.print(
                f"[red]unexpected error ({type(error).__name__}): {escape(str(error))}\n"
                f"this is a bug in riskdraw, not in your input: please report it with the "
                f"command you ran; {DEBUG_ENV}=1 shows the traceback[/red]"
            )
            raise typer.Exit(1) from None

    return run


class _Typer(typer.Typer):
    """Typer whose commands are all `_contained`."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda command: register(_contained(command))


app = _Typer(
    help="riskdraw: risk-differentiated double-random inspection plans.\n\n"
    "Each command is one stage of dvc.yaml; `make run` runs them all with `dvc repro`.\n\n"
    + EXIT_CODES,
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
    """A validated params section, or exit 2 with the file, section and key at fault.

    Given a city's file (`cities/<name>/city.yaml`), the section is the project's params.yaml
    with the city's own `params` over it, and the command's MLflow experiments are the city's.
    """
    from riskdraw.tracking import set_city

    try:
        set_city(city_name(params))
        return load_section(section, params, config, **overrides)
    except (ConfigError, FileNotFoundError) as error:
        console.print(f"[red]configuration error[/red]\n{escape(str(error))}")
        raise typer.Exit(2) from None


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` in red (as text: markup in data is not markup) and return the exit to
    raise (2: usage and config, 3: data)."""
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


def round_snapshots(profile: Path, consumer: str):
    """The profile's labelled round snapshots (every enterprise of each round), once the
    profile is checked complete and current (`riskdraw.outputs.require_complete`)."""
    import pyarrow.parquet as pq

    from riskdraw.outputs import require_complete

    require_complete(profile, "profile", consumer)
    return pq.read_table(profile, filters=[("snapshot", "=", "round")]).to_pandas()


def save_figure(fig, path: Path) -> None:
    """Write a Matplotlib figure as PNG and close it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
