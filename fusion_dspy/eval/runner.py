"""The evaluation harness: one pool per example, every method on identical candidates, everything stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import dspy

from fusion_dspy.compose import NofN
from fusion_dspy.errors import AllCandidatesFailedError, ConfigurationError, FusionError
from fusion_dspy.eval.adaptive_method import ADAPTIVE, AdaptiveMethod
from fusion_dspy.eval.config import EvalConfig
from fusion_dspy.eval.pool_views import ViewPools
from fusion_dspy.eval.store import (
    MethodRecord,
    PoolKey,
    PoolRecord,
    StoredAnswers,
    method_log,
    pool_log,
    slugify,
)
from fusion_dspy.fuse import FUSION_VERSION, Fuser
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.lm.adapter_items import trained_on
from fusion_dspy.lm.resolve import greedy, lm_options, resolve_lm
from fusion_dspy.programs import task_by_name
from fusion_dspy.programs.reported import reported_items
from fusion_dspy.prompts import prompt_digest
from fusion_dspy.select.base import SELECTION_VERSION, Selector, top_candidates
from fusion_dspy.select.majority import MajorityVote
from fusion_dspy.select.registry import scorer_by_name
from fusion_dspy.sources.repeat import RepeatSampler, validate_n


class Advance(Protocol):
    """Progress of the harness: `advance(label, total, done)` opens a bar of `total` steps of which `done` were
    already stored (a resumed run: they took no time here, so the time to go leaves them out); `advance(label,
    None)` is one step more."""

    def __call__(self, label: str, total: int | None, done: int = 0) -> None: ...


def tied_answers(record: MethodRecord, pool: PoolRecord, key: Callable[[dict[str, Any]], str]) -> int | None:
    """How many *different* answers (by `key`, e.g. `Task.answer_key`: the final field, normalised) shared a
    selection's top score (1: a clear winner; more: a tie the seed broke); None for answers not selected by scores."""
    if record.scores is None or len(record.scores) != len(pool.pool):
        return None
    by_index = {c.index: c for c in pool.pool}
    top = top_candidates(record.scores, pool.pool)
    return len({key(by_index[i].outputs) for i in top})


