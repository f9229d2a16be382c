"""Recompute every registered study's paired comparisons from the per-example scores its study folder stored
(`scores.jsonl`), with no model call: the held-out comparison, the fresh-example replication and the ablation
halves, each now keeping its per-example (default, tuned) scores, from which `fusion-dspy studies` computes the
permutation test, Holm's adjustment and the difference without the top 2 examples; and each entry's held-out
reuse (`optimizers.reuse`). Entries registered before those were kept get them here; after a change to the stored
scores (a re-scoring), this brings the manifests and the reports' held-out sections up to date. It says, per
comparison, whether its numbers moved from the registered ones. No model is called: a score the store lacks is
replayed from the study folder's response log, with the LM pointed at no server.

Run from the repository root, then regenerate the table (README.md of results/optimize names both):

    python results/optimize/real/paired_scores.py && fusion-dspy studies results/optimize/real \
        --storage sqlite:///results/optimize/real/studies.db --out results/optimize/real/STUDIES.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import dspy
import optuna

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.files import write_atomically
from fusion_dspy.lm.embedded import LOCAL_API_KEY, local_options
from fusion_dspy.lm.response_log import response_log
from fusion_dspy.lm.weights import EMBEDDED_MODELS
from fusion_dspy.optimizers import FusorStudy, StudyConfig
from fusion_dspy.optimizers.ablation import demos_from, instructions_only
from fusion_dspy.optimizers.comparison import manifests
from fusion_dspy.optimizers.finish import verdict
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.heldout import compare_held_out
from fusion_dspy.optimizers.replication import fresh
from fusion_dspy.optimizers.report import check_lines, held_out_lines
from fusion_dspy.optimizers.reuse import held_out_reuse
from fusion_dspy.optimizers.score_store import ScoreStore, score_with_store
from fusion_dspy.optimizers.scoring import FAILED, OnScored, Scored
from fusion_dspy.optimizers.study import adaptive_of, pick_best
from fusion_dspy.programs.adaptive_defaults import Thresholds
from fusion_dspy.registry import MANIFEST, HeldOut, Manifest, RegistryEntry

HERE = Path("results/optimize/real")
POOLS = {"translation": Path("results/realsize/translation"), "math": Path("results/realsize/math")}
"""Where the studies read their pools (`optimize --pools`, results/optimize/README.md)."""
NOWHERE = "http://127.0.0.1:9/v1"
"""No server listens there (the discard port): a call the response log cannot answer is refused at once."""
FIELDS = ("n", "difference", "low", "high", "win", "tie", "loss", "p_sign")


class StoredOnly(FusorStudy):
    """A study runner on the splits the study stored (a metric change can move a pool to another stratum, which
    would reshuffle splits computed afresh) whose LMs are never called: an embedded model's LM is made with the
    settings `resolve_lm` gives it, without starting its server (only the score store's keys need the LM; the
    weights need not be installed)."""

    def __init__(self, config: StudyConfig, split_ids: dict[str, list[str]]) -> None:
        super().__init__(config)
        self.stored_ids = split_ids

    def split_ids(self) -> dict[str, list[str]]:
        return self.stored_ids

    def lm(self, name: str, max_tokens: int | None = None) -> dspy.BaseLM:
        if name not in EMBEDDED_MODELS:
            return super().lm(name, max_tokens)
        options = local_options(max_tokens=max_tokens or self.config.max_tokens or local_options()["max_tokens"])
        lm = dspy.LM(f"openai/{name}", api_base=NOWHERE, api_key=LOCAL_API_KEY, **options)
        return lm.copy(temperature=0.0)


def stored(runner: FusorStudy, program: FusorOnly, devset: list[dspy.Example], adaptive: Thresholds | None) -> Scored:
    """`program`'s stored scores on `devset`. The store keeps every score but a failed call's (the study scored it
    0) and those of the first studies (keyed by a server port, dropped); those are replayed from the study
    folder's response log, with the LM pointed at no server, so a call the log cannot answer fails (and scores 0)
    instead of reaching a model. Whether the result is the registered one is then checked (`moved`, `recompute`)."""

    def replay(missing: list[dspy.Example], _: OnScored, read_back: int) -> Scored:
        with response_log(runner.config.responses_path):
            replayed = runner.score_each(program, missing, adaptive)
        failed = sum(path == FAILED for path in replayed.paths.values())
        total = read_back + len(missing)
        print(f"    {len(missing)} of {total} scores not stored: replayed from the response log, {failed} failed")
        return replayed

    store = ScoreStore(runner.config.out_dir)
    return score_with_store(store, program, devset, runner.metric_key, adaptive, replay)


def moved(name: str, old: HeldOut, new: HeldOut, *scored: Scored) -> HeldOut:
    """Print the recomputed comparison, and what it was when it moved (or its strata did: they come from the
    current metric's view of the pools). Return the registered one with the per-example pairs added when its
    numbers did not move; the recomputed one when they did; the registered one unchanged when they moved while
    some calls could not be replayed (a 0 there is a missing answer, not a score)."""
    same = all(abs(float(getattr(old, f)) - float(getattr(new, f))) < 1e-12 for f in FIELDS)
    old_strata = {k: v.model_dump() for k, v in old.strata.items()}
    strata = "" if old_strata == {k: v.model_dump() for k, v in new.strata.items()} else "; strata moved"
    was = "" if same else f" (was {old.interval} {old.win}/{old.tie}/{old.loss})"
    failed = sum(path == FAILED for s in scored for path in s.paths.values())
    if was and failed:
        print(f"  {name}: kept as registered ({old.interval}): {failed} calls could not be replayed")
        return old
    print(f"  {name}: {new.interval} {new.win}/{new.tie}/{new.loss}{was}{strata}")
    return new if was else old.model_copy(update={"pairs": new.pairs})  # unmoved: only the pairs are added


def recompute(entry: RegistryEntry, root: Path, storage: str) -> RegistryEntry:
    """`entry` with its comparisons recomputed from the stored scores, per-example pairs kept, and its reuse."""
    study = optuna.load_study(study_name=entry.study or "", storage=storage)
    config = StudyConfig(
        **study.user_attrs["config"], out_dir=root.parent, pools_dir=POOLS[entry.task], storage=storage, threads=1
    )
    if config.study_name != entry.study:
        raise ConfigurationError(f"{root}: the stored settings name study {config.study_name}, not {entry.study}.")
    runner = StoredOnly(config, study.user_attrs["split_ids"])
    best = pick_best(study)
    params, adaptive = best.params, adaptive_of(best.params)
    registered = runner.fusor(entry.chain_of_thought, entry.models["fusor"])
    registered.fuser.load(str(root / entry.path))
    default = runner.default_fusor()
    untuned = runner.splits(config.temperatures[0], config.n).test
    data = runner.splits(params["temperature"], params["n"], entry.k).test
    before, after = stored(runner, default, untuned, None), stored(runner, registered, data, adaptive)
    if entry.held_out is None:
        raise ConfigurationError(f"{root}: the entry has no held-out comparison to recompute.")
    held = moved("held-out", entry.held_out, compare_held_out(before, after, runner.strata(), seed=config.seed),
                 before, after)  # fmt: skip
    kept = held is entry.held_out
    update: dict[str, Any] = {
        "before": entry.before if kept else before.mean, "after": entry.after if kept else after.mean,
        "held_out": held, "note": verdict(held),
        "held_out_reuse": held_out_reuse(storage, study.study_name),
    }  # fmt: skip
    if (r := entry.replication) is not None:
        larger = StoredOnly(config.model_copy(update={"limit": r.limit}), {})  # its own splits are not used
        seen = {i for ids in runner.split_ids().values() for i in ids}
        old = fresh(larger.examples(config.temperatures[0], config.n), seen)
        new = fresh(larger.examples(params["temperature"], params["n"], entry.k), seen)
        a, b = stored(larger, default, old, None), stored(larger, registered, new, adaptive)
        again = moved(f"fresh examples (--replicate {r.limit})", r.held_out,
                      compare_held_out(a, b, larger.strata(), seed=config.seed), a, b)  # fmt: skip
        if again is not r.held_out:
            update["replication"] = r.model_copy(update={"before": a.mean, "after": b.mean, "held_out": again})
    if (ablation := entry.ablation) is not None:
        told, shown = registered.deepcopy(), runner.fusor(entry.chain_of_thought, entry.models["fusor"])
        instructions_only(told)
        demos_from(shown, registered)
        arms = {}
        for name, program in [("instructions_only", told), ("demos_only", shown)]:
            scored = stored(runner, program, data, adaptive)
            arm = getattr(ablation, name)
            recomputed = compare_held_out(before, scored, runner.strata(), seed=config.seed)
            half = moved(f"ablation {name}", arm.held_out, recomputed, before, scored)
            if half is not arm.held_out:
                arms[name] = arm.model_copy(update={"after": scored.mean, "held_out": half})
        update["ablation"] = ablation.model_copy(update=arms)
    return entry.model_copy(update=update)


def replace_section(text: str, start: str, end: str, lines: list[str]) -> str:
    """`text` with what lies between the line `start` and the next line starting with `end` rewritten."""
    head, found, rest = text.partition(start + "\n\n")
    if not found:
        return text
    tail = rest[rest.index("\n" + end) :]
    return head + found + "\n".join(lines) + tail


def rewrite_report(root: Path, entry: RegistryEntry) -> None:
    """The held-out and checks sections of the study report, as `optimize` now writes them."""
    if entry.report is None or not (path := root / entry.report).is_file():
        return
    text = path.read_text()
    text = replace_section(
        text, "## Held-out test: default fusor against the tuned one", "Registry:",
        [*held_out_lines(entry.before, entry.after, entry.held_out), ""],
    )  # fmt: skip
    text = replace_section(text, "## Checks on the registered fusor", "## ", [*check_lines(entry), ""])
    write_atomically(path, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[HERE])
    parser.add_argument("--storage", default=f"sqlite:///{HERE / 'studies.db'}")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for path in manifests(args.folders):
        manifest = Manifest.model_validate_json(path.read_text())
        entries = []
        for entry in manifest.entries:
            print(f"{path.parent} {entry.task}/{entry.language} ({entry.study})")
            entries.append(recompute(entry, path.parent, args.storage))
            rewrite_report(path.parent, entries[-1])
        write_atomically(path.parent / MANIFEST, Manifest(entries=entries).model_dump_json(indent=2) + "\n")


if __name__ == "__main__":
    main()
