"""A tiny randomly initialised Qwen2 model written as a GGUF file with the embedded 0.5B model's tokenizer, so the
fine-tuning path (GGUF → transformers → LoRA → llama.cpp) runs end to end in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TOKENIZER_KEYS = (
    "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.chat_template",
)  # fmt: skip


def tiny_qwen2(vocab_size: int, seed: int = 0) -> Any:
    """A 2-layer Qwen2 with hidden size 64 and the real vocabulary (tied embeddings, as the 0.5B model's config)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=4096, rope_theta=1_000_000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=False,
    )  # fmt: skip
    return Qwen2ForCausalLM(config).eval()


def copy_field(writer: Any, field: Any) -> None:
    """One metadata field of a GGUF reader, written to a GGUF writer with its own type."""
    import gguf

    kind = field.types[0]
    if kind == gguf.GGUFValueType.ARRAY:
        writer.add_array(field.name, field.contents())
    else:
        writer.add_key_value(field.name, field.contents(), kind)


def write_tiny_gguf(model: Any, tokenizer_source: Path, path: Path) -> Path:
    """`model` (a transformers Qwen2) as an f32 GGUF file with `tokenizer_source`'s tokenizer and chat template."""
    import gguf
    import numpy as np

    config = model.config
    reader = gguf.GGUFReader(tokenizer_source)
    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name("tiny-qwen2-test")
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(float(config.rope_parameters["rope_theta"]))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for key in TOKENIZER_KEYS:
        copy_field(writer, reader.fields[key])
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, config.num_hidden_layers)
    for name, tensor in model.state_dict().items():
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        assert gguf_name is not None, name
        writer.add_tensor(gguf_name, np.ascontiguousarray(tensor.detach().float().numpy()))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
