"""The smallest fusion program: three samples of a QA module, fused into one answer.

With no model configured it runs the embedded local model (set FUSION_DSPY_MODEL to use another). A plain
`dspy.Predict` keeps the answers short, so a first run on a CPU is quick; `dspy.ChainOfThought` is a drop-in
replacement when the reasoning is worth minutes of CPU.
"""

import dspy

import fusion_dspy as fd

qa = fd.FusionOfN(dspy.Predict("question -> answer"), n=3)
print(qa(question="What is the tallest mountain in Africa?").answer)
