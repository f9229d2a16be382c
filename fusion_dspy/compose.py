"""FusionOfN and BestOfN: drop-in DSPy modules that turn N candidates of any program into one answer."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import Any

import dspy
from dspy.streaming import StreamListener

from fusion_dspy._async import run_sync
from fusion_dspy.adaptive import AdaptiveFusion
from fusion_dspy.aggregator import Aggregator
from fusion_dspy.candidates import CandidatePool, as_text
from fusion_dspy.errors import AllCandidatesFailedError, ConfigurationError, TooManyFailuresError
from fusion_dspy.fuse import Fuser
from fusion_dspy.prediction import FusedPrediction, check_no_reserved_outputs
from fusion_dspy.provenance import provenance_of
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.routing import LanguageRouter
from fusion_dspy.select.base import Scorer, Selector
from fusion_dspy.select.reward import RewardCallable, as_scorer
from fusion_dspy.select.threshold import ArrivalScorer, ThresholdStop
from fusion_dspy.signatures import SignatureType, ensure_task_signature, input_values, module_output_fields
from fusion_dspy.sources.base import CandidateSource
from fusion_dspy.sources.repeat import RepeatSampler
from fusion_dspy.state import SETTINGS, Settings
from fusion_dspy.streaming import answer_listeners, fusor_streams_live, send_answer, unstreamed
from fusion_dspy.traces import kept_trace, leave_in_trace
from fusion_dspy.usage import RunUsage, TokenUsage

DEFAULT_N = 5
logger = logging.getLogger(__name__)


class NofN(dspy.Module):
    """Sample a pool of candidates from `source`, then aggregate them into one prediction.

    The prediction carries the wrapped module's own output keys (a ChainOfThought's `reasoning` too); the pool
    and how it was aggregated are on `pred.nofn`. What it leaves in `dspy.settings.trace` for optimisers is
    decided by `fusion_dspy.traces.kept_trace`: never a rejected candidate.
    """

    def __init__(
        self,
        module: dspy.Module,
        aggregator: Aggregator,
        *,
        n: int | None = None,
        source: CandidateSource | None = None,
        signature: str | SignatureType | None = None,
        fail_count: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(module, dspy.Module):
            raise ConfigurationError(
                f"expected a dspy.Module to wrap, got {type(module).__name__}; "
                "e.g. FusionOfN(dspy.ChainOfThought('question -> answer'), n=5)."
            )
        if source is not None and n is not None:
            raise ConfigurationError(
                "pass either n= (N samples of one model) or source= (e.g. a TeacherPool), not both."
            )
        if fail_count is not None and (
            isinstance(fail_count, bool) or not isinstance(fail_count, int) or fail_count < 0
        ):
            raise ConfigurationError(f"fail_count must be an integer ≥ 0 or None (no limit); got {fail_count!r}.")
        self.signature = ensure_task_signature(signature, module)
        check_no_reserved_outputs(self.signature)
        self.output_keys = module_output_fields(module, self.signature)
        self.fail_count = fail_count
        self.source = (source or RepeatSampler(n if n is not None else DEFAULT_N)).bind(module)
        self.aggregator = aggregator.bind(self.signature)

    def __call__(self, *args: Any, **kwargs: Any) -> FusedPrediction:
        if args:
            raise ConfigurationError(self._positional_error())
        prediction: FusedPrediction = super().__call__(**kwargs)
        return prediction

    async def acall(self, *args: Any, **kwargs: Any) -> FusedPrediction:
        if args:
            raise ConfigurationError(self._positional_error())
        prediction: FusedPrediction = await super().acall(**kwargs)
        return prediction

    def _positional_error(self) -> str:
        names = list(self.signature.input_fields)
        return (
            f"positional arguments are not allowed when calling {type(self).__name__} (as with dspy.Predict): pass "
            f"the input fields by name: {', '.join(names)}. For example `program({names[0]}=...)`; for a "
            "dspy.Example, `program(**example.inputs())`."
        )

    async def aforward(self, **kwargs: Any) -> FusedPrediction:
        config = kwargs.pop("config", None)
        inputs = input_values(self.signature, kwargs)
        with dspy.context(**_config_context(config)):
            with unstreamed():  # N interleaved token streams are not an answer
                pool = await self.source.agenerate(inputs)
            logger.info(
                "pool done: %d of %d candidates answered in %.1f s%s", len(pool.succeeded), len(pool), pool.wall_s,
                f" ({len(pool.failed)} failed: {pool.failed[0].error})" if pool.failed else "",
            )  # fmt: skip
            if self.fail_count is not None and pool.succeeded and len(pool.failed) > self.fail_count:
                raise TooManyFailuresError(pool.failed, len(pool), self.fail_count)
            return await self.afrom_pool(inputs, pool)

    async def afrom_pool(self, inputs: dict[str, Any], pool: CandidatePool) -> FusedPrediction:
        """Aggregate a pool sampled elsewhere — compare fusion and selection on identical candidates."""
        if not pool.succeeded:
            raise AllCandidatesFailedError(pool.failed)
        start = time.perf_counter()
        trace: list[Any] = []
        live = fusor_streams_live(self.aggregator, inputs, pool)
        with dspy.track_usage() as tracker, dspy.context(trace=trace), nullcontext() if live else unstreamed():
            aggregation = await self.aggregator.aaggregate(inputs, pool)
        if aggregation.provenance is None:
            field = list(self.signature.output_fields)[-1]
            aggregation.provenance = provenance_of(as_text(aggregation.outputs.get(field, "")), pool, field)
        usage = RunUsage(
            candidates=pool.usage,
            aggregation=TokenUsage.from_tracker(tracker.usage_data),
            sampling_s=pool.wall_s,
            aggregation_s=time.perf_counter() - start,
        )
        logger.info(
            "answer: %s%s",
            aggregation.path or aggregation.method,
            f" ({aggregation.reason})" if aggregation.reason else "",
        )
        leave_in_trace(kept_trace(aggregation, pool, trace, self.signature))
        await send_answer(self, self.aggregator, aggregation, trace, live, self.output_keys)
        return FusedPrediction.build(aggregation, pool, usage, keys=self.output_keys)

    def named_parameters(self) -> list[tuple[str, Any]]:
        """DSPy's parameters (the predictors) plus `settings`: the tunable attributes of the source and the
        aggregator, so `save` / `load` keep thresholds, n, first-k, deadline and render options."""
        return [*super().named_parameters(), (SETTINGS, Settings(self))]

    def load_state(self, state: dict[str, Any], **kwargs: Any) -> None:
        """Also loads a `dspy.BestOfN` state (its program is at `module`, ours at `source.module`) and states saved
        before `settings` were (the current settings stay)."""
        state = dict(state)
        if not any(key.startswith("source.") for key in state):
            theirs = {key: v for key, v in state.items() if key == "module" or key.startswith("module.")}
            state.update({f"source.{key}": v for key, v in theirs.items()})
        state.setdefault(SETTINGS, Settings(self).dump_state())
        super().load_state(state, **kwargs)

    def stream_listeners(self, *fields: str) -> list[StreamListener]:
        """`dspy.streaming.StreamListener`s for these output fields (default: the last one), on the predictor that
        writes the answer: `dspy.streamify(program, stream_listeners=program.stream_listeners())`."""
        return answer_listeners(self, fields or [self.output_keys[-1]])

    def forward(self, **kwargs: Any) -> FusedPrediction:
        return run_sync(self.aforward(**kwargs))

    def from_pool(self, inputs: dict[str, Any], pool: CandidatePool) -> FusedPrediction:
        return run_sync(self.afrom_pool(inputs, pool))


def _config_context(config: dict[str, Any] | None) -> dict[str, Any]:
    """A caller's `config=` (as dspy.Predict takes it) applied to the LM in context: its `rollout_id` asks for a
    fresh pool (and a fresh fusor call), other keys are LM settings."""
    if not config:
        return {}
    from fusion_dspy.lm.resolve import resolve_lm

    return {"lm": (dspy.settings.lm or resolve_lm(None)).copy(**config)}


def resolve_n(n: int | None, N: int | None) -> int | None:
    if n is not None and N is not None and n != N:
        raise ConfigurationError(f"n={n} and N={N} disagree; pass one of them (N is dspy.BestOfN's spelling).")
    return n if n is not None else N


class FusionOfN(NofN):
    """Fusion-of-N: sample N candidates (concurrently) and let a fusor write one answer from all of them.

    `FusionOfN(dspy.ChainOfThought("question -> answer"), n=5)` answers like the wrapped module
    (`pred.reasoning`, `pred.answer`), with the pool and how it was fused on `pred.nofn`. Pass
    `source=TeacherPool([...])` to ask several models once each, and `fuser=Fuser(chain_of_thought=True, lm=...)`
    to configure the fusor; the default fusor reasons step by step when the wrapped module does.
    `N` is accepted as dspy.BestOfN spells it; `fail_count=k` raises when more than k candidate calls fail.

    When every candidate gives the same answer (on the answer fields, read by kind: `18` and `$18` are one
    number) the fusor is not called (nothing to fuse; a small fusor can only damage it). `adaptive=True` also
    skips the fusor when the candidates largely agree and keeps the best candidate when the fused answer is an
    invention or an unsupported outlier (`AdaptiveFusion`'s defaults: `AnswerConsensus`, thresholds per kind of
    answer); pass an `AdaptiveFusion(...)` (or a task's `task.adaptive_fusion()`) to choose its consensus and
    thresholds.
    `NofN(module, Fuser())` always calls the fusor.
    """

    def __init__(
        self,
        module: dspy.Module,
        n: int | None = None,
        *,
        source: CandidateSource | None = None,
        fuser: Fuser | LanguageRouter | None = None,
        signature: str | SignatureType | None = None,
        adaptive: bool | AdaptiveFusion = False,
        N: int | None = None,
        fail_count: int | None = None,
    ) -> None:
        if fuser is None and not isinstance(adaptive, AdaptiveFusion) and isinstance(module, dspy.Module):
            task = ensure_task_signature(signature, module)
            reasons = "reasoning" in module_output_fields(module, task) and "reasoning" not in task.output_fields
            fuser = Fuser(chain_of_thought=reasons)
        if isinstance(adaptive, AdaptiveFusion):
            if fuser is not None:
                raise ConfigurationError(
                    "pass the fuser to the AdaptiveFusion itself (AdaptiveFusion(fuser=...)), not to FusionOfN too."
                )
            aggregator = adaptive
        elif adaptive:
            aggregator = AdaptiveFusion(fuser or Fuser())
        else:
            aggregator = AdaptiveFusion.identical_only(fuser or Fuser())
        super().__init__(
            module, aggregator, n=resolve_n(n, N), source=source, signature=signature, fail_count=fail_count
        )

    @property
    def adaptive(self) -> AdaptiveFusion:
        """The policy around the fusor: its thresholds are plain attributes (e.g. `.floor_margin = 0.2`)."""
        assert isinstance(self.aggregator, AdaptiveFusion)
        return self.aggregator

    @property
    def fuser(self) -> Fuser:
        fuser = self.adaptive.fuser
        if isinstance(fuser, LanguageRouter):
            return fuser.default
        assert isinstance(fuser, Fuser)
        return fuser

    def load_state(self, state: dict[str, Any], **kwargs: Any) -> None:
        """Also loads states saved before the fusor moved under `aggregator.fuser` (keys `aggregator.predict…`)."""
        legacy = {
            f"aggregator.fuser.{key.removeprefix('aggregator.')}": value
            for key, value in state.items()
            if key.startswith("aggregator.") and not key.startswith("aggregator.fuser.")
        }
        super().load_state({**state, **legacy}, **kwargs)

    @classmethod
    def from_registry(
        cls,
        task: str,
        language: str | None = None,
        *,
        n: int | None = None,
        source: CandidateSource | None = None,
        registry: FusorRegistry | None = None,
        adaptive: bool = False,
    ) -> FusionOfN:
        """The task's program fused by its compiled fusor for `language`; with no language, each input is routed
        to the fusor of its detected language, falling back to the default fusor. `adaptive=True` wraps the
        fusor in the task's adaptive policy (`task.adaptive_fusion`)."""
        from fusion_dspy.programs import task_by_name

        spec = task_by_name(task)()
        registry = registry or FusorRegistry()
        aggregator: Fuser | LanguageRouter
        if language is not None:
            aggregator = registry.load(task, language, spec.signature)
        else:
            fusers = {lang: registry.load(task, lang, spec.signature) for lang in registry.languages(task)}
            aggregator = LanguageRouter(fusers, Fuser(chain_of_thought=spec.chain_of_thought), spec.language_of)
        if adaptive:
            return cls(spec.program(), n=n, source=source, adaptive=spec.adaptive_fusion(aggregator))
        return cls(spec.program(), n=n, source=source, fuser=aggregator)


class BestOfN(NofN):
    """Best-of-N: sample N candidates (concurrently) and keep the one `scorer` rates highest.

    A drop-in for `dspy.BestOfN(module, N, reward_fn, threshold, fail_count)`: the same arguments, in the same
    positions, with the same meaning (a plain `reward_fn(args, pred) -> float` becomes a `RewardFn`; with
    `threshold`, sampling stops and the calls still running are cancelled once a candidate reaches it). Unlike
    it, the samples run in parallel, it never returns None, a failed call is kept as data (`pred.nofn.failed`),
    and every candidate's score is reported (`pred.nofn.scores`).
    """

    def __init__(
        self,
        module: dspy.Module,
        n: int | None = None,
        reward_fn: RewardCallable | Scorer | None = None,
        threshold: float | None = None,
        fail_count: int | None = None,
        *,
        scorer: Scorer | RewardCallable | None = None,
        source: CandidateSource | None = None,
        signature: str | SignatureType | None = None,
        N: int | None = None,
    ) -> None:
        from fusion_dspy.select.mbr import MBRScorer

        if scorer is not None and reward_fn is not None:
            raise ConfigurationError("pass either scorer= or reward_fn= (dspy.BestOfN's name for it), not both.")
        chosen = as_scorer(scorer if scorer is not None else reward_fn) or MBRScorer()
        arrival = ArrivalScorer(chosen) if threshold is not None else None
        super().__init__(
            module,
            Selector(arrival or chosen),
            n=resolve_n(n, N),
            source=source,
            signature=signature,
            fail_count=fail_count,
        )
        self.threshold = threshold
        if arrival is not None and threshold is not None:
            self.source.stop_when = ThresholdStop(arrival, threshold, self.signature)

    @property
    def scorer(self) -> Scorer:
        assert isinstance(self.aggregator, Selector)
        scorer = self.aggregator.scorer
        return scorer.scorer if isinstance(scorer, ArrivalScorer) else scorer
