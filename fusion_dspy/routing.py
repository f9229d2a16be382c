"""Route each input to the fusor compiled for its language, with the task's default fusor as the fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from fusion_dspy.aggregator import Aggregation, Aggregator
from fusion_dspy.candidates import CandidatePool
from fusion_dspy.fuse import Fuser
from fusion_dspy.lang import detect_language
from fusion_dspy.signatures import SignatureType

LanguageOf = Callable[[dict[str, Any]], str | None]


def detected_input_language(inputs: dict[str, Any]) -> str | None:
    """The language of the inputs' text, as detected."""
    return detect_language(" ".join(v for v in inputs.values() if isinstance(v, str)))


class LanguageRouter(Aggregator):
    """An aggregator that hands each input to `fusers[language_of(inputs)]`, or to `default`."""

    def __init__(self, fusers: dict[str, Fuser], default: Fuser, language_of: LanguageOf = detected_input_language):
        super().__init__()
        self.fusers = dict(fusers)
        self.default = default
        self._language_of = language_of

    def bind(self, task: SignatureType) -> LanguageRouter:
        if self.bound_elsewhere(task):
            return self.unbound_copy().bind(task)
        self.task = task
        self.fusers = {language: fuser.bind(task) for language, fuser in self.fusers.items()}
        self.default = self.default.bind(task)
        return self

    def unbound_copy(self) -> Self:
        clone = super().unbound_copy()
        clone.fusers = dict(self.fusers)
        return clone

    def route(self, inputs: dict[str, Any]) -> tuple[str | None, Fuser]:
        language = self._language_of(inputs)
        return language, self.fusers.get(language or "", self.default)

    async def aaggregate(self, inputs: dict[str, Any], pool: CandidatePool) -> Aggregation:
        _, fuser = self.route(inputs)
        return await fuser.aaggregate(inputs, pool)
