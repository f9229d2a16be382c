"""What a LoRA adapter cost to make, kept beside it (`<adapter stem>.cost.json`, one record per adapter, also where
several share a folder): the CPU time of the fusor samples it learnt from and of its training steps, so a report
that serves the tuned fusor can state its one-off cost next to the cost per item."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from fusion_dspy.files import beside, write_atomically

COST_SUFFIX = ".cost.json"


class TrainingCost(BaseModel):
    """Process CPU seconds per stage (every thread of the process: the in-process llama.cpp server's and torch's),
    summed over the runs that made the adapter (a killed run continues)."""

    bootstrap_cpu_s: float = Field(default=0.0, description="Sampling the fusor on the training pools.")
    train_cpu_s: float = Field(default=0.0, description="Reading the model and the LoRA steps.")

    @property
    def cpu_hours(self) -> float:
        return (self.bootstrap_cpu_s + self.train_cpu_s) / 3600


def cost_path(adapter: Path) -> Path:
    """Where the cost of `adapter` is kept (also before the adapter file exists: training writes it last)."""
    return beside(adapter, COST_SUFFIX)


def read_cost(adapter: Path) -> TrainingCost | None:
    """The cost recorded beside `adapter`, or None when none was (an adapter made elsewhere)."""
    path = cost_path(adapter)
    return TrainingCost.model_validate_json(path.read_text()) if path.is_file() else None


def add_cost(adapter: Path, stage: str, cpu_s: float) -> TrainingCost:
    """Add `cpu_s` to `stage` (`bootstrap` or `train`) of the cost kept for `adapter`, and return the total."""
    cost = read_cost(adapter) or TrainingCost()
    field = f"{stage}_cpu_s"
    setattr(cost, field, getattr(cost, field) + cpu_s)
    adapter.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(cost_path(adapter), cost.model_dump_json(indent=2) + "\n")  # a kill leaves the old total
    return cost


class CpuMeter:
    """Adds the process's CPU time to a stage of `adapter`'s cost at every `tick()` (a pool sampled, a step
    trained), so a killed run loses at most the time since its last tick."""

    def __init__(self, adapter: Path, stage: str) -> None:
        self.adapter, self.stage = adapter, stage
        self.last = time.process_time()

    def tick(self) -> None:
        now = time.process_time()
        add_cost(self.adapter, self.stage, now - self.last)
        self.last = now
