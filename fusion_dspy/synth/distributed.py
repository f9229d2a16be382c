"""Scale-out on Ray Data: the same pipeline in `map_batches` workers, the same checkpoint on the driver.

`ray.init()` joins the cluster named by RAY_ADDRESS, or starts a local instance. Workers build the pipeline once
(resolving models in the worker) and process a batch of prompts concurrently; the driver appends every finished
row to the checkpoint as results stream back, so a killed run resumes exactly like a local one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fusion_dspy._async import run_sync
from fusion_dspy.jsonl import JsonlLog
from fusion_dspy.outcome import Outcome
from fusion_dspy.synth.config import SynthConfig
from fusion_dspy.synth.job import build_pipeline, checkpoint
from fusion_dspy.synth.prompts import PromptRow


class SynthBatch:
    """A Ray Data callable class: one pipeline per worker, a batch of prompts in, serialised rows out."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = SynthConfig.model_validate(config)
        self.pipeline = build_pipeline(self.config)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        async def run_all() -> list[Outcome]:
            gate = asyncio.Semaphore(self.config.concurrency)

            async def one(item_id: str, prompt: str) -> Outcome:
                async with gate:
                    return await self.pipeline.arun(item_id, prompt)

            return list(
                await asyncio.gather(*(one(str(i), str(p)) for i, p in zip(batch["id"], batch["prompt"], strict=True)))
            )

        return {"row": [row.model_dump_json() for row in run_sync(run_all())]}  # one loop per worker: pooled HTTP


def run_on_ray(
    config: SynthConfig,
    prompts: list[PromptRow],
    on_row: Callable[[Outcome], None] = lambda row: None,
    batch_size: int = 8,
    workers: int = 2,
) -> JsonlLog[Outcome]:
    import ray

    done = checkpoint(config.out_dir)
    if not prompts:
        return done
    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    dataset = ray.data.from_items([{"id": p.id, "prompt": p.prompt} for p in prompts])
    results = dataset.map_batches(
        SynthBatch,
        fn_constructor_kwargs={"config": config.model_dump(mode="json")},
        batch_size=batch_size,
        concurrency=workers,
        batch_format="numpy",
    )
    for item in results.iter_rows():
        row = Outcome.model_validate_json(item["row"])
        done.append(row)
        on_row(row)
    return done
