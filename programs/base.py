"""A benchmark task: a DSPy signature, a program, a loader and a metric — everything the eval harness needs."""

from __future__ import annotations

import copy
import random
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Self

import dspy

from fusion_dspy._async import run_sync
from fusion_dspy.adaptive import DEFAULT_FLOOR_MARGIN, DEFAULT_SKIP_AGREEMENT, AdaptiveFusion
from fusion_dspy.aggregator import Aggregator
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.lang import in_language
from fusion_dspy.metrics.judge import PairwiseJudge
from fusion_dspy.metrics.measurement import JudgementFailedError, Measurement
from fusion_dspy.programs.adaptive_defaults import Thresholds, load_thresholds
from fusion_dspy.prompts import prompt_digest
from fusion_dspy.routing import detected_input_language
from fusion_dspy.select.consensus import ConsensusScorer
from fusion_dspy.select.majority import MajorityVote
from fusion_dspy.select.mbr import MBRScorer
from fusion_dspy.select.normalize import NORMALIZERS
from fusion_dspy.signatures import SignatureType, describe_inputs

LANGUAGE_NAMES = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "en": "English", "es": "Spanish", "fr": "French",
    "hi": "Hindi", "it": "Italian", "ja": "Japanese", "ko": "Korean", "pt": "Portuguese", "ru": "Russian",
    "sw": "Swahili", "te": "Telugu", "th": "Thai", "zh": "Chinese",
}  # fmt: skip


