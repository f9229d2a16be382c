"""What a user's own signature gets from adaptive fusion, measured on the committed real-size pools (no LM call).

`fd.FusionOfN(dspy.ChainOfThought("question -> answer"), n=5, adaptive=True)` gets the generic policy: consensus on
the answer fields by kind (`AnswerConsensus`) and the thresholds per kind of answer in
`fusion_dspy/answer_thresholds.json` (chosen on the tuning slices, never on these), not the task class's consensus
and thresholds. This script applies exactly that policy, through the eval's own adaptive row
(`AdaptiveMethod.record`), to the stored 1.5B pools and the stored plain-fusion answers of `math/` (MGSM en, de,
fr; 40 each), `translation-50/` (WMT24++ es, ja; 50 each) and `translation/` (de; 100), with the generic signatures
`question -> answer` and `source_text, target_language -> translation`. Every answer is scored with the task's
current metric; the stored files are only read.

    python results/realsize/generic_adaptive.py [--data-dir ../shared/data]

writes `generic-adaptive.json` and `generic-adaptive.md` beside this script.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import dspy

from fusion_dspy.adaptive import AdaptiveFusion
from fusion_dspy.eval.adaptive_method import AdaptiveMethod
from fusion_dspy.eval.paired import compare_methods
from fusion_dspy.eval.stats import bootstrap_macro
from fusion_dspy.eval.store import MethodRecord, PoolKey, method_log, pool_log
from fusion_dspy.fuse import Fuser
from fusion_dspy.programs import task_by_name

HERE = Path(__file__).resolve().parent
RUNS = [  # folder, task, languages, limit, the signature a user would write
    ("math", "math", ("en", "de", "fr"), 40, "question -> answer"),
    ("translation-50", "translation", ("es", "ja"), 50, "source_text, target_language -> translation"),
    ("translation", "translation", ("de",), 100, "source_text, target_language -> translation"),
]
BASELINES = {"single": "single", "bon:majority": "majority", "bon:mbr": "MBR", "fusion": "plain fusion"}
AGGREGATOR = "fusor-openai_local-judge-openai_local"


async def measure_language(folder: str, task_name: str, language: str, limit: int, signature: str) -> dict[str, Any]:
    """Per example: the generic adaptive path and answer, and every row's score under the current metric."""
    task = task_by_name(task_name)()
    key = PoolKey(task=task_name, language=language, model="openai/local", n=5, temperature=0.8, seed=0,
                  max_tokens=256)  # fmt: skip
    pools, methods = pool_log(HERE / folder, key), method_log(HERE / folder, key, AGGREGATOR)
    policy = AdaptiveFusion(Fuser(), seed=0).bind(dspy.ensure_signature(signature))
    method = AdaptiveMethod(task, Fuser(), seed=0, aggregator=policy)
    rows = []
    for example in task.load(language, limit, seed=0):
        pool = pools.rows[example.id].pool
        inputs = example.inputs().toDict()
        fusion = methods.rows[f"fusion|{example.id}"]

        async def stored(fusion: MethodRecord = fusion) -> MethodRecord:
            return fusion

        evidence = await policy.aevidence(inputs, pool)
        before_call, _ = policy.decide(evidence)
        record = await method.record(example.id, inputs, pool, stored)
        scores = {"adaptive (generic)": (await task.ameasure(example, record.outputs)).score}
        for name in BASELINES:
            scores[name] = (await task.ameasure(example, methods.rows[f"{name}|{example.id}"].outputs)).score
        rows.append({
            "item": task.item_key(example.id, language), "path": record.path, "reason": record.reason,
            "fusor_call": before_call == "fused", "answer_type": evidence.answer_type, "scores": scores,
            "invention": record.path == "floored" and "invents a value" in (record.reason or ""),
        })  # fmt: skip
    return {"language": language, "rows": rows}


