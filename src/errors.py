"""The errors a user can cause, each with the exit status the command line gives it.

Every command turns a `UserError` into its message and its exit status, never a traceback:
2 for usage and configuration (a bad option, params or catalogue, an output that would destroy
an input, a stage run before the one it needs), 3 for data (input that is partial, stale or
fails an integrity check). Modules raise their own subclasses; this module imports nothing.
"""

from __future__ import annotations

USAGE = 2
"""Exit status for bad usage or configuration."""

DATA = 3
"""Exit status for bad, partial or stale data."""


class UserError(ValueError):
    """An error the user can fix; the message names the file, section, key, record or rule."""

    exit_code: int = USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
