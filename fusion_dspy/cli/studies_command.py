"""`fusion-dspy studies`: the registered fusor studies of one or more registries side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fusion_dspy.cli.app import app, err, friendly_errors
from fusion_dspy.files import write_atomically


@app.command("studies")
@friendly_errors
def studies_command(
    folders: Annotated[
        list[Path], typer.Argument(help="Registry folders (`optimize --registry`), or folders holding several.")
    ],
    storage: Annotated[
        str | None,
        typer.Option(help="The studies' Optuna storage: adds each one's budget, trials and validation score."),
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the table to this markdown file.")] = None,
) -> None:
    """Compare registered fusor studies: optimiser and budget, held-out default → tuned with the paired 95% CI, the
    paired permutation test's p and that p Holm-adjusted over every comparison shown, the difference without its 2
    most influential examples, the hard stratum, held-out reuse, and the verdict (better only when the adjusted
    test passes and fresh examples bear it out; suggestive, no difference or worse otherwise).

    \b
    Example:
      fusion-dspy studies results/optimize/real --storage sqlite:///results/optimize/real/studies.db
    """
    from fusion_dspy.optimizers.comparison import markdown, rows

    table = markdown(rows(folders, storage))
    if out_file is not None:
        write_atomically(out_file, table)
        err.print(f"wrote {out_file}")
    typer.echo(table, nl=False)  # markdown as is: a wide table to paste into a README, not to wrap