def summary(name: str, task_name: str, languages: list[dict[str, Any]]) -> dict[str, Any]:
    """Shares of paths, means with CIs and paired differences against each baseline, per language and macro."""
    rows = [row for lang in languages for row in lang["rows"]]
    n = len(rows)
    paths = Counter(row["path"] for row in rows)
    keyed = {
        method: {lang["language"]: {row["item"]: row["scores"][method] for row in lang["rows"]} for lang in languages}
        for method in ["adaptive (generic)", *BASELINES]
    }
    means = {method: bootstrap_macro(by_lang).model_dump() for method, by_lang in keyed.items()}
    compared = {
        BASELINES[other]: {lang: c.model_dump() for lang, c in compare_methods(keyed["adaptive (generic)"],
                                                                               keyed[other]).items()}
        for other in BASELINES
    }  # fmt: skip
    return {
        "set": name, "task": task_name, "languages": [lang["language"] for lang in languages], "examples": n,
        "answer_types": dict(Counter(row["answer_type"] for row in rows)),
        "skipped": paths["skipped"] / n, "floored": paths["floored"] / n,
        "inventions_floored": sum(row["invention"] for row in rows) / n, "fused": paths["fused"] / n,
        "selected_after_fusor_failure": paths["selected"] / n, "fusor_calls": sum(row["fusor_call"] for row in rows),
        "means": means, "adaptive_minus": compared,
    }  # fmt: skip


def markdown(results: list[dict[str, Any]]) -> str:
    def ci(e: dict[str, Any], signed: bool = False) -> str:
        f = "{:+.3f}" if signed else "{:.3f}"
        return f"{f.format(e['mean'])} [{f.format(e['low'])}, {f.format(e['high'])}]"

    lines = [
        'Generic adaptive fusion (`FusionOfN(dspy.ChainOfThought("question -> answer"), n=5, adaptive=True)` and '
        "`source_text, target_language -> translation`) on the committed real-size pools, with the stored plain-"
        "fusion answers; no LM call. Means are macro over languages with 95% bootstrap CIs; differences are paired "
        "(95% CI, wins/ties/losses).",
        "",
        "| set | examples | answer kinds | skipped | floored (inventions) | fused | fusor calls | generic adaptive "
        "| majority | MBR | plain fusion | adaptive − majority | adaptive − MBR | adaptive − plain fusion |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        kinds = ", ".join(f"{k} {v}" for k, v in r["answer_types"].items())
        diffs = [f"{ci(r['adaptive_minus'][b]['all']['difference'], True)} {_wtl(r['adaptive_minus'][b]['all'])}"
                 for b in ("majority", "MBR", "plain fusion")]  # fmt: skip
        lines.append(
            f"| {r['set']} ({', '.join(r['languages'])}) | {r['examples']} | {kinds} | {r['skipped']:.0%} "
            f"| {r['floored']:.0%} ({r['inventions_floored']:.0%}) | {r['fused']:.0%} | {r['fusor_calls']} | "
            + " | ".join(ci(r["means"][m]) for m in ("adaptive (generic)", "bon:majority", "bon:mbr", "fusion"))
            + " | "
            + " | ".join(diffs)
            + " |"
        )
    lines += ["", "Per language (adaptive − MBR, adaptive − majority, paired):", ""]
    for r in results:
        if r["set"] == "translation (all)":
            continue
        for lang in r["languages"]:
            mbr, maj = r["adaptive_minus"]["MBR"][lang], r["adaptive_minus"]["majority"][lang]
            lines.append(f"- {r['set']} {lang}: − MBR {ci(mbr['difference'], True)} {_wtl(mbr)}; − majority "
                         f"{ci(maj['difference'], True)} {_wtl(maj)}")  # fmt: skip
    return "\n".join(lines) + "\n"


def _wtl(comparison: dict[str, Any]) -> str:
    record = comparison["record"]
    return f"{record['win']}/{record['tie']}/{record['loss']}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="The benchmark data (default: FUSION_DSPY_DATA_DIR or ../shared/data).")
    args = parser.parse_args()
    if args.data_dir:
        import os

        os.environ["FUSION_DSPY_DATA_DIR"] = args.data_dir
    results = []
    combined: dict[str, list[dict[str, Any]]] = {}
    for folder, task_name, languages, limit, signature in RUNS:
        measured = [await measure_language(folder, task_name, lang, limit, signature) for lang in languages]
        results.append(summary(folder, task_name, measured))
        combined.setdefault(task_name, []).extend(measured)
    results.append(summary("translation (all)", "translation", combined["translation"]))
    (HERE / "generic-adaptive.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    text = markdown(results)
    (HERE / "generic-adaptive.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
