"""An Optuna study per (task, language) over the fusion knobs, with DSPy optimisers inside each trial.

Knobs: n (a prefix of the stored pools), first-k (optional: fuse only the k earliest answers, replayed by
recorded latency), sampling temperature, chain of thought, number of demos, optimiser, fusor model.
Objective: the language-aware validation metric minus an optional token-cost penalty. Storage is a real
database (`sqlite:///studies.db` by default; any SQLAlchemy URL), loaded if it exists, so a killed study
continues; every trial records its configuration, scores and tokens as user attributes (`optuna-dashboard`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dspy
import optuna
from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.eval import EvalConfig, Evaluation
from fusion_dspy.fuse import Fuser
from fusion_dspy.lm.resolve import lm_options, resolve_lm
from fusion_dspy.optimizers.compile import OPTIMIZERS, compile_fusor, evaluate
from fusion_dspy.optimizers.fusor_data import Splits, fusor_examples, split
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.registry import FusorRegistry, RegistryEntry
from fusion_dspy.usage import TokenUsage


class StudyConfig(BaseModel):
    task: str
    language: str
    out_dir: Path = Field(description="Pools (shared with `fusion-dspy eval`) and each trial's fusor state.")
    storage: str = "sqlite:///studies.db"
    trials: int = 20
    model: str | None = None
    api_base: str | None = None
    max_tokens: int | None = None
    n: int = 5
    limit: int = 30
    temperatures: list[float] = Field(default_factory=lambda: [0.8])
    optimizers: list[str] = Field(default_factory=lambda: ["bootstrap"])
    fusor_models: list[str] = Field(default_factory=list)
    chain_of_thought: list[bool] = Field(default_factory=lambda: [False, True])
    first_k: bool = Field(default=False, description="Also tune k (fuse the first k answers; k = n waits for all).")
    max_demos: int = 2
    cost_penalty: float = Field(default=0.0, description="Subtracted per 1,000 tokens per validation example.")
    seed: int = 0
    threads: int = 4
    data_dir: str | None = None

    def check(self) -> None:
        unknown = [o for o in self.optimizers if o not in OPTIMIZERS]
        if unknown:
            raise ConfigurationError(f"unknown optimizer(s) {unknown}; choose from {', '.join(OPTIMIZERS)}.")
        if self.trials < 1 or self.n < 1 or self.limit < 3:
            raise ConfigurationError("--trials and -n must be ≥ 1 and --limit ≥ 3 (train, val and test need one each).")

    def defining(self) -> dict[str, Any]:
        """Everything that defines the study: its data (task, language, limit, seed), its pools (model, n,
        max_tokens, temperatures), its search space and its objective. Not: trials, storage, threads, paths."""
        return self.model_dump(
            mode="json",
            include={"task", "language", "limit", "seed", "model", "n", "max_tokens", "temperatures", "optimizers",
                     "fusor_models", "chain_of_thought", "max_demos", "cost_penalty"},
        )  # fmt: skip

    @property
    def study_name(self) -> str:
        """`fusion-<task>-<language>-<digest of defining()>`: another --limit, --seed, --model … is another study,
        with its own splits, so a best trial is never tested on examples another configuration trained on."""
        digest = hashlib.sha256(json.dumps(self.defining(), sort_keys=True).encode()).hexdigest()[:8]
        return f"fusion-{self.task}-{self.language}-{digest}"

    def candidate_model(self) -> str:
        return self.model or "local"


class StudyResult(BaseModel):
    best_trial: int
    best_params: dict[str, Any]
    val_score: float
    before: float
    after: float
    splits: dict[str, int]
    trials_completed: int
    registered: Path | None = None


class FusorStudy:
    def __init__(self, config: StudyConfig) -> None:
        config.check()
        self.config = config
        self._pools: dict[float, tuple[list[dspy.Example], Any]] = {}
        self._lms: dict[str, dspy.BaseLM] = {}
        self.task = self.evaluation(config.temperatures[0]).task

    def lm(self, name: str) -> dspy.BaseLM:
        if name not in self._lms:
            options = lm_options(self.config.api_base, self.config.max_tokens)
            self._lms[name] = resolve_lm(name, **options).copy(temperature=0.0)
        return self._lms[name]

    def evaluation(self, temperature: float) -> Evaluation:
        c = self.config
        return Evaluation(EvalConfig(
            task=c.task, languages=[c.language], out_dir=c.out_dir, n=c.n, limit=c.limit, model=c.model,
            api_base=c.api_base, temperature=temperature, max_tokens=c.max_tokens, seed=c.seed, scorers=[],
            data_dir=c.data_dir,
        ))  # fmt: skip

    def splits(self, temperature: float, n: int | None, k: int | None = None) -> Splits:
        if temperature not in self._pools:
            evaluation = self.evaluation(temperature)
            self._pools[temperature] = asyncio.run(evaluation.ensure_pools(self.config.language))
        examples, pools = self._pools[temperature]
        return split(fusor_examples(self.task, examples, pools, n, k), seed=self.config.seed)

    def fusor(self, chain_of_thought: bool, model: str) -> FusorOnly:
        return FusorOnly(Fuser(chain_of_thought=chain_of_thought, lm=self.lm(model)).bind(self.task.signature))

    def default_fusor(self) -> FusorOnly:
        """What a user gets without tuning: the task's default Fuser (its own chain-of-thought setting, default
        instructions, no demos) on the first fusor model."""
        c = self.config
        return self.fusor(self.task.chain_of_thought, c.fusor_models[0] if c.fusor_models else c.candidate_model())

    def split_ids(self) -> dict[str, list[str]]:
        """The example ids of each split (the same for every temperature and n of the study)."""
        data = self.splits(self.config.temperatures[0], self.config.n)
        return {"train": [e.id for e in data.train], "val": [e.id for e in data.val], "test": [e.id for e in data.test]}

    def score(self, program: FusorOnly, devset: list[dspy.Example]) -> tuple[float, TokenUsage]:
        return evaluate(program, devset, self.task.language_metric, self.config.threads)

    def objective(self, trial: optuna.Trial) -> float:
        c = self.config
        temperature = trial.suggest_categorical("temperature", c.temperatures)
        n = trial.suggest_int("n", min(2, c.n), c.n)
        k = min(n, trial.suggest_int("k", 1, c.n)) if c.first_k else None
        cot = trial.suggest_categorical("chain_of_thought", c.chain_of_thought)
        demos = trial.suggest_int("demos", 0, c.max_demos)
        optimizer = trial.suggest_categorical("optimizer", c.optimizers)
        model = trial.suggest_categorical("fusor_model", c.fusor_models or [c.candidate_model()])
        data = self.splits(temperature, n, k)
        compiled = compile_fusor(self.fusor(cot, model), optimizer, self.task.language_metric, data.train, data.val,
                                 max_demos=demos, seed=c.seed, threads=c.threads)  # fmt: skip
        value, usage = self.score(compiled, data.val)
        per_example = usage.total_tokens / max(1, len(data.val))
        state = c.out_dir / "trials" / f"{c.study_name}-{trial.number}.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        compiled.fuser.save(str(state))
        trial.set_user_attr("val_score", value)
        trial.set_user_attr("tokens_per_example", per_example)
        trial.set_user_attr("lm_calls", usage.lm_calls)
        trial.set_user_attr("splits", data.sizes())
        trial.set_user_attr("state", state.name)
        if k is not None:
            trial.set_user_attr("k", k)  # the k used: the suggested one, at most n
        return value - c.cost_penalty * per_example / 1000

    def study(self) -> optuna.Study:
        """The stored study of this configuration (created on first use). One whose recorded configuration or
        splits differ from this run's is refused rather than continued."""
        c = self.config
        study = optuna.create_study(
            study_name=c.study_name, storage=c.storage, load_if_exists=True, direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=c.seed),
        )  # fmt: skip
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
        for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
        return study

    def run(self, on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None) -> optuna.Study:
        """Run the trials still missing from the stored study (a rerun after a kill continues)."""
        study = self.study()
        done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        if done < self.config.trials:
            study.optimize(self.objective, n_trials=self.config.trials - done, callbacks=[on_trial] if on_trial else [])
        return study

    def finish(self, study: optuna.Study, registry: FusorRegistry | None) -> StudyResult:
        """Test the best trial's fusor against the default one on the held-out split; register it.

        "Before" is exactly what a user gets without tuning: the task's default fusor over the study's full pools
        (n, first temperature); "after" is the tuned fusor over the pools its trial chose. Same test examples.
        """
        c = self.config
        best = study.best_trial
        params = best.params
        data = self.splits(params["temperature"], params["n"], best.user_attrs.get("k"))
        untuned = self.splits(c.temperatures[0], c.n)
        if [e.id for e in untuned.test] != [e.id for e in data.test]:
            raise ConfigurationError("the held-out split differs between pools; rerun with the same --limit/--seed.")
        before, _ = self.score(self.default_fusor(), untuned.test)
        tuned = self.fusor(params["chain_of_thought"], params["fusor_model"])
        tuned.fuser.load(str(c.out_dir / "trials" / best.user_attrs["state"]))
        after, _ = self.score(tuned, data.test)
        result = StudyResult(
            best_trial=best.number, best_params=params, val_score=best.user_attrs["val_score"], before=before,
            after=after, splits=data.sizes(),
            trials_completed=len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))),
        )  # fmt: skip
        if registry is not None:
            if after > before:
                note = None
            elif after == before:
                note = "no held-out change: the tuned fusor gave the same test scores as the default one"
            else:
                note = "held-out score fell; kept for the record, route with care"
            entry = RegistryEntry(
                task=c.task, language=c.language, metric=f"{self.task.description}; 0 in the wrong language",
                before=before,
                after=after, splits=data.sizes(), optimizer=params["optimizer"], n=params["n"],
                k=best.user_attrs.get("k"),
                chain_of_thought=params["chain_of_thought"],
                models={"candidates": c.candidate_model(), "fusor": params["fusor_model"]},
                note=note,
            )  # fmt: skip
            result.registered = registry.save(tuned.fuser, entry)
        return result
