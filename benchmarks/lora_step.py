"""What tuning the fusor's weights costs here, on the real embedded model (issue 29's budget), and a check that its
whole path works on the quantised GGUF the fusor is served from (the tests use a tiny float model).

Reads the model's Q4_K_M GGUF into transformers (dequantised), renders fusor training examples from stored 0.5B
math pools exactly as the fusor's prompt is served, trains a LoRA (rank 16, every linear layer) a few steps, writes
it as a llama.cpp LoRA GGUF and serves it beside the quantised base. Reports: reading the model (s), each step (s)
and its tokens, the step against llama.cpp reading the same prompt (a ratio measured in the same run), and whether
the served adapter's next token and log-probability match the trained one's (the base differs: Q4_K_M served,
dequantised float32 trained, so a close match, not an exact one, is expected), and what serving the adapter costs:
prompt reading and decoding with it against the base model alone on the same server (ratios, alternating rounds),
which is what a tuned fusor's row on the map is charged beyond its base model's speed.

    python benchmarks/lora_step.py                       # 2 steps on 2 examples: ~5 minutes on 2 idle cores
    python benchmarks/lora_step.py --steps 4 --write      # merge the figures into benchmarks/results.json
    FUSION_DSPY_LOCAL_THREADS=1 python benchmarks/lora_step.py   # one core, as beside another model job

Needs the `[train]` extra and the real MGSM data (`../shared/data`); the machine's load is recorded with the times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import dspy

from fusion_dspy.eval.store import PoolRecord
from fusion_dspy.fuse import Fuser
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.lm.lora import Adapter, adapter_server, file_sha256
from fusion_dspy.lm.server import local_threads
from fusion_dspy.lm.weights import EMBEDDED_MODELS, assemble
from fusion_dspy.optimizers.fusor_data import fusor_examples
from fusion_dspy.optimizers.fusor_only import FusorOnly
from fusion_dspy.optimizers.gguf_model import gguf_info, load_gguf_model
from fusion_dspy.optimizers.lora_gguf import write_lora_gguf
from fusion_dspy.optimizers.lora_train import LoraSettings, adapter_state, schedule, train_lora
from fusion_dspy.optimizers.sft_format import IGNORE, SftTokens, sft_messages, tokenize
from fusion_dspy.programs import task_by_name

RESULTS = Path(__file__).with_name("results.json")
RESULT_KEYS = (  # what --write merges into results.json (benchmarks/run.py keeps them)
    "lora_model", "lora_read_s", "lora_step_s", "lora_step_tokens", "lora_step_s_per_512_tokens",
    "lora_step_vs_served_prompt", "lora_adapter_mb", "lora_served_top_token_matches", "lora_served_logprob_gap",
    "lora_served_prompt_slowdown", "lora_served_decode_slowdown", "lora_threads", "lora_load",
)  # fmt: skip
POOLS = Path(__file__).resolve().parents[1] / "results" / "map" / "pools" / "math" / "en"


def training_examples(tokenizer: Any, count: int, max_tokens: int) -> list[SftTokens]:
    """`count` fusor examples over the stored 0.5B MGSM-en pools, answered with a candidate that has the gold
    answer (the first one when none has: this measures cost, not what the adapter learns)."""
    task = task_by_name("math")()
    [path] = POOLS.glob("openai_local-small-n5-*.jsonl")
    examples = fusor_examples(task, task.load("en", 40, 0), JsonlLog(path, PoolRecord))
    fusor = FusorOnly(Fuser(chain_of_thought=True).bind(task.signature))
    data = []
    for example in examples:
        candidates = [c.outputs for c in example.pool.candidates if c.outputs]
        right = [o for o in candidates if task.metric(example, dspy.Prediction(**o)) >= task.pass_threshold]
        tokens = tokenize(tokenizer, sft_messages(fusor, example, dict((right or candidates)[0])), max_tokens)
        if tokens is not None:
            data.append(tokens)
        if len(data) == count:
            return data
    raise SystemExit(f"only {len(data)} of the stored pools fit in {max_tokens} tokens; raise --max-tokens.")


def complete(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """llama.cpp's native `/completion` answer to `body` (token ids in, timings and probabilities out)."""
    request = urllib.request.Request(base_url.removesuffix("/v1") + "/completion", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=600) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def served(base_url: str, prompt: list[int], lora: list[dict[str, Any]]) -> dict[str, Any]:
    """llama.cpp's next token for `prompt` (ids) with these adapters, and its prompt-reading time."""
    body = {"prompt": prompt, "n_predict": 1, "n_probs": 1, "temperature": 0, "lora": lora, "cache_prompt": False}
    answer = complete(base_url, body)
    top = answer["completion_probabilities"][0]
    return {"id": top["id"], "logprob": top["logprob"], "prompt_s": answer["timings"]["prompt_ms"] / 1000}


