"""Training items for a weight-tuned fusor: the reported-items registry, defined below eval in
`fusion_dspy.programs.reported` (eval's `--items unreported` uses it too) and re-exported here."""

from fusion_dspy.programs.reported import REPORTED_SUBSETS, reported_items, unreported

__all__ = ["REPORTED_SUBSETS", "reported_items", "unreported"]
