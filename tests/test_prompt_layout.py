"""The fusor prompt puts what same-task calls share first (instructions, field structure, demos) and the
per-call input and candidates last, so a server's prefix cache can serve the shared part."""

import dspy

import fusion_dspy as fd
from tests.conftest import pool_of


def test_same_task_fusor_calls_differ_only_in_their_last_message():
    fuser = fd.Fuser(dspy.Signature("question -> answer"))
    assert fuser.predict is not None
    demo_pool, _ = fd.render_pool(pool_of("12", "12", "7"), fd.RenderOptions(), salt="demo")
    fuser.predict.demos = [dspy.Example(question="3 bags of 4?", candidates=demo_pool, answer="12")]
    calls = []
    for question, answers in [("2 + 2?", ("4", "5")), ("How many legs has a spider?", ("8", "6", "8"))]:
        rendered, _ = fd.render_pool(pool_of(*answers), fd.RenderOptions(), salt=question)
        inputs = {"question": question, "candidates": rendered}
        calls.append(dspy.ChatAdapter().format(fuser.predict.signature, fuser.predict.demos, inputs))
    first, second = calls
    assert len(first) == len(second) == 4  # system, demo in, demo out, this call
    assert first[:-1] == second[:-1]
    assert "2 + 2?" in first[-1]["content"] and "spider" in second[-1]["content"]
    assert "2 + 2?" not in "".join(m["content"] for m in first[:-1])