def speeds(base_url: str, prompt: list[int], lora: list[dict[str, Any]], tokens: int) -> tuple[float, float]:
    """Seconds to read `prompt` and to decode `tokens` tokens (EOS ignored, prompt not cached) with these adapters."""
    body = {"prompt": prompt, "n_predict": tokens, "ignore_eos": True, "temperature": 0, "lora": lora,
            "cache_prompt": False}  # fmt: skip
    timings = complete(base_url, body)["timings"]
    return timings["prompt_ms"] / 1000, timings["predicted_ms"] / 1000


def slowdowns(base_url: str, prompt: list[int], rounds: int = 3, tokens: int = 64) -> tuple[float, float]:
    """The adapter's serving cost against the base model's on the same server, in the same run: medians of
    alternating rounds, as (prompt reading, decoding) time ratios. Scale 0 leaves the adapter out of the request
    (llama.cpp applies only adapters of non-zero scale), so the base runs as it does for an untuned fusor."""
    base: list[tuple[float, float]] = []
    tuned: list[tuple[float, float]] = []
    for _ in range(rounds):
        base.append(speeds(base_url, prompt, [{"id": 0, "scale": 0.0}], tokens))
        tuned.append(speeds(base_url, prompt, [{"id": 0, "scale": 1.0}], tokens))

    def ratio(part: int) -> float:
        return statistics.median(t[part] for t in tuned) / statistics.median(b[part] for b in base)

    return ratio(0), ratio(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="local-small", choices=sorted(EMBEDDED_MODELS))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--examples", type=int, default=2)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=2048)
    parser.add_argument("--write", action="store_true", help="merge the figures into benchmarks/results.json")
    args = parser.parse_args()
    import torch

    load_before = os.getloadavg()[0]
    gguf = assemble(EMBEDDED_MODELS[args.model])
    started = time.monotonic()
    model, tokenizer = load_gguf_model(gguf)
    read_s = time.monotonic() - started
    data = training_examples(tokenizer, args.examples, args.max_tokens)
    lora = LoraSettings(steps=args.steps, rank=args.rank, alpha=2 * args.rank, checkpoint_every=args.steps)
    seconds: list[float] = []
    last = [time.monotonic()]

    def on_step(done: int, total: int, loss: float) -> None:
        now = time.monotonic()
        seconds.append(now - last[0])
        last[0] = now
        print(f"step {done}/{total}: {seconds[-1]:.1f} s, loss {loss:.3f}", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        trained, _ = train_lora(model, data, lora, Path(folder), on_step)
        info = gguf_info(gguf)
        path = write_lora_gguf(adapter_state(trained), lora.alpha, info.architecture, info.block_count,
                               Path(folder) / "adapter.gguf")  # fmt: skip
        adapter_mb = path.stat().st_size / 1e6
        prompt = [i for i, label in zip(data[0].input_ids, data[0].labels, strict=True) if label == IGNORE]
        with torch.no_grad():
            tuned = torch.log_softmax(trained(input_ids=torch.tensor([prompt])).logits[0, -1], -1)
        server = adapter_server(gguf, [Adapter(path=path, sha256=file_sha256(path))])
        try:
            with_adapter = served(server.base_url, prompt, [{"id": 0, "scale": 1.0}])
            prompt_slowdown, decode_slowdown = slowdowns(server.base_url, prompt)
        finally:
            server.close()
    step_tokens = [
        sum(len(data[i].input_ids) for i in schedule(len(data), step, 1, lora.seed)) for step in range(args.steps)
    ]
    per_512 = [s / t * 512 for s, t in zip(seconds, step_tokens, strict=True)]
    summary: dict[str, Any] = {
        "lora_model": args.model,
        "lora_read_s": round(read_s, 1),
        "lora_step_s": [round(s, 1) for s in seconds],
        "lora_step_tokens": step_tokens,
        "lora_step_s_per_512_tokens": round(statistics.median(per_512), 1),
        "lora_step_vs_served_prompt": round(statistics.median(seconds) / with_adapter["prompt_s"], 1),
        "lora_adapter_mb": round(adapter_mb, 1),
        "lora_served_top_token_matches": with_adapter["id"] == int(tuned.argmax()),
        "lora_served_logprob_gap": round(abs(with_adapter["logprob"] - float(tuned.max())), 3),
        "lora_served_prompt_slowdown": round(prompt_slowdown, 2),
        "lora_served_decode_slowdown": round(decode_slowdown, 2),
        "lora_threads": local_threads(),
        "lora_load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(summary, indent=1))
    if args.write:
        results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        RESULTS.write_text(json.dumps({**results, **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
