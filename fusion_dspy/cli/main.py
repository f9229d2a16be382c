"""`fusion-dspy`: the command line. Each command lives in its own module and registers itself on `app`."""

from fusion_dspy.cli import (  # noqa: F401  (registers the commands)
    eval_command,
    map_command,
    optimize_command,
    run_command,
    studies_command,
    synth_command,
    thresholds_command,
)
from fusion_dspy.cli.app import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
