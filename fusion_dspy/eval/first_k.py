r"""First-k against all n on the same stored pools: does stopping at the k-th answer cost accuracy?

Replays each stored pool as if sampling had stopped at its k-th answer (by recorded latency; the rest cut),
fuses that with the evaluation's own fusor, and compares per example with fusion over the whole pool: a
paired bootstrap CI of the difference (a CI spanning 0 is "no difference"). Never samples: the pools must
exist (made by `fusion-dspy eval` with the same task, model, n, temperature, seed and token limit). Answers
are stored beside the evaluation's (fusion over all n is reused from there when present), so a rerun resumes.

    python -m fusion_dspy.eval.first_k --task math --lang en -n 5 -k 3 --limit 40 --model local \
        --max-tokens 256 --out DIR
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import dspy
from pydantic import BaseModel

from fusion_dspy.errors import ConfigurationError, exit_on_error
from fusion_dspy.eval.config import EvalConfig
from fusion_dspy.eval.paired import paired_difference
from fusion_dspy.eval.runner import Evaluation
from fusion_dspy.eval.stats import Estimate, WinTieLoss, bootstrap, paired
from fusion_dspy.eval.store import MethodRecord, PoolRecord, method_log
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.lm.names import check_model_name
from fusion_dspy.lm.resolve import MODEL_FORMS


class FirstKReport(BaseModel):
    task: str
    language: str
    n: int
    k: int
    examples: int
    all_n: Estimate
    first_k: Estimate
    difference: Estimate  # first-k minus all n, paired bootstrap over examples
    first_k_vs_all: WinTieLoss
    cut_per_example: float
    fusor_tokens_all_n: int
    fusor_tokens_first_k: int

    def markdown(self) -> str:
        d = self.difference
        verdict = "no difference" if d.low <= 0 <= d.high else ("first-k better" if d.low > 0 else "first-k worse")
        return (
            f"{self.task}/{self.language}, n={self.n}, {self.examples} examples: fusion of all {self.n} "
            f"{self.all_n.mean:.3f} [{self.all_n.low:.3f}, {self.all_n.high:.3f}], first {self.k} "
            f"{self.first_k.mean:.3f} [{self.first_k.low:.3f}, {self.first_k.high:.3f}]; difference "
            f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}] (95% paired bootstrap: {verdict}); "
            f"first-k wins/ties/losses {self.first_k_vs_all}; {self.cut_per_example:.2f} candidates cut per example"
        )


async def compare_first_k(config: EvalConfig, language: str, k: int) -> FirstKReport:
    """Fusion over the first `k` answers of each stored pool vs over all of it, on the examples that have one
    (of the evaluation's `limit` subset, when it has a limit)."""
    if not 1 <= k <= config.n:
        raise ConfigurationError(f"k must be from 1 to n={config.n}; got {k}.")
    evaluation = Evaluation(config)
    key = evaluation.pool_key(language)
    pools = evaluation.pools(language)
    examples = [ex for ex in evaluation.task.load(language, config.limit, config.seed) if ex.id in pools]
    if not examples:
        raise ConfigurationError(
            f"no stored pools for {key.task}/{language} ({key.slug()}) under {config.out_dir}; make them first "
            "with `fusion-dspy eval` using the same --task, --model, -n, --temperature, --seed and --max-tokens."
        )
    stored = method_log(config.out_dir, key, evaluation.aggregator_slug)
    path = stored.path.with_name(f"{evaluation.aggregator_slug}.first-k.jsonl")
    ours = JsonlLog(path, MethodRecord, key=lambda r: f"{r.method}|{r.id}")
    fusion = evaluation.aggregators["fusion"]
    gate = asyncio.Semaphore(config.concurrency)
    replay = f"fusion@first{k}"

    def current(record: MethodRecord) -> bool:
        """Made and scored by this code (an answer of older code is made again)."""
        version = evaluation.answer_version("fusion", record.chosen is not None)
        return record.answer_version == version and record.score_version == evaluation.task.score_version()

    async def answer(example: dspy.Example, record: PoolRecord, method: str) -> MethodRecord:
        for done in (ours.rows.get(f"{method}|{example.id}"), stored.rows.get(f"{method}|{example.id}")):
            if done is not None and current(done):
                return done
        pool = record.pool.first_k(k) if method == replay else record.pool
        async with gate:
            start = time.perf_counter()
            prediction = await fusion.afrom_pool(example.inputs().toDict(), pool)
            outputs = dict(prediction.items())
            score = await evaluation.task.ascore(example.copy(baseline=record.baseline), outputs)
        result = MethodRecord(id=example.id, method=method, outputs=outputs, score=score,
                              usage=prediction.nofn.usage.aggregation, wall_s=time.perf_counter() - start,
                              chosen=prediction.nofn.chosen, fallback=prediction.nofn.fallback,
                              answer_version=evaluation.answer_version("fusion", prediction.nofn.chosen is not None),
                              score_version=evaluation.task.score_version())  # fmt: skip
        ours.append(result)
        return result

    records = {
        method: await asyncio.gather(*(answer(ex, pools.rows[ex.id], method) for ex in examples))
        for method in ("fusion", replay)
    }
    scored = [(f.score, a.score) for f, a in zip(records[replay], records["fusion"], strict=True)]
    first_scores = [f for f, a in scored if f is not None and a is not None]
    all_scores = [a for f, a in scored if f is not None and a is not None]
    cut = sum(len(pools.rows[ex.id].pool.first_k(k).cut) for ex in examples)
    return FirstKReport(
        task=config.task, language=language, n=config.n, k=k, examples=len(examples),
        all_n=bootstrap(all_scores, seed=config.seed), first_k=bootstrap(first_scores, seed=config.seed),
        difference=paired_difference(first_scores, all_scores, seed=config.seed),
        first_k_vs_all=paired(first_scores, all_scores), cut_per_example=cut / len(examples),
        fusor_tokens_all_n=sum(r.usage.total_tokens for r in records["fusion"]),
        fusor_tokens_first_k=sum(r.usage.total_tokens for r in records[replay]),
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True)
    parser.add_argument("--lang", required=True)
    parser.add_argument("--out", type=Path, required=True, help="the evaluation folder holding pools/")
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="the evaluation's --limit (default: every stored pool)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--fusor-model", default=None)
    parser.add_argument("--api-base", default=None)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    for option, name in (("--model", args.model), ("--fusor-model", args.fusor_model)):
        if name is not None:
            check_model_name(name, MODEL_FORMS, option)
    config = EvalConfig(
        task=args.task, languages=[args.lang], out_dir=args.out, n=args.n, limit=args.limit, model=args.model,
        fusor_model=args.fusor_model, api_base=args.api_base, scorers=[], temperature=args.temperature,
        max_tokens=args.max_tokens, seed=args.seed, concurrency=args.concurrency, data_dir=args.data_dir,
    )  # fmt: skip
    report = asyncio.run(compare_first_k(config, args.lang, args.k))
    target = args.out / f"first-k-{args.task}-{args.lang}-n{args.n}-k{args.k}.json"
    target.write_text(report.model_dump_json(indent=2) + "\n")
    print(report.markdown())
    print(f"wrote {target}")


if __name__ == "__main__":
    exit_on_error(main)
