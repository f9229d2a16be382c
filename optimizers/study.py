"""An Optuna study per (task, language) over the fusion knobs, with DSPy optimisers inside each trial.

Knobs: n (a prefix of the stored pools), first-k (optional: fuse only the k earliest answers, replayed by
recorded latency), sampling temperature, chain of thought, number of demos, optimiser, fusor model, and
(optional) adaptive fusion's skip_agreement / floor_margin. Objectives: the language-aware validation metric
(minus an optional token-cost penalty), or that score and the fusor tokens per example as a Pareto front.
Splits are stratified by pool difficulty (`optimizers.strata`). Storage is a real database
(`sqlite:///studies.db` by default; any SQLAlchemy URL), loaded if it exists, so a killed study continues;
every trial records its configuration, scores and tokens as user attributes (`optuna-dashboard`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dspy
import optuna
from optuna.study import StudyDirection

from fusion_dspy._async import run_sync
from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import EvalConfig, Evaluation
from fusion_dspy.eval.thresholds import FLOOR_GRID, SKIP_GRID
from fusion_dspy.fuse import Fuser
from fusion_dspy.lm.resolve import greedy, lm_options, resolve_lm
from fusion_dspy.lm.response_log import response_log
from fusion_dspy.optimizers.compile import compile_fusor, evaluate
from fusion_dspy.optimizers.feedback import feedback_metric
from fusion_dspy.optimizers.fusor_data import CANDIDATES, Splits, fusor_examples
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.score_store import ScoreStore, score_with_store
from fusion_dspy.optimizers.scoring import OnScored, Scored, ascore_each
from fusion_dspy.optimizers.strata import Stratum, hard_first, strata_of, stratified_ids
from fusion_dspy.optimizers.study_config import REFLECTION_TOKENS, StudyConfig, StudyResult, digest
from fusion_dspy.programs.adaptive_defaults import Thresholds
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.usage import TokenUsage

COMPLETE = (optuna.trial.TrialState.COMPLETE,)
Progress = Callable[[str, int, int], Callable[[], None]]
"""(step label, examples, examples already done) -> a callable the step calls once per example it scores."""
SQLITE = "sqlite:///"


def adaptive_of(params: dict[str, Any]) -> Thresholds | None:
    """The adaptive-fusion thresholds a trial chose, or None for plain fusion."""
    if not params.get("adaptive"):
        return None
    return Thresholds(skip_agreement=params["skip_agreement"], floor_margin=params["floor_margin"], basis="study")


def pick_best(study: optuna.Study) -> optuna.trial.FrozenTrial:
    """The best trial; for a Pareto front, its highest validation score (fewest tokens on a tie)."""
    if len(study.directions) == 1:
        return study.best_trial
    return max(study.best_trials, key=lambda t: (t.values[0], -t.values[1], -t.number))


class FusorStudy:
    def __init__(self, config: StudyConfig) -> None:
        config.check()
        self.config = config
        self._pools: dict[float, tuple[list[dspy.Example], Any]] = {}
        self._lms: dict[tuple[str, int | None], dspy.BaseLM] = {}
        self._strata: dict[str, Stratum] | None = None
        self._ids: dict[str, list[str]] | None = None
        self.task = self.evaluation(config.temperatures[0]).task
        self.progress: Progress | None = None
        """Set by a caller that shows progress (see `Progress`)."""

    def lm(self, name: str, max_tokens: int | None = None) -> dspy.BaseLM:
        """The model `name` at temperature 0 with the study's token limit (or `max_tokens`), made once."""
        limit = max_tokens or self.config.max_tokens
        if (name, limit) not in self._lms:
            options = lm_options(self.config.api_base, limit)
            self._lms[(name, limit)] = greedy(resolve_lm(name, **options))
        return self._lms[(name, limit)]

    def reflection_lm(self, fusor_model: str) -> dspy.BaseLM:
        """The LM that proposes instructions (MIPROv2, GEPA): --reflection-model, else the fusor model, with room
        for a whole instruction."""
        limit = max(REFLECTION_TOKENS, self.config.max_tokens or 0)
        return self.lm(self.config.reflection_model or fusor_model, limit)

    def evaluation(self, temperature: float) -> Evaluation:
        c = self.config
        return Evaluation(EvalConfig(
            task=c.task, languages=[c.language], out_dir=c.pools_dir or c.out_dir, n=c.n, limit=c.limit, model=c.model,
            api_base=c.api_base, temperature=temperature, max_tokens=c.max_tokens, seed=c.seed, scorers=[],
            data_dir=c.data_dir,
        ))  # fmt: skip

    def examples(self, temperature: float, n: int | None, k: int | None = None) -> list[dspy.Example]:
        """Fusor examples over the stored pools of `temperature` (sampling missing pools first)."""
        if temperature not in self._pools:
            evaluation = self.evaluation(temperature)
            self._pools[temperature] = asyncio.run(evaluation.ensure_pools(self.config.language))
        examples, pools = self._pools[temperature]
        return fusor_examples(self.task, examples, pools, n, k)

    def strata(self) -> dict[str, Stratum]:
        """Example id → pool difficulty, on the study's full pools (n, first temperature)."""
        if self._strata is None:
            c = self.config
            self._strata = strata_of(self.task, self.examples(c.temperatures[0], c.n), c.stratum_threshold)
        return self._strata

    def adopt_stored_splits(self, stored: dict[str, list[str]] | None) -> None:
        """A study keeps the splits it was made with: when the stored ones partition exactly this run's examples,
        they are used even if the strata would now come out otherwise (a metric fix can move a pool from one
        stratum to another, which would reshuffle every split). Other examples are still refused (`study`)."""
        if not stored:
            return
        computed = self.split_ids()
        if sorted(i for ids in stored.values() for i in ids) == sorted(i for ids in computed.values() for i in ids):
            self._ids = {name: list(ids) for name, ids in stored.items()}

    def split_ids(self) -> dict[str, list[str]]:
        """The example ids of each split, stratified by pool difficulty (the same for every temperature, n, k)."""
        if self._ids is None:
            self._ids = stratified_ids(self.strata(), seed=self.config.seed)
        return self._ids

    def splits(self, temperature: float, n: int | None, k: int | None = None) -> Splits:
        """The study's splits over these pools; train is ordered hard pools first (`strata.hard_first`)."""
        by_id = {e.id: e for e in self.examples(temperature, n, k)}
        ids = self.split_ids()
        part = {name: [by_id[i] for i in ids[name] if i in by_id] for name in ids}
        return Splits(train=hard_first(part["train"], self.strata()), val=part["val"], test=part["test"])

    def fusor(self, chain_of_thought: bool, model: str) -> FusorOnly:
        lm = self.lm(model, self.config.fusor_max_tokens)
        return FusorOnly(Fuser(chain_of_thought=chain_of_thought, lm=lm).bind(self.task.signature))

    def default_fusor(self) -> FusorOnly:
        """What a user gets without tuning: the task's default Fuser (its own chain-of-thought setting, default
        instructions, no demos) on the first fusor model."""
        return self.fusor(self.task.chain_of_thought, self.config.default_fusor_model())

    def score(self, program: FusorOnly, devset: list[dspy.Example]) -> tuple[float, TokenUsage]:
        return evaluate(program, devset, self.task.metric, self.config.threads)

    def score_each(
        self,
        program: FusorOnly,
        devset: list[dspy.Example],
        adaptive: Thresholds | None = None,
        label: str = "",
        stored: bool = False,
    ) -> Scored:
        """Every example's score (plain fusion, or adaptive fusion with these thresholds) and the tokens spent;
        `label` names the step on the progress display (`progress`), when one is set. `stored`: scores already
        in the study folder's score store are read back and new ones kept there (`optimizers.score_store`)."""
        metric, threads = self.task.metric, self.config.threads

        def score(examples: list[dspy.Example], on_scored: OnScored | None = None, read_back: int = 0) -> Scored:
            progress = self.progress if label else None
            advance = progress(label, read_back + len(examples), read_back) if progress is not None else None
            return run_sync(ascore_each(program, examples, metric, threads, task=self.task, adaptive=adaptive,
                                        advance=advance, on_scored=on_scored))  # fmt: skip

        if not stored:
            return score(devset)
        store = ScoreStore(self.config.out_dir)
        return score_with_store(store, program, devset, self.metric_key, adaptive, score)

    @property
    def metric_key(self) -> str:
        """What the score store keys a score's metric by: the task and the metric's version, so a metric fix
        scores the stored answers again (replayed from the response log) instead of reading old scores back."""
        return f"{self.task.description} [{self.task.score_version()}]"

    def demo_strata(self, program: FusorOnly, train: Sequence[dspy.Example]) -> list[str]:
        """The stratum of each demo the compiled fusor carries (matched to its training pool by candidates)."""
        strata, by_pool = self.strata(), {e.get(CANDIDATES): e.id for e in train}
        demos = [d for _, p in program.named_predictors() for d in p.demos]
        return [strata.get(by_pool.get(d.get(CANDIDATES), ""), "unscored") for d in demos]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """The trial's knobs (define-by-run: adaptive thresholds only when adaptive fusion is on)."""
        c = self.config
        knobs: dict[str, Any] = {
            "temperature": trial.suggest_categorical("temperature", c.temperatures),
            "n": trial.suggest_int("n", min(2, c.n), c.n),
        }
        knobs["k"] = min(knobs["n"], trial.suggest_int("k", 1, c.n)) if c.first_k else None
        knobs["chain_of_thought"] = trial.suggest_categorical("chain_of_thought", c.chain_of_thought)
        knobs["demos"] = trial.suggest_int("demos", 0, c.max_demos)
        knobs["optimizer"] = trial.suggest_categorical("optimizer", c.optimizers)
        knobs["fusor_model"] = trial.suggest_categorical("fusor_model", c.fusor_models or [c.candidate_model()])
        if c.adaptive and trial.suggest_categorical("adaptive", [False, True]):
            trial.suggest_categorical("skip_agreement", list(SKIP_GRID))  # the grid `fusion-dspy thresholds` tries
            trial.suggest_categorical("floor_margin", list(FLOOR_GRID))
        knobs["adaptive"] = adaptive_of(trial.params)
        return knobs

    def objective(self, trial: optuna.Trial) -> float | tuple[float, float]:
        c = self.config
        knobs = self.suggest(trial)
        data = self.splits(knobs["temperature"], knobs["n"], knobs["k"])
        compiled = compile_fusor(
            self.fusor(knobs["chain_of_thought"], knobs["fusor_model"]), knobs["optimizer"], self.task.metric,
            data.train, data.val, max_demos=knobs["demos"], reflection_lm=self.reflection_lm(knobs["fusor_model"]),
            feedback=feedback_metric(self.task), budget=c.optimizer_budget, seed=c.seed, threads=c.threads,
            checkpoint_dir=self.checkpoint_dir(trial.params),
        )  # fmt: skip
        scored = self.score_each(compiled, data.val, knobs["adaptive"], f"trial {trial.number}: validation")
        value, per_example = scored.mean, scored.tokens_per_example()
        state = c.out_dir / "trials" / f"{c.study_name}-{trial.number}.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        compiled.fuser.save(str(state))
        trial.set_user_attr("val_score", value)
        trial.set_user_attr("val_scores", scored.scores)  # per example: the finish pairs other fusors against them
        trial.set_user_attr("tokens_per_example", per_example)
        trial.set_user_attr("lm_calls", scored.usage.lm_calls)
        trial.set_user_attr("splits", data.sizes())
        trial.set_user_attr("state", state.name)
        trial.set_user_attr("demo_strata", self.demo_strata(compiled, data.train))
        if knobs["k"] is not None:
            trial.set_user_attr("k", knobs["k"])  # the k used: the suggested one, at most n
        if c.multi_objective:
            return value, per_example
        return value - c.cost_penalty * per_example / 1000

    def checkpoint_dir(self, params: dict[str, Any]) -> Path:
        """Where an optimiser that can resume (GEPA) keeps its state during a trial: named by the trial's
        parameters, so a trial killed and queued again (same parameters, new number) continues from it."""
        return self.config.out_dir / "checkpoints" / f"{self.config.study_name}-{digest(params, 10)}"

    def study(self) -> optuna.Study:
        """The stored study of this configuration (created on first use). One whose recorded configuration or
        splits differ from this run's is refused rather than continued."""
        c = self.config
        if c.storage.startswith(SQLITE) and c.storage != SQLITE + ":memory:":
            Path(c.storage.removeprefix(SQLITE)).parent.mkdir(parents=True, exist_ok=True)  # SQLite makes no folders
        directions = [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE][: 2 if c.multi_objective else 1]
        study = optuna.create_study(
            study_name=c.study_name, storage=c.storage, load_if_exists=True, directions=directions,
        )  # fmt: skip
        # The seed moves on with the trials stored: a restarted process must not draw the same random start again.
        study.sampler = optuna.samplers.TPESampler(seed=c.seed + len(study.trials))
        self.adopt_stored_splits(study.user_attrs.get("split_ids"))
        expected = {"config": c.defining(), "split_ids": self.split_ids()}
        for name, value in expected.items():
            stored = study.user_attrs.get(name)
            if stored is None:
                study.set_user_attr(name, value)
            elif stored != value:
                raise ConfigurationError(
                    f"study {c.study_name} in {c.storage} was made with another {name.replace('_', ' ')} "
                    f"({json.dumps(stored)[:300]}); this run has {json.dumps(value)[:300]}. Continue it with its "
                    "own settings and data, or use another --storage for a new study."
                )
        # A trial left running by a killed process is closed as failed and queued again with its own parameters:
        # its scored calls are stored, so the retry continues it instead of the sampler drawing something else.
        for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
            params = {**stale.system_attrs.get("fixed_params", {}), **stale.params}  # queued ones, or drawn ones
            study.enqueue_trial(params, user_attrs={"retry_of": stale.number})
        waiting = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.WAITING)
        if not study.get_trials(deepcopy=False, states=waiting):
            study.enqueue_trial(self.first_params())
        return study

    def first_params(self) -> dict[str, Any]:
        """The first trial of every study: the fullest configuration (all n candidates, the most demos, the task's
        own chain of thought, the first optimiser and model, plain fusion), so a one-trial study runs exactly
        that optimiser at full size."""
        c = self.config
        own = self.task.chain_of_thought
        params: dict[str, Any] = {
            "temperature": c.temperatures[0], "n": c.n, "demos": c.max_demos, "optimizer": c.optimizers[0],
            "chain_of_thought": own if own in c.chain_of_thought else c.chain_of_thought[0],
            "fusor_model": (c.fusor_models or [c.candidate_model()])[0],
        }  # fmt: skip
        if c.first_k:
            params["k"] = c.n
        if c.adaptive:
            params["adaptive"] = False
        return params

    def run(
        self,
        on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
        study: optuna.Study | None = None,
    ) -> optuna.Study:
        """Run the trials still missing from the stored study (a rerun after a kill continues, and the trial the
        kill cut is queued again with its parameters). `study`: one this runner's `study()` already opened."""
        study = study if study is not None else self.study()
        done = len(study.get_trials(deepcopy=False, states=COMPLETE))
        if done < self.config.trials:
            with response_log(self.config.responses_path, self.config.study_name):
                study.optimize(self.objective, n_trials=self.config.trials - done,
                               callbacks=[on_trial] if on_trial else [])  # fmt: skip
        return study

    def finish(self, study: optuna.Study, registry: FusorRegistry | None, report: bool = True) -> StudyResult:
        """Test the best trial against the default fusor on the held-out split, register it unless it is worse
        beyond noise, and write the study report (see `optimizers.finish`)."""
        from fusion_dspy.optimizers.finish import finish_study

        with response_log(self.config.responses_path, self.config.study_name):
            return finish_study(self, study, registry, report=report)
