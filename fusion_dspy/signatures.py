"""Task signatures: find the one a module implements, and derive the fusor's from it."""

from __future__ import annotations

from typing import Any

import dspy

from fusion_dspy.errors import SignatureError

SignatureType = type[dspy.Signature]


def task_signature_of(module: dspy.Module) -> SignatureType:
    """The signature a module answers: a Predict's own, or a single-predictor module's minus its reasoning."""
    signature = getattr(module, "signature", None)
    if isinstance(signature, type) and issubclass(signature, dspy.Signature):
        return signature
    predictors = list(module.named_predictors())
    if len(predictors) != 1:
        raise SignatureError(
            f"cannot tell which signature {type(module).__name__} answers: it has {len(predictors)} predictors. "
            "Pass it explicitly, e.g. FusionOfN(program, n=5, signature='question -> answer')."
        )
    found: SignatureType = predictors[0][1].signature
    if isinstance(module, dspy.ChainOfThought) and "reasoning" in found.output_fields:
        found = found.delete("reasoning")
    return found


def module_output_fields(module: dspy.Module, task: SignatureType) -> list[str]:
    """The output keys the module's own predictions carry, in order: a single predictor's outputs when they include
    the task's (a ChainOfThought's `reasoning` too), else the task's outputs."""
    predictors = list(module.named_predictors())
    if len(predictors) == 1:
        fields = list(predictors[0][1].signature.output_fields)
        if set(task.output_fields) <= set(fields):
            return fields
    return list(task.output_fields)


def ensure_task_signature(signature: str | SignatureType | None, module: dspy.Module) -> SignatureType:
    if signature is None:
        return task_signature_of(module)
    return dspy.ensure_signature(signature)


def fusion_signature(
    task: SignatureType, *, instructions: str, task_header: str, candidates_field: str, candidates_description: str
) -> SignatureType:
    """Same inputs as the task plus the rendered candidates; same outputs; fusion instructions first."""
    if candidates_field in task.fields:
        raise SignatureError(
            f"the task already has a field named {candidates_field!r}; choose another, "
            "e.g. Fuser(candidates_field='candidate_answers')."
        )
    derived = task.append(candidates_field, dspy.InputField(desc=candidates_description), type_=str)
    task_instructions = (task.instructions or "").strip()
    full = f"{instructions}\n\n{task_header}\n{task_instructions}" if task_instructions else instructions
    return derived.with_instructions(full)


def input_values(signature: SignatureType, values: dict[str, Any]) -> dict[str, Any]:
    """The task inputs among `values`, with a clear error when one is missing."""
    missing = [name for name in signature.input_fields if name not in values]
    if missing:
        raise SignatureError(
            f"missing input field(s) {missing} for signature {signature.signature}; pass them as keyword arguments."
        )
    inputs = {name: values[name] for name in signature.input_fields}
    if all(isinstance(v, str) and not v.strip() for v in inputs.values()):
        raise SignatureError(f"every input of {signature.signature} is empty; there is nothing to answer.")
    return inputs


def describe_inputs(signature: SignatureType, values: dict[str, Any]) -> str:
    """The task and its inputs as plain text, for judges that see the task but not its signature."""
    lines = [signature.instructions.strip()] if signature.instructions else []
    for name in signature.input_fields:
        lines.append(f"{name}: {values.get(name, '')}")
    return "\n".join(lines)
