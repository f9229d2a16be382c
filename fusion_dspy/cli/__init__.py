"""The `fusion-dspy` command line."""
