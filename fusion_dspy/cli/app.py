"""The Typer application, its consoles and the error policy every command shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec

import typer
from rich.console import Console
from rich.progress import Progress

from fusion_dspy.cli.progress import progress_bar as _progress_bar
from fusion_dspy.errors import FusionError

P = ParamSpec("P")

app = typer.Typer(
    help="Turn N LLM generations into one better answer: Fusion-of-N (fuse) and Best-of-N (select).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one line (terminals wrap it visually)


@app.callback()
def _root() -> None:
    """Turn N LLM generations into one better answer: Fusion-of-N (fuse) and Best-of-N (select).

    With no model configured, the embedded local model runs on your CPU: no API key, no network.
    """


def friendly_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Known errors become one clear line on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except FusionError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted; rerun the same command to resume where it stopped.")
            raise typer.Exit(130) from None

    return wrapper


def progress_bar() -> Progress:
    """A progress display on stderr; it logs plain lines when stderr is not a terminal."""
    return _progress_bar(err)
