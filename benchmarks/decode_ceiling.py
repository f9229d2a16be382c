"""The fastest an embedded model can decode here: memory bandwidth ÷ bytes read per token.

Decoding one token reads every weight once, so a single stream cannot beat (bandwidth ÷ model file size) tokens/s
(the KV cache adds a little more per token; batched requests share the read). The bandwidth is measured with a
probe: every core reads its own slice of a 512 MiB array (a vectorised max: little work per byte), best of
five. Run it on a quiet machine: other jobs' memory traffic lowers it.

    python benchmarks/decode_ceiling.py
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import numpy as np

from fusion_dspy.lm.weights import EMBEDDED_MODELS


def memory_bandwidth(mib: int = 512, repeats: int = 5) -> float:
    """Bytes per second read by all cores at once (numpy releases the GIL in the reduction)."""
    data = np.ones(mib * (1 << 20) // 4, dtype=np.float32)
    workers = os.cpu_count() or 1
    slices = np.array_split(data, workers)
    best = float("inf")
    for _ in range(repeats):
        threads = [threading.Thread(target=np.max, args=(part,)) for part in slices]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        best = min(best, time.perf_counter() - start)
    return data.nbytes / best


def decode_ceilings(bandwidth: float | None = None) -> dict[str, Any]:
    """Tokens per second each embedded model could decode in one stream if memory were the only limit."""
    bandwidth = bandwidth or memory_bandwidth()
    return {
        "memory_bandwidth_gb_s": bandwidth / 1e9,
        "decode_ceiling_tok_s": {name: bandwidth / model.size for name, model in EMBEDDED_MODELS.items()},
    }


if __name__ == "__main__":
    result = decode_ceilings()
    print(f"memory bandwidth {result['memory_bandwidth_gb_s']:.1f} GB/s (load {os.getloadavg()[0]:.2f})")
    for name, ceiling in result["decode_ceiling_tok_s"].items():
        print(f"{name}: at most {ceiling:.1f} tokens/s in one stream ({EMBEDDED_MODELS[name].size / 1e9:.2f} GB)")
