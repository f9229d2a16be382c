"""A GGUF model (the embedded one, Q4_K_M) read into transformers, dequantised to float32, for LoRA training.

Only the adapter is trained and written back (`optimizers.lora_gguf`); the served model stays the quantised file.
The tokenizer and chat template come from the same file, so training renders prompts as the server does.
Reading the 0.5B model took 88 s on this 2-core machine under load (it dequantises every tensor in Python).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from fusion_dspy.errors import ConfigurationError

TRAIN_EXTRA = "pip install -e '.[train]'  (or pip install 'fusion-dspy[train]')"


def require_training() -> None:
    """Raise, naming the install, when torch / transformers / peft / gguf are missing."""
    missing = []
    for module in ("torch", "transformers", "peft", "gguf"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigurationError(f"fine-tuning the fusor needs {', '.join(missing)}: {TRAIN_EXTRA}.")


class GgufInfo(BaseModel):
    """What the LoRA writer needs to know about the base model."""

    architecture: str
    block_count: int


def gguf_info(path: Path) -> GgufInfo:
    """The architecture and layer count recorded in a GGUF file's header."""
    import gguf

    reader = gguf.GGUFReader(path)
    arch = reader.fields["general.architecture"].contents()
    return GgufInfo(architecture=arch, block_count=int(reader.fields[f"{arch}.block_count"].contents()))


def load_gguf_model(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a GGUF file, the model in float32 on the CPU in training mode's dtype."""
    require_training()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not path.is_file():
        raise ConfigurationError(f"no GGUF file at {path}; for an embedded model, run it once to assemble it.")
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