class Task(ABC):
    """One benchmark. Subclasses set the class attributes and implement `rows`, `example` and `amatch`.

    Every score goes through one definition, `ascore` / `ameasure` (and `metric`, their DSPy form): an answer in the
    wrong language scores 0 (tasks with `checks_language`), otherwise the task's own `amatch`. Eval, studies,
    thresholds, the map and synth statistics all call these, so a number means the same everywhere.

    `metric_version` is bumped whenever the metric can score a stored answer differently: stored scores carry
    `score_version()`, and a re-report re-scores the ones made under another version (no new answers needed).
    `parallel` tasks share items across languages (MGSM, WMT24++, NTREX): `item_key` names the item an example
    is in every language, so reports resample items jointly across languages.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    languages: ClassVar[tuple[str, ...]]
    signature: ClassVar[SignatureType]
    chain_of_thought: ClassVar[bool] = False
    vote_normalizer: ClassVar[str] = "text"
    needs_baseline: ClassVar[bool] = False
    checks_language: ClassVar[bool] = False
    pass_threshold: ClassVar[float] = 0.5
    verifiable: ClassVar[bool] = False
    adaptive_defaults: ClassVar[Thresholds] = Thresholds(
        skip_agreement=DEFAULT_SKIP_AGREEMENT,
        floor_margin=DEFAULT_FLOOR_MARGIN,
        basis="a priori default for free text (not tuned)",
    )
    metric_lm_calls: ClassVar[int] = 0
    parallel: ClassVar[bool] = False
    metric_version: ClassVar[int] = 1
    language_check_since: ClassVar[int | None] = None
    """The `metric_version` from which eval scores carry the language check (older stored scores lack it)."""
    corpus_metric: ClassVar[str | None] = None
    second_metrics: ClassVar[tuple[str, ...]] = ()
    """Further per-example metrics (`match_second`), for reports that must not rest on the one a selector uses
    (MBR selects by chrF, so translation also reports BLEU)."""

    def __init__(self, data_dir: str | Path | None = None, judge_lm: dspy.BaseLM | str | None = None) -> None:
        """`judge_lm` is the *metric's* judge (judged tasks only); keep it apart from any selection judge."""
        self.data_dir = data_dir
        self.judge = PairwiseJudge(judge_lm)
        self.excluded: frozenset[str] = frozenset()
        self.dropped: frozenset[str] = frozenset()

    def excluding(self, item_keys: Iterable[str]) -> Self:
        """This task with these items (`item_key`s) left out of `load`, before its seeded `limit` sample (which
        then picks among the rest); e.g. every item a reported number was measured on
        (`fusion_dspy.programs.reported`), for training data."""
        task = copy.copy(self)
        task.excluded = frozenset(item_keys)
        return task

    def dropping(self, item_keys: Iterable[str]) -> Self:
        """This task with these items dropped from what `load` returns, after its seeded `limit` sample (never
        replaced: a subset keeps its other items); e.g. the items a tuned fusor trained on, when it is tested."""
        task = copy.copy(self)
        task.dropped = frozenset(item_keys)
        return task

    def score_version(self) -> str:
        """What a stored score depends on: the metric's version and, for judged tasks, the judge and its prompt."""
        version = f"{self.name}/metric-{self.metric_version}"
        if self.needs_baseline:
            lm = self.judge.lm
            model = lm if isinstance(lm, str) else getattr(lm, "model", "default")
            version += f"/judge-{model}/{prompt_digest('pairwise')}"
        return version

    def item_key(self, example_id: str, language: str) -> str:
        """The item an example is, the same in every language for parallel tasks (`de-159` and `en-159` are item
        `159` of MGSM); unique per language otherwise."""
        if not self.parallel:
            return f"{language}:{example_id}"
        return example_id.removeprefix(f"{language}-")

    def corpus_score(self, examples: list[dspy.Example], outputs: list[dict[str, Any]]) -> float | None:
        """A corpus-level score of all answers at once (`corpus_metric`), beside the mean of per-example scores;
        None when the task has none."""
        return None

    def gold_outputs(self, example: dspy.Example) -> dict[str, Any] | None:
        """The reference answer under the task's output field(s), as a labeled demo needs it; None when the task
        has no reference (judged tasks)."""
        return None

    def language_of(self, inputs: dict[str, Any]) -> str | None:
        """The language an input should be fused in (for routing to a per-language fusor): detected by default."""
        return detected_input_language(inputs)

    def answer_key(self, outputs: dict[str, Any]) -> str:
        """What makes two outputs the same answer: the final output field (not the reasoning), normalised as the
        task's vote normalises it when answers are verifiable ("180" and "180 Meter" are one number)."""
        text = str(outputs.get(self.output_field, ""))
        return NORMALIZERS[self.vote_normalizer](text) if self.verifiable else text

    def consensus(self) -> ConsensusScorer:
        """How candidates agree without an LM: votes on the normalised answer when answers are verifiable
        (the same normaliser as the task's majority vote), symmetric-chrF consensus for free text."""
        return MajorityVote(normalize=self.vote_normalizer) if self.verifiable else MBRScorer()

    @property
    def selection(self) -> str:
        """The selection method a fusor is measured against (the `consensus()` scorer's eval name): majority vote
        for verifiable answers, MBR for free text."""
        return "majority" if self.verifiable else "mbr"

    def adaptive_thresholds(self) -> Thresholds:
        """The thresholds chosen for this task (`programs/adaptive.json`), else the class's a priori defaults."""
        return load_thresholds(self.name) or self.adaptive_defaults

    def adaptive_fusion(self, fuser: Aggregator | None = None) -> AdaptiveFusion:
        """`AdaptiveFusion` around `fuser` (default: a `Fuser` with the task's chain of thought), with this task's
        consensus and thresholds."""
        from fusion_dspy.fuse import Fuser

        thresholds = self.adaptive_thresholds()
        return AdaptiveFusion(
            fuser if fuser is not None else Fuser(chain_of_thought=self.chain_of_thought),
            consensus=self.consensus(),
            skip_agreement=thresholds.skip_agreement,
            floor_margin=thresholds.floor_margin,
        )

    def program(self) -> dspy.Module:
        """The program whose samples form the candidate pool."""
        return dspy.ChainOfThought(self.signature) if self.chain_of_thought else dspy.Predict(self.signature)

    @property
    def output_field(self) -> str:
        return list(self.signature.output_fields)[-1]

    @abstractmethod
    def rows(self, language: str) -> list[dict[str, Any]]:
        """Raw rows for `language` from the loader."""

    @abstractmethod
    def example(self, row: dict[str, Any], language: str) -> dspy.Example:
        """One row as a DSPy example with its inputs marked and an `id`."""

    @abstractmethod
    async def amatch(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        """How well the outputs answer the example, in [0, 1], language aside (`ascore` adds the language check)."""

    def wrong_language(self, example: dspy.Example, outputs: dict[str, Any]) -> bool:
        """The one language check: True when the answer is in another language than the example's (tasks with
        `checks_language`). Short answers and answers that are mostly names, numbers or symbols are not judged
        (`fusion_dspy.lang.in_language`), nor are answers to items whose reference itself does not read as the
        language (hashtag lists, names: there a copy of the source is the translation)."""
        language = example.get("language")
        if not self.checks_language or not language:
            return False
        gold = self.gold_outputs(example)
        if gold is not None and not in_language(str(gold.get(self.output_field, "")), language):
            return False
        return not in_language(str(outputs.get(self.output_field, "")), language)

    async def ascore(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        """Score in [0, 1] of one prediction's outputs: 0 in the wrong language, else `amatch`."""
        if self.wrong_language(example, outputs):
            return 0.0
        return await self.amatch(example, outputs)

    def score_second(self, name: str, example: dspy.Example, outputs: dict[str, Any]) -> float:
        """A second metric (one of `second_metrics`), with the same language check as `ascore`."""
        if name not in self.second_metrics:
            raise ConfigurationError(f"task {self.name!r} has no metric {name!r}; it has {self.second_metrics}.")
        return 0.0 if self.wrong_language(example, outputs) else self.match_second(name, example, outputs)

    def match_second(self, name: str, example: dspy.Example, outputs: dict[str, Any]) -> float:
        """A second metric, language aside; tasks with `second_metrics` implement it."""
        raise NotImplementedError(f"task {self.name!r} declares {name!r} but does not compute it")

    async def ameasure(self, example: dspy.Example, outputs: dict[str, Any]) -> Measurement:
        """The score with the failed judgements behind it (None when every judgement failed); what the eval
        harness stores. A wrong-language answer scores 0 with no judge call."""
        if self.wrong_language(example, outputs):
            return Measurement(score=0.0)
        if self.needs_baseline:
            return await self.judged_against_baseline(example, outputs)
        return Measurement(score=await self.amatch(example, outputs))

    def rescorable_offline(self, stored_version: str | None) -> bool:
        """True when a stored judged score differs from the current metric only by the language check (it was made
        before `language_check_since`), so `rescored_offline` brings it up to date with no LM call."""
        if not self.needs_baseline or self.language_check_since is None or stored_version is None:
            return False
        current = self.score_version()
        older = [current.replace(f"/metric-{self.metric_version}/", f"/metric-{v}/", 1)
                 for v in range(1, self.language_check_since)]  # fmt: skip
        return stored_version in older

    def rescored_offline(self, example: dspy.Example, outputs: dict[str, Any], stored: float | None,
                         stored_version: str | None) -> float | None:  # fmt: skip
        """The current score of a stored judged answer with no LM call: 0 in the wrong language, else the stored
        score (see `rescorable_offline`, which the caller checks first)."""
        if not self.rescorable_offline(stored_version):
            raise ValueError(f"a {stored_version} score needs the judge again to be rescored as {self.score_version()}")
        return 0.0 if self.wrong_language(example, outputs) else stored

    async def ascore_judged(self, example: dspy.Example, outputs: dict[str, Any]) -> float:
        """`amatch` for judged tasks: the measured score, or JudgementFailedError when no judgement succeeded."""
        measured = await self.ameasure(example, outputs)
        if measured.score is None:
            raise JudgementFailedError(
                f"task {self.name!r}: the metric judge failed both judgements; use a stronger --metric-judge-model."
            )
        return measured.score

    def load(self, language: str, limit: int | None = None, seed: int = 0) -> list[dspy.Example]:
        """Examples for `language`: all of them, or a seeded random subset of `limit` (same seed, same subset),
        drawn from the rows whose item is not `excluded`."""
        if language not in self.languages:
            raise ConfigurationError(
                f"task {self.name!r} has no language {language!r}; choose from {', '.join(self.languages)}."
            )
        rows = self.rows(language)
        if self.excluded:
            rows = [r for r in rows if self.item_key(self.example(r, language).id, language) not in self.excluded]
        if limit is not None and limit < len(rows):
            keep = sorted(random.Random(f"{self.name}:{language}:{seed}").sample(range(len(rows)), limit))
            rows = [rows[i] for i in keep]
        examples = [self.example(row, language).copy(language=language) for row in rows]
        return [e for e in examples if self.item_key(e.id, language) not in self.dropped]

    def metric(self, example: dspy.Example, prediction: dspy.Prediction, trace: Any = None) -> float | bool:
        """DSPy metric (`ascore`: the language check included): the score, or pass/fail when an optimiser is
        tracing. Optimisers use it as is: their proposed instructions are English, and a fusor tuned on them
        drifts into English, which scores 0."""
        score = run_sync(self.ascore(example, dict(prediction.items())))
        return score >= self.pass_threshold if trace is not None else score

    async def judged_against_baseline(self, example: dspy.Example, outputs: dict[str, Any]) -> Measurement:
        """Pairwise judge win-rate of these outputs against the example's baseline answer (both orders)."""
        baseline = example.get("baseline")
        if baseline is None:
            raise ConfigurationError(
                f"task {self.name!r} scores against a baseline answer; set example.baseline "
                "(the eval harness does this with one greedy sample)."
            )
        task_text = describe_inputs(self.signature, example.inputs().toDict())
        return await self.judge.ameasure(task_text, str(outputs.get(self.output_field, "")), str(baseline))
