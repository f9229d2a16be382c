"""How much of each held-out answer the fusor took from the candidates, default fusor against a registered one.

Replays the study's logged responses (no model call when the study's finish has run): for every held-out example,
the share of the fused answer no candidate supports (`fusion_dspy.provenance`), whether the answer is one
candidate verbatim, and the score. Run from the repository root, e.g.:

    python results/optimize/real/provenance.py --registry results/optimize/real/translation-de/mipro \
        --task translation --lang de --pools results/realsize/translation --stratum-threshold 0.35 \
        --out results/optimize/real/translation-de --optimizer mipro --optimizer-budget 300 --cot off
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fusion_dspy.candidates import CandidatePool
from fusion_dspy.lm.response_log import response_log
from fusion_dspy.optimizers import FusorStudy, StudyConfig
from fusion_dspy.optimizers.study import pick_best
from fusion_dspy.provenance import provenance_of
from fusion_dspy.registry import FusorRegistry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ["--registry", "--task", "--lang", "--pools", "--out", "--optimizer", "--cot"]:
        parser.add_argument(flag, required=True)
    parser.add_argument("--stratum-threshold", type=float)
    parser.add_argument("--optimizer-budget", type=int)
    args = parser.parse_args()
    config = StudyConfig(
        task=args.task, language=args.lang, out_dir=Path(args.out), pools_dir=Path(args.pools),
        storage="sqlite:///results/optimize/real/studies.db", model="local", max_tokens=256, n=5, limit=100,
        temperatures=[0.8], optimizers=[args.optimizer], chain_of_thought=[args.cot == "on"], seed=0,
        optimizer_budget=args.optimizer_budget, stratum_threshold=args.stratum_threshold, threads=1,
    )  # fmt: skip
    runner = FusorStudy(config)
    registry = FusorRegistry(args.registry)
    entry = registry.manifest().find(args.task, args.lang)
    assert entry is not None and entry.study == config.study_name, "the registry holds another study's fusor"
    params = pick_best(runner.study()).params
    tuned = runner.fusor(entry.chain_of_thought, entry.models["fusor"])
    tuned.fuser.load(str(registry.root / entry.path))
    test = runner.splits(params["temperature"], params["n"]).test
    field = next(iter(runner.task.signature.output_fields))
    metric = runner.task.metric
    rows = []
    with response_log(config.responses_path):
        for example in test:
            pool = CandidatePool.model_validate(example.pool)
            row = {}
            for name, program in [("default", runner.default_fusor()), ("tuned", tuned)]:
                prediction = program(**example.inputs())
                answer = str(prediction.get(field, ""))
                texts = [str(c.outputs.get(field, "")) for c in pool.candidates if c.ok]
                row[name] = (
                    provenance_of(answer, pool, field).new,
                    answer.strip() in {t.strip() for t in texts},
                    float(metric(example, prediction)),
                )
            rows.append(row)
    for name in ["default", "tuned"]:
        new = sum(r[name][0] for r in rows) / len(rows)
        copies = sum(r[name][1] for r in rows)
        score = sum(r[name][2] for r in rows) / len(rows)
        print(f"{name}: mean new share {new:.3f}; verbatim candidate {copies}/{len(rows)}; mean score {score:.3f}")


if __name__ == "__main__":
    main()
