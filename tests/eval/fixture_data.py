"""Tiny benchmark folders in the real file formats, so these tests need no copy of the shared data."""

from __future__ import annotations

import json
from pathlib import Path

MGSM = [
    ("Eine Ente legt 3 Eier am Tag. Wie viele in 6 Tagen?", "Ann has 3 eggs a day. How many in 6 days?", "18"),
    ("Tom hat 1000 Euro und gibt 250 aus. Wie viel bleibt?", "Tom has 1000 euros and spends 250. What is left?", "750"),
    ("Ein Zug fährt 7 km. Dann noch 5 km. Wie weit?", "A train goes 7 km, then 5 km more. How far?", "12"),
]


def mgsm_folder(root: Path) -> Path:
    """mgsm/mgsm_de.tsv and mgsm_en.tsv: the same three problems (a parallel benchmark, like MGSM)."""
    (root / "mgsm").mkdir(parents=True, exist_ok=True)
    for column, language in [(0, "de"), (1, "en")]:
        lines = [f"{row[column]}\t{row[2]}" for row in MGSM]
        (root / "mgsm" / f"mgsm_{language}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def arena_folder(root: Path) -> Path:
    """arena_hard/question_v0.1.jsonl with two prompts."""
    (root / "arena_hard").mkdir(parents=True, exist_ok=True)
    rows = [{"uid": "a1", "prompt": "Write a haiku about rain."}, {"uid": "a2", "prompt": "Explain recursion."}]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (root / "arena_hard" / "question_v0.1.jsonl").write_text(text, encoding="utf-8")
    return root