def no_progress(label: str, total: int | None, done: int = 0) -> None:
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
        # --items unreported: reported items leave `self.task` itself, so every path that loads through it (runs,
        # plans, pool views, first-k, the map) sees the same examples; `limit` samples among the rest.
        unreported = config.items == "unreported"
        plain = task_class(data_dir=config.data_dir)  # no judge yet: the data is checked before any model resolves
        excluded = reported_items(plain) if unreported else frozenset()
        checked = plain.excluding(excluded)
        for language in config.languages:  # missing or broken data fails now, not after a model has loaded
            if not checked.load(language, config.limit, config.seed) and unreported:
                raise ConfigurationError(f"--items unreported leaves no {config.task} {language} items: every one is "
                                         "in a reported subset (programs/reported.py).")  # fmt: skip
        options = lm_options(config.api_base, config.max_tokens)
        fusor = resolve_lm(config.fusor_model, **options) if config.fusor_model else None
        # The candidate model is only for sampling: a pool view samples nothing, so it starts no model for it.
        self.lm = fusor if config.pool_view is not None and fusor else resolve_lm(config.model, **options)
        fusor = fusor or self.lm
        judge = resolve_lm(config.judge_model, **options) if config.judge_model else fusor
        metric_judge = resolve_lm(config.metric_judge_model, **options) if config.metric_judge_model else judge
        self.fusor_lm, self.judge_lm = greedy(fusor), greedy(judge)
        self.metric_judge_lm = greedy(metric_judge)  # its own LM object and predictor
        task = task_class(data_dir=config.data_dir, judge_lm=self.metric_judge_lm)
        self.task = task.excluding(excluded).dropping(trained_on(task.name, [config.fusor_model, *config.tuned_fusors]))
        program = self.task.program()
        self.program = program
        self.sampler = RepeatSampler(config.n, lm=self.lm, temperature=config.temperature, seed=config.seed).bind(
            program
        )
        # a failed fusor call falls back to the selection fusion is measured against (majority vote on math, not
        # the Fuser's own default, MBR), so fusion minus selection differs only where the fusor answered
        fuser = Fuser(lm=self.fusor_lm, chain_of_thought=self.task.chain_of_thought, fallback=self.task.consensus())
        self.aggregators: dict[str, NofN] = {"fusion": NofN(program, fuser, n=config.n)}  # plain: always fuses
        self.adaptive = AdaptiveMethod(self.task, fuser, seed=config.seed)
        self._views: dict[str, ViewPools] = {}
        for name in config.scorers:
            scorer = (
                MajorityVote(normalize=self.task.vote_normalizer)
                if name == "majority"
                else scorer_by_name(name, self.judge_lm)
            )
            self.aggregators[f"bon:{name}"] = NofN(program, Selector(scorer, seed=config.seed), n=config.n)

    def answer_version(self, method: str, selected: bool = False) -> str:
        """What a stored answer of `method` depends on beyond its pool and models: code versions and prompts.
        A fused answer that fell back to a selection (`selected`) depends on the selection code too."""
        if method == "single":
            return "single-1"
        if method == "oracle":
            return f"oracle-1/{self.task.score_version()}"  # the oracle picks by the metric
        # a failed fusor falls back to the task's selection: answers that fell back to MBR (the task's selection, or
        # the Fuser's default before) stay valid; elsewhere the fallback is part of the version
        by = "" if self.task.selection == "mbr" else f"/{self.task.selection}"
        if method == "fusion":
            fallback = f"+select-{SELECTION_VERSION}{by}" if selected else ""
            return f"fusion-{FUSION_VERSION}/{prompt_digest('fuser')}{fallback}"
        if method == ADAPTIVE:  # its skip and floor are selections; where it fuses, it takes the fusion answer
            return f"adaptive-2/select-{SELECTION_VERSION}/fusion-{FUSION_VERSION}/{prompt_digest('fuser')}{by}"
        scorer = method.removeprefix("bon:")
        prompt = f"/{prompt_digest(scorer)}" if scorer in ("judge", "pairwise") else ""
        return f"select-{SELECTION_VERSION}{prompt}"

    def answers_without_lm(self, method: str) -> bool:
        """True when `method`'s answer can be made and scored with no LM call: what --rescore-only may redo
        (nothing, on judged tasks, whose metric is an LM)."""
        lm_free = ("single", "bon:majority", "bon:mbr", "oracle", ADAPTIVE)  # adaptive: from the stored fusion answer
        return method in lm_free and not self.task.needs_baseline

    def is_current(self, record: MethodRecord) -> bool:
        """The stored answer and its score were made by the code and prompts of this version."""
        return (
            record.answer_version == self.answer_version(record.method, record.chosen is not None)
            and record.score_version == self.task.score_version()
            and (record.method != ADAPTIVE or self.adaptive.is_current(record))
        )

    def pool_key(self, language: str) -> PoolKey:
        view = self.config.pool_view
        model = view.label() if view is not None else str(getattr(self.lm, "model", "lm"))
        return PoolKey(task=self.config.task, language=language, model=model, n=self.config.n,
                       temperature=self.config.temperature, seed=self.config.seed,
                       max_tokens=self.config.max_tokens)  # fmt: skip

    def pools(self, language: str) -> JsonlLog[PoolRecord] | ViewPools:
        view = self.config.pool_view
        if view is None:
            return pool_log(self.config.out_dir, self.pool_key(language))
        if language not in self._views:  # read from stores a view never writes to: once per language
            ids = [ex.id for ex in self.task.load(language, self.config.limit, self.config.seed)]
            self._views[language] = ViewPools(view.rows(self.pool_key(language), ids)[0])
        return self._views[language]

    def view_missing(self, language: str, missing: list[dspy.Example]) -> ConfigurationError:
        """The error for a pool view whose stored pools lack examples: which model's, and the command to make them."""
        view = self.config.pool_view
        assert view is not None
        _, lacking = view.rows(self.pool_key(language), [ex.id for ex in missing])
        c = self.config
        model, ids = next(iter(lacking.items()))
        return ConfigurationError(
            f"{len(missing)} {language} pools of {view.name} are missing ({model}: {len(ids)}, first {ids[0]}). "
            f"Make them first: fusion-dspy eval --task {c.task} --langs {language} -n {view.pool_n} "
            f"--limit {c.limit} --model {model} --temperature {c.temperature:g} --seed {c.seed}"
            + (f" --max-tokens {c.max_tokens}" if c.max_tokens else "")
            + f" --pools-only --out {view.folders[0]}"
        )

    def judges(self) -> dict[str, str]:
        """The judge models by role, for the report: selection (bon:judge, bon:pairwise), metric (judged tasks)."""
        roles = {"selection": str(self.judge_lm.model)}
        if self.task.needs_baseline:
            roles["metric"] = str(self.metric_judge_lm.model)
        return roles

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
        offline = self.config.rescore_only
        fusions: dict[str, asyncio.Future[MethodRecord]] = {}

        def fused(example: dspy.Example) -> asyncio.Future[MethodRecord]:
            """Plain fusion's answer, made once per example: the `fusion` row and the `adaptive` row share it.
            A stored one is reused when it is current (or, with --rescore-only, whatever its version)."""
            if example.id not in fusions:

                async def make() -> MethodRecord:
                    stored = methods.rows.get(f"fusion|{example.id}")
                    if stored is not None and (
                        offline or stored.answer_version == self.answer_version("fusion", stored.chosen is not None)
                    ):
                        return stored
                    made = await self._method("fusion", example, pools.rows[example.id])
                    methods.append(made)
                    return made

                fusions[example.id] = asyncio.ensure_future(make())
            return fusions[example.id]

        if offline and (
            missing := [ex.id for ex in examples for m in self.config.methods if f"{m}|{ex.id}" not in methods]
        ):
            raise ConfigurationError(
                f"--rescore-only needs every answer stored; {len(missing)} {language} answers are missing "
                f"(first: {missing[0]}). Run without --rescore-only to make them."
            )

        todo = [(ex, m, why) for ex in examples for m in self.config.methods if (why := self.stale(methods, m, ex.id))]
        total = len(examples) * len(self.config.methods)
        advance(f"{language}: methods", total, total - len(todo))

        async def run(example: dspy.Example, method: str, why: str) -> None:
            async with gate:
                pool = pools.rows[example.id]
                if not pool.pool.succeeded:  # a view's first n samples all failed: no method has a candidate
                    methods.append(self._unanswered(method, example.id))
                elif why == "answer" and method == "fusion":
                    await fused(example)
                elif why == "answer" and method == ADAPTIVE:
                    methods.append(await self._adaptive(example, pool, lambda: fused(example)))
                elif why == "answer":
                    methods.append(await self._method(method, example, pool))
                else:
                    methods.append(await self._rescore(methods.rows[f"{method}|{example.id}"], example, pool))
            advance(f"{language}: methods", None)

        await asyncio.gather(*(run(ex, m, why) for ex, m, why in todo))
        key = self.task.answer_key
        counted = [(r, tied_answers(r, pools.rows[r.id], key)) for r in methods.rows.values() if r.id in pools.rows]
        recounted = [(r, tied) for r, tied in counted if r.tied != tied]
        for record, tied in recounted:
            methods.append(record.model_copy(update={"tied": tied}))
        if todo or recounted:
            methods.compact()
        records = {m: [methods.rows[f"{m}|{ex.id}"] for ex in examples] for m in self.config.methods}
        return examples, records

    def methods_log(self, language: str) -> JsonlLog[MethodRecord]:
        return method_log(self.config.out_dir, self.pool_key(language), self.aggregator_slug)

    def stale(self, methods: StoredAnswers, method: str, example_id: str) -> str | None:
        """ "answer" when the stored answer must be made (again), "score" when only its score must, else None;
        with --rescore-only, only what needs no LM call. Adaptive answers made with other thresholds are stale."""
        record = methods.rows.get(f"{method}|{example_id}")
        answer_stale = (
            record is None
            or record.answer_version != self.answer_version(method, record.chosen is not None)
            or (method == ADAPTIVE and not self.adaptive.is_current(record))
        )
        if answer_stale and (not self.config.rescore_only or self.answers_without_lm(method)):
            return "answer"
        if record is not None and record.score_version != self.task.score_version():
            offline = not self.task.needs_baseline or self.task.rescorable_offline(record.score_version)
            return "score" if not self.config.rescore_only or offline else None
        return None

    def needs(self, methods: StoredAnswers, method: str, example_id: str) -> bool:
        """Will this run make (or remake) this answer?"""
        return self.stale(methods, method, example_id) == "answer"

    async def ensure_pools(
        self, language: str, advance: Advance = no_progress
    ) -> tuple[list[dspy.Example], JsonlLog[PoolRecord] | ViewPools]:
        """The language's examples and their stored pools, sampling the missing ones (resumable)."""
        examples = self.task.load(language, self.config.limit, self.config.seed)
        pools = self.pools(language)
        gate = asyncio.Semaphore(self.config.concurrency)

        missing = [ex for ex in examples if ex.id not in pools]
        if missing and self.config.pool_view is not None:
            raise self.view_missing(language, missing)
        if missing and self.config.rescore_only:
            raise ConfigurationError(
                f"--rescore-only needs every pool stored; {len(missing)} {language} pools are missing "
                f"(first: {missing[0].id}). Run without --rescore-only to sample them."
            )
        advance(f"{language}: candidate pools", len(examples), len(examples) - len(missing))

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
            with dspy.context(lm=greedy(self.lm)):
                baseline = str((await self.program.acall(**inputs))[self.task.output_field])
        return PoolRecord(id=example.id, pool=pool, baseline=baseline)

    def _scored_example(self, example: dspy.Example, record: PoolRecord) -> dspy.Example:
        return example.copy(baseline=record.baseline)

    async def _rescore(self, stored: MethodRecord, example: dspy.Example, record: PoolRecord) -> MethodRecord:
        """The stored answer scored again under the current metric (no new answer is made; with --rescore-only, a
        judged score only where the language check alone changes it)."""
        scored = self._scored_example(example, record)
        if self.config.rescore_only and self.task.needs_baseline:
            score = self.task.rescored_offline(scored, stored.outputs, stored.score, stored.score_version)
            return stored.model_copy(update={"score": score, "score_version": self.task.score_version()})
        measured = await self.task.ameasure(scored, stored.outputs)
        return stored.model_copy(
            update={"score": measured.score, "failed_judgements": measured.failed_judgements,
                    "score_version": self.task.score_version()}
        )  # fmt: skip

    async def _method(self, method: str, example: dspy.Example, record: PoolRecord) -> MethodRecord:
        """`method`'s answer from the pool, scored; the record names the versions it was made and scored under."""
        scored = self._scored_example(example, record)
        start = time.perf_counter()
        if method == "oracle":
            result = await self._oracle(example, scored, record)
        else:
            result = await self._answer(method, example, record)
            measured = await self.task.ameasure(scored, result.outputs)
            result.score, result.failed_judgements = measured.score, measured.failed_judgements
        result.wall_s = time.perf_counter() - start
        result.answer_version = self.answer_version(method, result.chosen is not None)
        result.score_version = self.task.score_version()
        return result

    async def _adaptive(
        self, example: dspy.Example, record: PoolRecord, fused: Callable[[], Awaitable[MethodRecord]]
    ) -> MethodRecord:
        result = await self.adaptive.record(example.id, example.inputs().toDict(), record.pool, fused)
        result.answer_version = self.answer_version(ADAPTIVE, result.chosen is not None)
        result.score_version = self.task.score_version()
        if result.path in ("fused", "selected"):
            fusion = await fused()
            if fusion.outputs == result.outputs and fusion.score_version == result.score_version:
                return result.model_copy(update={"score": fusion.score, "failed_judgements": 0})
        measured = await self.task.ameasure(self._scored_example(example, record), result.outputs)
        result.score, result.failed_judgements = measured.score, measured.failed_judgements
        return result

    def _unanswered(self, method: str, example_id: str) -> MethodRecord:
        """The record of a pool none of whose candidates answered (n=3 of a stored 5 whose first three failed):
        every method gets nothing to answer with, so every method scores 0 on that item, paired alike."""
        return MethodRecord(
            id=example_id, method=method, outputs={}, score=0.0, reason="no candidate in the pool answered",
            answer_version=self.answer_version(method), score_version=self.task.score_version(),
            settings=self.adaptive.settings if method == ADAPTIVE else None,
        )  # fmt: skip

    async def _answer(self, method: str, example: dspy.Example, record: PoolRecord) -> MethodRecord:
        if method == "single":
            chosen = record.pool.succeeded[0]
            return MethodRecord(id=example.id, method=method, outputs=chosen.outputs, score=None, chosen=chosen.index)
        prediction = await self.aggregators[method].afrom_pool(example.inputs().toDict(), record.pool)
        aggregation = prediction.nofn.aggregation
        return MethodRecord(
            id=example.id, method=method, outputs=dict(prediction.items()), score=None,
            usage=prediction.nofn.usage.aggregation, chosen=aggregation.chosen, fallback=aggregation.fallback,
            path=aggregation.path, reason=aggregation.reason, provenance=aggregation.provenance,
            scores=aggregation.scores if aggregation.method == "selected" else None,
        )  # fmt: skip

    async def _oracle(self, example: dspy.Example, scored: dspy.Example, record: PoolRecord) -> MethodRecord:
        """The best candidate by the reference metric (unscored candidates rank last)."""
        ok = record.pool.succeeded
        measured = await asyncio.gather(*(self.task.ameasure(scored, c.outputs) for c in ok))
        best = max(range(len(ok)), key=lambda i: (measured[i].score is not None, measured[i].score or 0.0, -i))
        return MethodRecord(
            id=example.id, method="oracle", outputs=ok[best].outputs, score=measured[best].score,
            chosen=ok[best].index, failed_judgements=sum(m.failed_judgements for m in measured),
        )  # fmt: skip
