"""The smallest fusion program: three samples of a QA module, fused into one answer, and how it was made.

With no model configured it runs the embedded local model (set FUSION_DSPY_MODEL to use another). A plain
`dspy.Predict` keeps the answers short, so a first run on a CPU is quick; `dspy.ChainOfThought` is a drop-in
replacement when the reasoning is worth minutes of CPU. `pred.nofn.path` says whether the fusor wrote the answer
(fused), was not needed (skipped: the candidates agree) or was overruled by the pool (floored), and `reason` why.
"""

import dspy

import fusion_dspy as fd

qa = fd.FusionOfN(dspy.Predict("question -> answer"), n=3)
pred = qa(question="Which planet is known as the Red Planet?")
print(pred.answer)
print(f"{pred.nofn.path}: {pred.nofn.reason}")
