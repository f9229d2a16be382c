"""The smallest fusion program: three samples of a chain-of-thought QA module, fused into one answer.

With no model configured it runs the embedded local model (set FUSION_DSPY_MODEL to use another).
"""

import dspy

import fusion_dspy as fd

qa = fd.FusionOfN(dspy.ChainOfThought("question -> answer"), n=3)
print(qa(question="What is the tallest mountain in Africa?").answer)
