import asyncio
import threading

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.testing import FailingLM, ScriptedLM, SlowLM
from tests.conftest import is_fusor_prompt


def test_one_sample_per_teacher_with_its_name_as_source():
    alice = ScriptedLM({"answer": "from alice"}, model="openai/alice")
    bob = ScriptedLM({"answer": "from bob"}, model="openai/bob")
    pool = fd.TeacherPool([alice, bob]).bind(dspy.Predict("question -> answer")).generate({"question": "q"})
    assert [(c.source, c.text()) for c in pool] == [("openai/alice", "from alice"), ("openai/bob", "from bob")]


def test_teachers_are_asked_concurrently_and_a_failing_teacher_degrades_the_pool():
    slow = [SlowLM({"answer": f"t{i}"}, delay_s=0.3, model=f"openai/t{i}") for i in range(3)]
    broken = FailingLM(model="openai/broken")
    pool = fd.TeacherPool([*slow, broken]).bind(dspy.Predict("question -> answer")).generate({"question": "q"})
    assert len(pool.succeeded) == 3
    assert pool.failed[0].source == "openai/broken"
    starts = [lm.calls[0].start for lm in slow]
    ends = [lm.calls[0].end for lm in slow]
    assert max(starts) < min(ends)


def test_several_samples_per_teacher_get_distinct_rollouts():
    lm = ScriptedLM({"answer": "x"}, model="openai/solo")
    pool = (
        fd.TeacherPool([lm], samples_per_teacher=3, temperature=0.9)
        .bind(dspy.Predict("q -> answer"))
        .generate({"q": "?"})
    )
    assert [c.rollout_id for c in pool] == [0, 1, 2]
    assert {c.temperature for c in lm.calls} == {0.9}


def test_fusion_over_teachers():
    def fusor(prompt):
        return {"answer": "fused"} if is_fusor_prompt(prompt) else {"answer": "draft"}

    fusor_lm = ScriptedLM(fusor, model="openai/fusor")
    teachers = fd.TeacherPool(
        [ScriptedLM({"answer": "a"}, model="openai/a"), ScriptedLM({"answer": "b"}, model="openai/b")]
    )
    pred = fd.FusionOfN(dspy.Predict("question -> answer"), source=teachers, fuser=fd.Fuser(lm=fusor_lm))(question="q")
    assert pred.answer == "fused"
    assert [c.source for c in pred.nofn.candidates] == ["openai/a", "openai/b"]
    assert "<candidate 2>" in fusor_lm.calls[0].prompt


def test_bad_teacher_lists_are_rejected():
    with pytest.raises(fd.ConfigurationError, match="at least one teacher"):
        fd.TeacherPool([])
    with pytest.raises(fd.ConfigurationError, match="unknown model"):
        fd.TeacherPool(["nonexistent-provider/x"]).bind(dspy.Predict("q -> a")).generate({"q": "?"})


def test_per_teacher_concurrency_is_a_process_wide_limit_across_threads_and_copies():
    """Issue 10.12: k=2 let 8 calls in flight under .batch(num_threads=4)."""
    teacher = SlowLM({"answer": "draft"}, delay_s=0.2, model="openai/limited-teacher")
    source = fd.TeacherPool([teacher], samples_per_teacher=3, per_teacher_concurrency=2)
    fuser = fd.Fuser(lm=ScriptedLM({"answer": "fused"}, model="openai/fusor"))
    program = fd.FusionOfN(dspy.Predict("question -> answer"), source=source, fuser=fuser)
    examples = [dspy.Example(question=f"q{i}").with_inputs("question") for i in range(4)]
    results = program.batch(examples, num_threads=4, disable_progress_bar=True)
    assert [r.answer for r in results] == ["draft"] * 4  # identical drafts: the fusor is skipped
    assert len(teacher.calls) == 12
    assert teacher.max_overlap() == 2


def test_per_teacher_concurrency_holds_across_event_loops():
    teacher = SlowLM({"answer": "draft"}, delay_s=0.1, model="openai/limited-teacher-2")
    pool = fd.TeacherPool([teacher], samples_per_teacher=3, per_teacher_concurrency=2).bind(dspy.Predict("q -> answer"))
    threads = [threading.Thread(target=asyncio.run, args=(pool.agenerate({"q": f"q{i}"}),)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(teacher.calls) == 9
    assert teacher.max_overlap() == 2
