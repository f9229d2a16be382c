"""A peft LoRA adapter written as a llama.cpp LoRA GGUF, so the quantised base model serves it unchanged.

The layout is the one llama.cpp's `convert_lora_to_gguf.py` writes: `general.type = adapter`, `adapter.type =
lora`, `adapter.lora.alpha`, and per adapted weight two tensors named after the base tensor (`blk.3.attn_q.weight`)
with `.lora_a` (rank × in) and `.lora_b` (out × rank) appended. llama.cpp scales the product by alpha / rank, as
peft does, so the served model computes what the trained one did. Tensors are written in float16 by default
(the 0.5B model's r=16 adapter on every linear layer: 35 MB in float32, half that in float16).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fusion_dspy.errors import ConfigurationError

_LORA = re.compile(r"^(?:base_model\.model\.)?(?P<base>.+)\.lora_(?P<part>[AB])(?:\.default)?\.weight$")


def base_tensor_name(peft_name: str) -> tuple[str, str]:
    """`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` → (`model.layers.0.self_attn.q_proj.weight`,
    `a`): the base weight a peft tensor adapts, and which half it is."""
    match = _LORA.match(peft_name)
    if match is None:
        raise ConfigurationError(
            f"{peft_name!r} is not a LoRA A/B weight; train the adapter on linear layers only (no embeddings, no "
            "modules_to_save), which llama.cpp can apply."
        )
    return f"{match['base']}.weight", match["part"].lower()


def write_lora_gguf(
    state: dict[str, Any], alpha: float, architecture: str, block_count: int, path: Path, dtype: str = "float16"
) -> Path:
    """Write peft's adapter `state` (name → tensor, as `get_peft_model_state_dict` gives it) for a base model of
    `architecture` (`qwen2`) with `block_count` layers to `path`, its tensors in `dtype` (float16 or float32)."""
    import gguf
    import numpy as np

    arch = next((a for a, name in gguf.MODEL_ARCH_NAMES.items() if name == architecture), None)
    if arch is None:
        raise ConfigurationError(f"llama.cpp knows no architecture {architecture!r}; the base GGUF names it.")
    if dtype not in ("float16", "float32"):
        raise ConfigurationError(f"LoRA tensors are written as float16 or float32, not {dtype!r}.")
    kind = np.float16 if dtype == "float16" else np.float32
    names = gguf.get_tensor_name_map(arch, block_count)
    halves: dict[str, dict[str, Any]] = {}
    for name, tensor in state.items():
        base, part = base_tensor_name(name)
        gguf_name = names.get_name(base, try_suffixes=(".weight",))
        if gguf_name is None:
            raise ConfigurationError(f"no llama.cpp tensor for {base!r} in a {architecture} model.")
        halves.setdefault(gguf_name, {})[part] = tensor.detach().float().cpu().numpy()
    writer = gguf.GGUFWriter(None, architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    for gguf_name in sorted(halves):
        pair = halves[gguf_name]
        if set(pair) != {"a", "b"}:
            raise ConfigurationError(f"the adapter holds only half of {gguf_name}'s LoRA ({sorted(pair)}).")
        writer.add_tensor(f"{gguf_name}.lora_a", np.ascontiguousarray(pair["a"], dtype=kind))
        writer.add_tensor(f"{gguf_name}.lora_b", np.ascontiguousarray(pair["b"], dtype=kind))
    tmp = path.with_suffix(path.suffix + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file(tmp)
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path
