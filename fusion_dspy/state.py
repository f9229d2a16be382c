"""Saved state is the whole state: our components' tunable attributes travel with `save` / `load`.

DSPy saves a program by walking its parameters (its predictors: demos, instructions). The attributes that decide
how an N-to-one program answers besides its prompts (adaptive thresholds, n, first-k and deadline, how the pool
is rendered) are not predictors, so an N-to-one program adds one more parameter, `settings`, that carries them:
`program.save(path)` writes them, `Fresh().load(path)` sets them, also when the program is nested in yours.

A component says which attributes are tunable with a class attribute `tunable` (added to its parents'); each is
saved as JSON and read back as the type its constructor declares for it.
"""

from __future__ import annotations

import inspect
import typing
from functools import cache
from typing import Any

import dspy
from dspy.predict.parameter import Parameter
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from fusion_dspy.errors import ConfigurationError

SETTINGS = "settings"


def tunables(component: object) -> tuple[str, ...]:
    """The tunable attribute names of `component`, its class's and its parents' (`tunable` class attributes)."""
    names: dict[str, None] = {}
    for klass in reversed(type(component).__mro__):
        names.update(dict.fromkeys(vars(klass).get("tunable", ())))
    return tuple(names)


def components(program: dspy.Module) -> dict[str, object]:
    """The program's parts that declare tunable attributes, by attribute path (`""` is the program itself)."""
    found: dict[str, object] = {}
    for name, module in program.named_sub_modules():
        path = name.removeprefix("self").removeprefix(".")
        if path == "source.module" or path.startswith("source.module."):
            continue  # the wrapped program saves its own (an N-to-one program in it has its own settings)
        if tunables(module):
            found[path] = module
    return found


class Settings(Parameter):
    """The `settings` parameter of an N-to-one program: every tunable attribute of its parts, keyed by path."""

    def __init__(self, program: dspy.Module) -> None:
        self.program = program

    def dump_state(self, json_mode: bool = True) -> dict[str, dict[str, Any]]:
        return {
            path: {name: to_jsonable_python(getattr(part, name)) for name in tunables(part)}
            for path, part in components(self.program).items()
        }

    def load_state(self, state: dict[str, dict[str, Any]]) -> None:
        parts = components(self.program)
        unknown = sorted(set(state) - set(parts))
        if unknown:
            raise ConfigurationError(
                f"the saved settings are for parts this program does not have ({', '.join(unknown)}); load the state "
                f"into a program built the same way as the saved one (its parts: {', '.join(sorted(parts))})."
            )
        for path, values in state.items():
            part = parts[path]
            for name, value in values.items():
                if name in tunables(part):
                    setattr(part, name, _typed(type(part), name, value))

    def reset(self) -> None:
        """Settings are not learned from data: nothing to reset (DSPy resets demos)."""


def _typed(owner: type, name: str, value: Any) -> Any:
    """`value` read as the type `owner`'s constructor declares for `name` (a pydantic model back from its JSON)."""
    hint = _constructor_hints(owner).get(name)
    return value if hint is None else TypeAdapter(hint).validate_python(value)


@cache
def _constructor_hints(owner: type) -> dict[str, Any]:
    """The annotations of the constructor parameters of `owner` and its parents (the nearest class wins)."""
    hints: dict[str, Any] = {}
    for klass in reversed(owner.__mro__):
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        try:
            found = typing.get_type_hints(init)
        except (NameError, TypeError):  # an annotation only imported for type checking: read as saved
            continue
        hints.update({k: v for k, v in found.items() if k in inspect.signature(init).parameters})
    return hints
