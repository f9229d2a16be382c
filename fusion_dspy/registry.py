"""Compiled fusors keyed by (task, language), saved as DSPy JSON state with a manifest that says how they scored.

Layout: `<root>/<task>/<language>.json` plus `<root>/manifest.json`; a fusor tuned at the weight level
(`--optimizer finetune`) also has its LoRA adapter at `<root>/<task>/<language>.lora.gguf`, checked by sha256.
The default root is the `compiled` folder of the `fusion_dspy.programs` package (the repository's
`programs/compiled`, installed with the package).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.errors import ConfigurationError
from fusion_dspy.files import write_atomically
from fusion_dspy.fuse import Fuser
from fusion_dspy.signatures import SignatureType

MANIFEST = "manifest.json"


def default_root() -> Path:
    """`compiled/` beside the programs package, wherever packaging put it (editable or installed)."""
    import fusion_dspy.programs

    return Path(fusion_dspy.programs.__file__).resolve().parent / "compiled"


class StratumScore(BaseModel):
    """Held-out mean scores of one pool-difficulty stratum (easy, hard, impossible)."""

    n: int
    before: float
    after: float


class HeldOut(BaseModel):
    """The tuned fusor against the default one on the same held-out examples: the mean paired difference
    (after − before) with its 95% bootstrap CI, wins/ties/losses, the sign test's p, scores per stratum, and
    each example's pair of scores (the permutation test and the influence of single examples are computed
    from them, `optimizers.heldout.robustness`)."""

    n: int
    difference: float
    low: float
    high: float
    win: int
    tie: int
    loss: int
    p_sign: float
    strata: dict[str, StratumScore] = Field(default_factory=dict)
    pairs: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Example id → (default, tuned) score; empty in entries older than it."
    )

    @property
    def differences(self) -> dict[str, float]:
        """Example id → tuned − default."""
        return {i: after - before for i, (before, after) in self.pairs.items()}

    @property
    def better_beyond_noise(self) -> bool:
        """True when the whole CI lies above 0: the tuned fusor is better than the default one."""
        return self.low > 0.0

    @property
    def worse_beyond_noise(self) -> bool:
        """True when the whole CI lies below 0: the tuned fusor is worse than the default one."""
        return self.high < 0.0

    @property
    def interval(self) -> str:
        """`+0.024 [+0.002, +0.055]`: the difference and its 95% CI, as a table cell."""
        return f"{self.difference:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"

    @property
    def summary(self) -> str:
        """`+0.024, 95% CI [+0.002, +0.055], wins/ties/losses 21/16/13 (n=50)`: the comparison in a sentence."""
        return (
            f"{self.difference:+.3f}, 95% CI [{self.low:+.3f}, {self.high:+.3f}], "
            f"wins/ties/losses {self.win}/{self.tie}/{self.loss} (n={self.n})"
        )


class Replication(BaseModel):
    """The registered fusor against the default one again, on examples no trial saw: those of a larger seeded
    subset (`limit`) that are not in the study's own."""

    limit: int = Field(description="The larger --limit whose extra examples were scored.")
    trial: int = Field(description="The study's trial the registered fusor came from (a later best trial is not it).")
    before: float = Field(description="Mean score of the default fusor on them.")
    after: float = Field(description="Mean score of the registered fusor on them.")
    held_out: HeldOut


class AblationArm(BaseModel):
    """One half of the registered fusor on the held-out split, paired with the default fusor."""

    after: float = Field(description="Mean held-out score of this half.")
    held_out: HeldOut = Field(description="This half − the default fusor, paired.")


class Ablation(BaseModel):
    """Which half of the registered fusor carries its gain (optimize --ablate): its instructions without its
    demos, and the default instructions with its demos, each against the default fusor on the held-out split."""

    trial: int = Field(description="The study's trial the registered fusor came from.")
    demos: int = Field(description="How many demos the registered fusor carries.")
    instructions_only: AblationArm = Field(description="The registered instructions, no demos.")
    demos_only: AblationArm = Field(description="The default instructions, the registered demos.")


class InstructionLanguage(BaseModel):
    """The tuned fusor with English instructions against the same fusor with them translated into the study's
    language: validation scores (which chose), held-out scores of both, and the paired differences
    (translated − English)."""

    language: str
    kept: str = Field(default="en", description="The language of the instructions the entry keeps.")
    translated: str | None = Field(default=None, description="The translated instructions.")
    error: str | None = Field(default=None, description="Why there is no translation (English was kept).")
    val_source: float | None = None
    val_translated: float | None = None
    test_source: float | None = None
    test_translated: float | None = None
    validation: HeldOut | None = Field(
        default=None, description="Validation translated − English, paired: kept only when its CI is above 0."
    )
    difference: HeldOut | None = Field(default=None, description="Held-out translated − English, paired.")


class AdapterRecord(BaseModel):
    """A weight-tuned fusor's LoRA adapter (a llama.cpp LoRA GGUF beside the fusor's JSON) and how it was made."""

    file: str = Field(description="The adapter, relative to the registry root.")
    sha256: str
    base_model: str = Field(description="The embedded model (or GGUF) it adapts and is served with.")
    steps: int
    examples: int = Field(description="Training examples (chat-formatted fused answers that passed the metric).")
    selection: dict[str, int] = Field(default_factory=dict, description="Hard / easy pools and targets chosen.")
    train_seconds: float = Field(description="LoRA training time (CPU seconds of wall clock on this machine).")


