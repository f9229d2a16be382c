"""`python -m fusion_dspy.testing --latency 0.25 [--max-concurrency 32]`: a fake model server in this process."""

from fusion_dspy.testing.serve import main

main()
