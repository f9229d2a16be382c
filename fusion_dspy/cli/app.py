"""The Typer application, its consoles and the error policy every command shares."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from fusion_dspy.cli.precheck import precheck
from fusion_dspy.errors import FusionError
from fusion_dspy.progress import progress_bar as _progress_bar

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
    """Known errors become one clear line on stderr and exit code 2, never a traceback; arguments that cannot be
    right (`precheck`) fail that way before the command starts."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            quiet_third_party()
            precheck(kwargs)  # names and languages, before anything heavy is imported or started
            command(*args, **kwargs)
        except FusionError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted; rerun the same command to resume where it stopped.")
            raise typer.Exit(130) from None

    return wrapper


def quiet_third_party() -> None:
    """No progress bars of datasets or the Hugging Face hub on stderr: our own bar says how far a command is."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "datasets" in sys.modules:  # already imported: its switch, as the variable is read at import
        sys.modules["datasets"].disable_progress_bars()


def progress_bar() -> Progress:
    """A progress display on stderr; it logs plain lines when stderr is not a terminal."""
    return _progress_bar(err)