class RegistryEntry(BaseModel):
    """One compiled fusor and the evidence for it."""

    task: str
    language: str
    metric: str
    before: float = Field(description="Held-out test score with the default fusor.")
    after: float = Field(description="Held-out test score with this compiled fusor.")
    splits: dict[str, int] = Field(description="train / val / test sizes.")
    models: dict[str, str] = Field(description="candidates and fusor model names.")
    optimizer: str
    chain_of_thought: bool = False
    n: int
    k: int | None = Field(default=None, description="First-k the fusor was tuned with (None: all n candidates).")
    adaptive: dict[str, float | None] | None = Field(
        default=None, description="Adaptive-fusion thresholds the study chose (None: plain fusion)."
    )
    held_out: HeldOut | None = Field(default=None, description="Paired before/after on the held-out split.")
    vs_selection: HeldOut | None = Field(
        default=None,
        description="This fusor against the task's selection (majority vote, or MBR for free text) on the same "
        "held-out pools: `before` is the selection's score (None: not compared).",
    )
    instructions: InstructionLanguage | None = Field(
        default=None, description="English against task-language instructions (None: not compared, e.g. English)."
    )
    replication: Replication | None = Field(
        default=None,
        description="The same comparison on fresh examples beyond the study's --limit (optimize --replicate).",
    )
    ablation: Ablation | None = Field(
        default=None, description="Its instructions and its demos, each alone, on the held-out split (--ablate)."
    )
    adapter: AdapterRecord | None = Field(default=None, description="The LoRA adapter of a weight-tuned fusor.")
    study: str | None = Field(default=None, description="The Optuna study it came from.")
    held_out_reuse: int | None = Field(
        default=None,
        description="Earlier studies (in the same storage, created before this one) whose tuned-vs-default "
        "comparison used the same held-out examples (same task, language, limit, seed and split).",
    )
    report: str | None = Field(default=None, description="The study report, relative to the registry root.")
    date: str = Field(default_factory=lambda: dt.date.today().isoformat())
    note: str | None = None

    @property
    def path(self) -> str:
        return f"{self.task}/{self.language}.json"

    @property
    def adapter_path(self) -> str:
        return f"{self.task}/{self.language}.lora.gguf"


class Manifest(BaseModel):
    entries: list[RegistryEntry] = Field(default_factory=list)

    def find(self, task: str, language: str) -> RegistryEntry | None:
        return next((e for e in self.entries if e.task == task and e.language == language), None)


class FusorRegistry:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def manifest(self) -> Manifest:
        path = self.root / MANIFEST
        return Manifest.model_validate_json(path.read_text()) if path.is_file() else Manifest()

    def languages(self, task: str) -> list[str]:
        return sorted(e.language for e in self.manifest().entries if e.task == task)

    def save(self, fuser: Fuser, entry: RegistryEntry, adapter: Path | None = None) -> Path:
        """Write the fusor's state and replace its manifest entry (the manifest is rewritten atomically). With
        `adapter` (a LoRA GGUF), the file is copied beside the state with its cost and training items, and
        `entry.adapter` must record its sha256."""
        path = self.root / entry.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if adapter is not None:
            from fusion_dspy.lm.adapter_cost import cost_path
            from fusion_dspy.lm.adapter_items import items_path
            from fusion_dspy.lm.lora import file_sha256

            if entry.adapter is None or entry.adapter.sha256 != file_sha256(adapter):
                raise ConfigurationError(f"the entry must record {adapter}'s sha256 in entry.adapter to store it.")
            entry.adapter.file = entry.adapter_path
            stored = self.root / entry.adapter_path
            partial = self.root / (entry.adapter_path + ".partial")
            shutil.copyfile(adapter, partial)
            partial.replace(stored)
            for record in (cost_path, items_path):  # what it cost and what it trained on travel with it
                if record(adapter).is_file():
                    shutil.copyfile(record(adapter), record(stored))
                else:  # never a record of the adapter this one replaced
                    record(stored).unlink(missing_ok=True)
        fuser.save(str(path))
        manifest = self.manifest()
        manifest.entries = [e for e in manifest.entries if (e.task, e.language) != (entry.task, entry.language)]
        manifest.entries.append(entry)
        manifest.entries.sort(key=lambda e: (e.task, e.language))
        write_atomically(self.root / MANIFEST, manifest.model_dump_json(indent=2) + "\n")
        return path

    def load(self, task: str, language: str, signature: SignatureType) -> Fuser:
        """A fusor for `signature` with the compiled state of (task, language)."""
        entry = self.manifest().find(task, language)
        if entry is None:
            known = ", ".join(f"{e.task}/{e.language}" for e in self.manifest().entries) or "none"
            raise ConfigurationError(
                f"no compiled fusor for task {task!r} in language {language!r} (registry has: {known}). "
                "Compile one with `fusion-dspy optimize`, or use the default Fuser()."
            )
        fuser = Fuser(chain_of_thought=entry.chain_of_thought).bind(signature)
        fuser.load(str(self.root / entry.path))
        if entry.adapter is not None:
            from fusion_dspy.lm.lora import Adapter, adapter_server, lora_lm

            adapter = Adapter(path=self.root / entry.adapter.file, sha256=entry.adapter.sha256)
            fuser.lm = lora_lm(adapter_server(entry.adapter.base_model, [adapter]), adapter, temperature=0.0)
        return fuser
