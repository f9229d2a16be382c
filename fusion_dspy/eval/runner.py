"""The evaluation harness: one pool per example, every method on identical candidates, everything stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import dspy

from fusion_dspy.compose import BestOfN, NofN
from fusion_dspy.errors import AllCandidatesFailedError, ConfigurationError, FusionError
from fusion_dspy.eval.adaptive_method import ADAPTIVE, AdaptiveMethod
from fusion_dspy.eval.config import EvalConfig
from fusion_dspy.eval.store import MethodRecord, PoolKey, PoolRecord, method_log, pool_log, slugify
from fusion_dspy.fuse import Fuser
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.lm.resolve import lm_options, resolve_lm
from fusion_dspy.programs import task_by_name
from fusion_dspy.select.majority import MajorityVote
from fusion_dspy.select.registry import scorer_by_name
from fusion_dspy.sources.repeat import RepeatSampler, validate_n

Advance = Callable[[str, int | None], None]


def no_progress(label: str, total: int | None) -> None:
    return None


class Evaluation:
    """Runs `config` language by language; `advance(label, total)` reports progress (total on the first call)."""

    def __init__(self, config: EvalConfig) -> None:
        validate_n(config.n)
        config.check()
        self.config = config
        task_class = task_by_name(config.task)
        unknown = [lang for lang in config.languages if lang not in task_class.languages]
        if unknown:
            raise ConfigurationError(
                f"task {config.task!r} has no language(s) {unknown}; choose from {', '.join(task_class.languages)}."
            )
        for language in config.languages:  # missing or broken data fails now, not after a model has loaded
            task_class(data_dir=config.data_dir).load(language, config.limit, config.seed)
        options = lm_options(config.api_base, config.max_tokens)
        self.lm = resolve_lm(config.model, **options)
        fusor = resolve_lm(config.fusor_model, **options) if config.fusor_model else self.lm
        judge = resolve_lm(config.judge_model, **options) if config.judge_model else fusor
        self.fusor_lm, self.judge_lm = fusor.copy(temperature=0.0), judge.copy(temperature=0.0)
        self.task = task_class(data_dir=config.data_dir, judge_lm=self.judge_lm)
        program = self.task.program()
        self.program = program
        self.sampler = RepeatSampler(config.n, lm=self.lm, temperature=config.temperature, seed=config.seed).bind(
            program
        )
        fuser = Fuser(lm=self.fusor_lm, chain_of_thought=self.task.chain_of_thought)
        self.aggregators: dict[str, NofN] = {"fusion": NofN(program, fuser, n=config.n)}  # plain: always fuses
        self.adaptive = AdaptiveMethod(self.task, fuser)
        for name in config.scorers:
            scorer = (
                MajorityVote(normalize=self.task.vote_normalizer)
                if name == "majority"
                else scorer_by_name(name, self.judge_lm)
            )
            self.aggregators[f"bon:{name}"] = BestOfN(program, n=config.n, scorer=scorer)

    def pool_key(self, language: str) -> PoolKey:
        model = str(getattr(self.lm, "model", "lm"))
        return PoolKey(task=self.config.task, language=language, model=model, n=self.config.n,
                       temperature=self.config.temperature, seed=self.config.seed,
                       max_tokens=self.config.max_tokens)  # fmt: skip

    def pools(self, language: str) -> JsonlLog[PoolRecord]:
        return pool_log(self.config.out_dir, self.pool_key(language))

    @property
    def aggregator_slug(self) -> str:
        return f"fusor-{slugify(self.fusor_lm.model)}-judge-{slugify(self.judge_lm.model)}"

    async def run_language(
        self, language: str, advance: Advance = no_progress
    ) -> tuple[list[dspy.Example], dict[str, list[MethodRecord]]]:
        """Pools then methods for one language; returns the examples and each method's records in example order."""
        examples, pools = await self.ensure_pools(language, advance)
        methods = self.methods_log(language)
        gate = asyncio.Semaphore(self.config.concurrency)
        fusions: dict[str, asyncio.Future[MethodRecord]] = {}

        def fused(example: dspy.Example) -> asyncio.Future[MethodRecord]:
            """Plain fusion's answer, made once per example: the `fusion` row and the `adaptive` row share it."""
            if example.id not in fusions:

                async def make() -> MethodRecord:
                    stored = methods.rows.get(f"fusion|{example.id}")
                    if stored is not None:
                        return stored
                    made = await self._method("fusion", example, pools.rows[example.id])
                    methods.append(made)
                    return made

                fusions[example.id] = asyncio.ensure_future(make())
            return fusions[example.id]

        todo = [(ex, m) for ex in examples for m in self.config.methods if self.needs(methods, m, ex.id)]
        advance(f"{language}: methods", len(examples) * len(self.config.methods))
        for _ in range(len(examples) * len(self.config.methods) - len(todo)):
            advance(f"{language}: methods", None)

        async def run(example: dspy.Example, method: str) -> None:
            async with gate:
                record = pools.rows[example.id]
                if method == "fusion":
                    await fused(example)
                elif method == ADAPTIVE:
                    methods.append(await self._adaptive(example, record, lambda: fused(example)))
                else:
                    methods.append(await self._method(method, example, record))
            advance(f"{language}: methods", None)

        await asyncio.gather(*(run(ex, m) for ex, m in todo))
        await self._rescore_stale(examples, pools, methods)
        records = {m: [methods.rows[f"{m}|{ex.id}"] for ex in examples] for m in self.config.methods}
        return examples, records

    def methods_log(self, language: str) -> JsonlLog[MethodRecord]:
        return method_log(self.config.out_dir, self.pool_key(language), self.aggregator_slug)

    def needs(self, methods: JsonlLog[MethodRecord], method: str, example_id: str) -> bool:
        """Is this answer missing, or (adaptive) made with other thresholds than the current ones?"""
        stored = methods.rows.get(f"{method}|{example_id}")
        return stored is None or (method == ADAPTIVE and not self.adaptive.is_current(stored))

    async def _rescore_stale(
        self, examples: list[dspy.Example], pools: JsonlLog[PoolRecord], methods: JsonlLog[MethodRecord]
    ) -> None:
        """Score again the stored answers that were scored on text holding DSPy's end marker (see
        `MethodRecord.stale`): answers and selections are kept and only scores change, except the oracle, which
        picks the best cleaned candidate again. The file is then compacted to one row per answer."""
        stale = [
            (example, record)
            for example in examples
            for m in self.config.methods
            if (record := methods.rows[f"{m}|{example.id}"]).stale(pools.rows[example.id])
        ]

        gate = asyncio.Semaphore(self.config.concurrency)

        async def rescore(example: dspy.Example, record: MethodRecord) -> MethodRecord:
            pool = pools.rows[example.id]
            async with gate:
                if record.method == "oracle":
                    return (await self._method("oracle", example, pool)).model_copy(update={"wall_s": record.wall_s})
                score = await self.task.ascore(example.copy(baseline=pool.baseline), record.outputs)
            return record.model_copy(update={"score": score, "scored_clean": True})

        for record in await asyncio.gather(*(rescore(example, record) for example, record in stale)):
            methods.append(record)
        if stale:
            methods.compact()

    async def ensure_pools(
        self, language: str, advance: Advance = no_progress
    ) -> tuple[list[dspy.Example], JsonlLog[PoolRecord]]:
        """The language's examples and their stored pools, sampling the missing ones (resumable)."""
        examples = self.task.load(language, self.config.limit, self.config.seed)
        pools = self.pools(language)
        gate = asyncio.Semaphore(self.config.concurrency)

        missing = [ex for ex in examples if ex.id not in pools]
        advance(f"{language}: candidate pools", len(examples))
        for _ in range(len(examples) - len(missing)):
            advance(f"{language}: candidate pools", None)

        failures: list[str] = []

        async def make_pool(example: dspy.Example) -> None:
            async with gate:
                try:
                    record = await self._pool(example)
                except Exception as exc:  # noqa: BLE001 - reported below; the other pools are kept
                    failures.append(f"{type(exc).__name__}: {exc}")
                else:
                    if record.pool.succeeded:
                        pools.append(record)
                    else:
                        failures.append(str(AllCandidatesFailedError(record.pool.failed)))
            advance(f"{language}: candidate pools", None)

        await asyncio.gather(*(make_pool(ex) for ex in missing))
        if failures:
            raise FusionError(
                f"{len(failures)} of {len(examples)} {language} examples got no usable candidates "
                f"(first: {failures[0][:300]}). The {len(pools.rows)} pools made so far are stored; "
                "fix the model or server and rerun the same command to continue."
            )
        return examples, pools

    async def _pool(self, example: dspy.Example) -> PoolRecord:
        inputs = example.inputs().toDict()
        pool = await self.sampler.agenerate(inputs)
        baseline = None
        if self.task.needs_baseline:
            with dspy.context(lm=self.lm.copy(temperature=0.0)):
                baseline = str((await self.program.acall(**inputs))[self.task.output_field])
        return PoolRecord(id=example.id, pool=pool, baseline=baseline)

    async def _method(self, method: str, example: dspy.Example, record: PoolRecord) -> MethodRecord:
        scored = example.copy(baseline=record.baseline)
        ok = record.pool.succeeded
        start = time.perf_counter()
        if method == "single":
            chosen = ok[0]
            result = MethodRecord(id=example.id, method=method, outputs=chosen.outputs, score=0.0, chosen=chosen.index)
        elif method == "oracle":
            scores = await asyncio.gather(*(self.task.ascore(scored, c.outputs) for c in ok))
            best = max(range(len(ok)), key=lambda i: (scores[i], -ok[i].index))
            return MethodRecord(
                id=example.id, method=method, outputs=ok[best].outputs, score=scores[best], chosen=ok[best].index,
                scored_clean=True,
            )  # fmt: skip
        else:
            prediction = await self.aggregators[method].afrom_pool(example.inputs().toDict(), record.pool)
            aggregation = prediction.nofn.aggregation
            result = MethodRecord(
                id=example.id, method=method, outputs=dict(prediction.items()), score=0.0,
                usage=prediction.nofn.usage.aggregation, chosen=prediction.nofn.chosen,
                fallback=prediction.nofn.fallback, path=aggregation.path, reason=aggregation.reason,
                provenance=aggregation.provenance,
            )  # fmt: skip
        result.wall_s = time.perf_counter() - start
        result.score = await self.task.ascore(scored, result.outputs)
        result.scored_clean = True
        return result

    async def _adaptive(
        self, example: dspy.Example, record: PoolRecord, fused: Callable[[], Awaitable[MethodRecord]]
    ) -> MethodRecord:
        result = await self.adaptive.record(example.id, example.inputs().toDict(), record.pool, fused)
        if result.path in ("fused", "selected"):
            fusion = await fused()
            if fusion.outputs == result.outputs:
                return result.model_copy(update={"score": fusion.score, "scored_clean": fusion.scored_clean})
        result.score = await self.task.ascore(example.copy(baseline=record.baseline), result.outputs)
        result.scored_clean = True
        return result
