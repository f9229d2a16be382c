"""Build a fused training set from a pool of teachers, then use it downstream.

1. 50 GSM8K word problems (outside MGSM's 250) go to two embedded teachers (`local`, `local-small`), two samples
   each; the `local` fusor fuses the four answers, and MBR keeps a best-of-N pick for comparison (`fusion_dspy.synth`).
2. A student program (`dspy.ChainOfThought("question -> answer")` on `local-small`) gets 4 demos drawn from the
   fused rows, or from the best-of-N rows, or none, and is scored on 20 held-out MGSM-en problems.

Everything is resumable (rerun to continue) and the numbers land in OUT/downstream.json. By default it is a
first-run size: 8 problems, teachers and fusor `local-small`, 8 held-out problems. `--full` is the committed run
(results/synthetic-demos): 50 problems, teachers `local` and `local-small`, the `local` fusor, 20 held out.
The student's answers are stored in OUT/downstream_answers.jsonl, so a metric fix re-scores them on a rerun
without asking the student again (delete the file to ask again).

    python examples/synthetic_demos.py                  # first run: a few minutes on 2 CPU cores
    python examples/synthetic_demos.py --full --out runs/synthetic-demos
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from pathlib import Path

import dspy
from pydantic import BaseModel

import fusion_dspy as fd
from fusion_dspy.data import find_data_dir, load_mgsm
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.metrics import answer_text, numeric_match
from fusion_dspy.programs.gsm8k import Gsm8kTask
from fusion_dspy.programs.math_reasoning import MathTask
from fusion_dspy.synth import SynthConfig, export, load_prompts, run_job


def write_prompts(path: Path, count: int, seed: int) -> None:
    """GSM8K problems outside MGSM (rows 250 on: rows 0-249 are MGSM's own problems, and the student is tested on
    MGSM-en, so drawing from them would put test problems among the demos)."""
    if find_data_dir() is None:
        raise SystemExit("no data folder found: set FUSION_DSPY_DATA_DIR to a folder holding gsm8k/test.jsonl")
    rows = Gsm8kTask().load("en", count, seed)
    path.write_text("".join(json.dumps({"id": r.id, "prompt": r.question}) + "\n" for r in rows))


def demos_from(path: Path, k: int, seed: int) -> list[dspy.Example]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    picked = random.Random(seed).sample(rows, min(k, len(rows)))
    return [dspy.Example(question=r["messages"][0]["content"], answer=r["messages"][1]["content"]) for r in picked]


class StudentAnswer(BaseModel):
    """One held-out problem answered by the student under one demo set."""

    id: str
    arm: str
    outputs: dict[str, str]


def student_answers(
    arm: str, demos: list[dspy.Example], held_out: list[dspy.Example], lm: dspy.BaseLM, store: JsonlLog[StudentAnswer]
) -> list[StudentAnswer]:
    """The student's answers for `arm` (zero_shot / fused_demos / bon_demos), asked only for the ones not stored."""
    student = dspy.ChainOfThought("question -> answer")
    student.predict.demos = demos
    for i, example in enumerate(held_out):
        if f"{arm}|{i}" in store:
            continue
        with dspy.context(lm=lm):
            prediction = student(**example.inputs())
        outputs = {k: str(v) for k, v in prediction.items()}
        store.append(StudentAnswer(id=str(i), arm=arm, outputs=outputs))
    return [store.rows[f"{arm}|{i}"] for i in range(len(held_out))]


def accuracy(answers: list[StudentAnswer], held_out: list[dspy.Example]) -> float:
    """Final-number exact match, read as the math task reads it (the answer field first, then the reasoning)."""
    scores = [numeric_match(answer_text(a.outputs), ex.answer, "en") for a, ex in zip(answers, held_out, strict=True)]
    return sum(scores) / len(scores) if scores else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the committed run's size and models (slow on a CPU)")
    parser.add_argument("--out", type=Path, help="default: runs/synthetic-demos-quick (runs/synthetic-demos --full)")
    parser.add_argument("--rows", type=int, help="default: 8 (50 with --full)")
    parser.add_argument("--held-out", type=int, help="default: 8 (20 with --full)")
    parser.add_argument("--demos", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out = args.out or Path("runs/synthetic-demos" if args.full else "runs/synthetic-demos-quick")
    args.rows = args.rows or (50 if args.full else 8)
    args.held_out = args.held_out or (20 if args.full else 8)
    teachers, fusor = (["local", "local-small"], "local") if args.full else (["local-small"], "local-small")
    args.out.mkdir(parents=True, exist_ok=True)
    prompts_path = args.out / "prompts.jsonl"
    if not prompts_path.exists():
        write_prompts(prompts_path, args.rows, args.seed)

    config = SynthConfig(
        prompts=str(prompts_path), out_dir=args.out, teachers=teachers, samples_per_teacher=2,
        temperature=0.8, fusor=fusor, bon="mbr", max_tokens=256, concurrency=4,
    )  # fmt: skip
    prompts = load_prompts(config.prompts)
    done = asyncio.run(run_job(config, prompts, on_row=lambda row: print(f"row {row.id} done", flush=True)))
    stats = export(config, prompts, done)
    print(f"synthetic set: {stats.rows} rows, {stats.failed_rows} failed, fusion fallbacks {stats.fusion_fallbacks}")

    held_out = [
        dspy.Example(question=r["question"], answer=r["answer"]).with_inputs("question")
        for r in random.Random(args.seed).sample(load_mgsm("en"), args.held_out)
    ]
    student_lm = fd.local_lm("local-small", max_tokens=256, temperature=0.0)
    store = JsonlLog(args.out / "downstream_answers.jsonl", StudentAnswer, key=lambda a: f"{a.arm}|{a.id}")
    arms = {
        "zero_shot": [],
        "fused_demos": demos_from(args.out / "fused.jsonl", args.demos, args.seed),
        "bon_demos": demos_from(args.out / "bon.jsonl", args.demos, args.seed),
    }
    results: dict[str, object] = {
        "rows": stats.rows,
        "held_out": len(held_out),
        "demos": args.demos,
        "student": "local-small, ChainOfThought",
        "metric": f"math/metric-{MathTask.metric_version}",
    }
    for arm, demos in arms.items():
        results[arm] = accuracy(student_answers(arm, demos, held_out, student_lm, store), held_out)
    (args.out / "downstream.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
