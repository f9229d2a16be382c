import itertools

import dspy
import pytest

import fusion_dspy as fd
from fusion_dspy.candidates import Candidate
from fusion_dspy.fuse import resolve_candidate_references
from fusion_dspy.testing import FailingLM, FakeModelServer, ScriptedLM
from tests.conftest import pool_of

QA = dspy.ensure_signature("question -> answer")
SHOWN = [Candidate(index=0, outputs={"answer": "Au"}), Candidate(index=1, outputs={"answer": "Ag"})]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Candidate 2", "Ag"),
        ("candidate #1.", "Au"),
        ("2. Ag", "Ag"),
        ("Candidate 1: Au", "Au"),
        ("<candidate 1>\nAu\n</candidate 1>", "Au"),
    ],
)
def test_candidate_references_are_resolved(raw, expected):
    outputs, resolved = resolve_candidate_references({"answer": raw}, SHOWN)
    assert outputs == {"answer": expected}
    assert resolved


@pytest.mark.parametrize("raw", ["2", "2. Silver is the answer", "Candidate 7", "Gold (Au)"])
def test_real_answers_are_left_alone(raw):
    outputs, resolved = resolve_candidate_references({"answer": raw}, SHOWN)
    assert outputs == {"answer": raw}
    assert not resolved


def test_default_instructions_cover_the_job_and_keep_the_task():
    fuser = fd.Fuser().bind(dspy.ensure_signature("question -> answer", instructions="Answer in one word."))
    instructions = fuser.predict.signature.instructions
    for phrase in ["strongest, correct parts", "drop parts that are wrong", "contradict", "language of the task",
                   "never mention", "Answer in one word."]:  # fmt: skip
        assert phrase in instructions


def test_custom_instructions_and_chain_of_thought():
    fuser = fd.Fuser(QA, instructions="Merge them.", chain_of_thought=True)
    assert list(fuser.predict.predict.signature.output_fields) == ["reasoning", "answer"]
    assert fuser.predict.predict.signature.instructions.startswith("Merge them.")


def test_fusor_uses_its_own_lm_and_renders_the_pool():
    fusor_lm = ScriptedLM({"answer": "Au"})
    fuser = fd.Fuser(QA, lm=fusor_lm, render=fd.RenderOptions(shuffle=False))
    result = fuser.aggregate({"question": "Symbol of gold?"}, pool_of("Au", None, "Gold"))
    assert result.outputs == {"answer": "Au"} and result.method == "fused"
    prompt = fusor_lm.calls[0].prompt
    assert "<candidate 1>\nAu\n</candidate 1>" in prompt and "<candidate 2>\nGold\n</candidate 2>" in prompt
    assert "Symbol of gold?" in prompt


def test_unbound_fuser_says_how_to_bind():
    with pytest.raises(RuntimeError, match="bind"):
        fd.Fuser().aggregate({"question": "q"}, pool_of("x"))


def test_an_output_that_echoes_an_input_field_falls_back_to_selection():
    signature = dspy.ensure_signature("source_text, target_language -> translation")
    fuser = fd.Fuser(signature, lm=ScriptedLM({"translation": "German"}))
    pool = pool_of("Der Hund schläft.", "Der Hund schlaeft.", field="translation")
    result = fuser.aggregate({"source_text": "The dog sleeps.", "target_language": "German"}, pool)
    assert result.method == "selected" and result.outputs["translation"] in {"Der Hund schläft.", "Der Hund schlaeft."}
    assert "echoed the input field 'target_language'" in result.fallback


def test_an_output_that_a_candidate_also_gave_is_not_an_echo():
    fuser = fd.Fuser("question -> answer", lm=ScriptedLM({"answer": "Paris"}))
    result = fuser.aggregate({"question": "Paris"}, pool_of("Paris", "Lyon"))
    assert result.method == "fused" and result.outputs == {"answer": "Paris"}


# Issue 10.8: post-processing never rewrites a correct answer


def test_an_answer_that_a_candidate_gave_is_never_resolved_as_a_reference():
    shown = [Candidate(index=0, outputs={"answer": "Response 1"}), Candidate(index=1, outputs={"answer": "Response 2"})]
    shuffled = list(reversed(shown))  # "Response 2" would otherwise resolve to the second block: "Response 1"
    assert resolve_candidate_references({"answer": "Response 2"}, shuffled) == ({"answer": "Response 2"}, False)


def test_an_answer_the_inputs_mention_is_never_resolved_as_a_reference():
    inputs = {"question": "Which is more polite, Response 1 or Response 2?"}
    outputs, resolved = resolve_candidate_references({"answer": "Response 2"}, SHOWN, inputs)
    assert outputs == {"answer": "Response 2"} and not resolved


def test_a_fused_output_equal_to_an_already_correct_input_is_kept():
    signature = dspy.ensure_signature("text -> corrected")
    fuser = fd.Fuser(signature, lm=ScriptedLM({"corrected": "The cat sleeps on the mat."}))
    pool = pool_of("The cat sleep on the mat.", "The cats sleeps on the mat.", field="corrected")
    result = fuser.aggregate({"text": "The cat sleeps on the mat."}, pool)
    assert result.method == "fused" and result.fallback is None
    assert result.outputs == {"corrected": "The cat sleeps on the mat."}


def test_an_untranslated_source_copied_by_the_fusor_is_still_an_echo():
    signature = dspy.ensure_signature("source_text, target_language -> translation")
    fuser = fd.Fuser(signature, lm=ScriptedLM({"translation": "The dog sleeps."}))
    pool = pool_of("Der Hund schläft.", "Der Hund schlaeft.", field="translation")
    result = fuser.aggregate({"source_text": "The dog sleeps.", "target_language": "German"}, pool)
    assert result.method == "selected" and "echoed the input field 'source_text'" in result.fallback


# Issue 10.9: a fusor that can never run is not a silent selector


def auth_failure():
    from dspy.utils.exceptions import LMAuthError

    return LMAuthError(message="Incorrect API key provided.", model="openai/fusor", status=401)


def test_a_fusor_failing_for_a_permanent_reason_raises_a_clear_error():
    fuser = fd.Fuser(QA, lm=FailingLM(error_factory=auth_failure, model="openai/fusor"))
    with pytest.raises(fd.FusorError, match=r"authentication failed.*API key.*on_permanent_error='select'"):
        fuser.aggregate({"question": "q"}, pool_of("Au", "Ag"))


@pytest.mark.parametrize(
    ("status", "cause"), [(401, "authentication failed"), (404, "unknown model"), (400, "invalid")]
)
def test_a_rejecting_fusor_server_raises_through_fusion_of_n(status, cause):
    drafts = itertools.count()  # distinct drafts, so the fusor is called

    def respond(messages):
        return f"[[ ## answer ## ]]\ndraft {next(drafts)}\n\n[[ ## completed ## ]]"

    with FakeModelServer(rejected_models={"fusor": status}, responder=respond) as server:
        sampler = dspy.LM("openai/fake", api_base=server.base_url, api_key="k", cache=False, num_retries=0)
        fusor = dspy.LM("openai/fusor", api_base=server.base_url, api_key="k", cache=False, num_retries=0)
        program = fd.FusionOfN(dspy.Predict("question -> answer"), n=2, fuser=fd.Fuser(lm=fusor))
        with dspy.context(lm=sampler), pytest.raises(fd.FusorError, match=cause):
            program(question="q")


def test_selection_on_a_permanent_failure_warns_once_per_cause_and_is_flagged(caplog):
    from fusion_dspy.lm import failures

    failures._warned.clear()
    fuser = fd.Fuser(QA, lm=FailingLM(error_factory=auth_failure, model="openai/fusor"), on_permanent_error="select")
    with caplog.at_level("WARNING", logger="fusion_dspy.lm.failures"):
        results = [fuser.aggregate({"question": f"q{i}"}, pool_of("Au", "Au", "Ag")) for i in range(3)]
    assert all(r.method == "selected" and r.fallback.startswith("fusor cannot run: authentication") for r in results)
    assert len([r for r in caplog.records if "cannot run" in r.getMessage()]) == 1


def test_a_passing_fusor_failure_still_falls_back_to_a_flagged_selection():
    fuser = fd.Fuser(QA, lm=FailingLM(model="openai/fusor"))  # connection refused: may pass
    result = fuser.aggregate({"question": "q"}, pool_of("Au", "Au", "Ag"))
    assert result.method == "selected" and result.outputs == {"answer": "Au"}
    assert result.fallback.startswith("fusor failed (") and "connection refused" in result.fallback


@pytest.mark.parametrize("adaptive", [False, True], ids=["plain", "adaptive"])
@pytest.mark.parametrize("written", ["", "  \n "])
def test_an_empty_fused_answer_is_a_fusor_failure_flagged_and_selected(adaptive, written):
    """Issue 26.3: `answer=""` came back as the fused answer (path fused, no fallback)."""
    drafts = itertools.cycle([{"answer": "Au, gold"}, {"answer": "Ag"}, {"answer": "Au"}])

    def respond(prompt):
        return {"answer": written} if "<candidate 1>" in prompt else next(drafts)

    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=3, adaptive=adaptive)
    with dspy.context(lm=ScriptedLM(respond)):
        pred = program(question="Which metal?")
    assert pred.answer in {"Au, gold", "Ag", "Au"}
    assert pred.nofn.method == "selected" and "empty 'answer'" in pred.nofn.fallback


@pytest.fixture
def missing_embedded_model(monkeypatch):
    """An embedded model whose weight packages are not installed: the real error path of `local` without weights."""
    from fusion_dspy.lm.weights import EMBEDDED_MODELS

    absent = {"name": "absent-model", "sha256": "0" * 64, "package_prefix": "fusion-dspy-absent-weights-part"}
    model = EMBEDDED_MODELS["local-small"].model_copy(update=absent)
    monkeypatch.setitem(EMBEDDED_MODELS, "local-absent", model)
    return "local-absent"


def test_an_embedded_fusor_that_cannot_start_raises_naming_the_fix(missing_embedded_model):
    """Issue 26.4: a LocalModelError in the fusor became a silent selection on every call."""
    fuser = fd.Fuser(QA, lm=missing_embedded_model)
    with pytest.raises(fd.FusorError, match=r"embedded model cannot start.*not installed.*pip install"):
        fuser.aggregate({"question": "q"}, pool_of("Au", "Ag"))


def test_the_default_fusor_that_cannot_start_raises_through_fusion_of_n(missing_embedded_model, monkeypatch):
    monkeypatch.setenv("FUSION_DSPY_MODEL", missing_embedded_model)
    module = dspy.Predict("question -> answer")
    module.set_lm(ScriptedLM(lambda prompt: {"answer": f"draft {len(prompt) % 7} {id(prompt)}"}))  # candidates run
    with pytest.raises(fd.FusorError, match="pip install"):
        fd.FusionOfN(module, n=2)(question="q")


def test_an_embedded_fusor_that_cannot_start_warns_once_under_select(missing_embedded_model, caplog):
    from fusion_dspy.lm import failures

    failures._warned.clear()
    fuser = fd.Fuser(QA, lm=missing_embedded_model, on_permanent_error="select")
    with caplog.at_level("WARNING", logger="fusion_dspy.lm.failures"):
        results = [fuser.aggregate({"question": f"q{i}"}, pool_of("Au", "Au", "Ag")) for i in range(2)]
    assert all(r.method == "selected" and "embedded model cannot start" in r.fallback for r in results)
    assert len([r for r in caplog.records if "pip install" in r.getMessage()]) == 1


@pytest.mark.parametrize("adaptive", [False, True], ids=["plain", "adaptive"])
@pytest.mark.parametrize(
    "written",
    ["{response}", "{{ answer }}", "<answer></answer>", "[insert answer here]", "${answer}"],
)
def test_a_template_placeholder_is_a_fusor_failure_flagged_and_selected(adaptive, written):
    """Issue 27.1: `local-small` returned '{response}' as the fused answer over candidates that said '8'."""
    drafts = itertools.cycle([{"answer": "8"}, {"answer": "eight legs"}, {"answer": "6"}])

    def respond(prompt):
        return {"answer": written} if "<candidate 1>" in prompt else next(drafts)

    program = fd.FusionOfN(dspy.Predict("question -> answer"), n=3, adaptive=adaptive)
    with dspy.context(lm=ScriptedLM(respond)):
        pred = program(question="How many legs does a spider have?")
    assert pred.answer in {"8", "eight legs", "6"}
    assert pred.nofn.method == "selected" and "template placeholder for 'answer'" in pred.nofn.fallback


def test_the_fusors_instructions_written_back_are_a_fusor_failure():
    instructions = fd.Fuser(QA).predict.signature.instructions
    copy = " ".join(instructions.split()[:40])
    result = fd.Fuser(QA, lm=ScriptedLM({"answer": copy})).aggregate({"question": "q"}, pool_of("Au", "Ag", "Au"))
    assert result.method == "selected" and result.outputs == {"answer": "Au"}
    assert result.fallback.startswith("fusor copied its instructions into 'answer' instead of answering")


def test_what_a_candidate_said_is_an_answer_however_it_looks():
    """A template-writing task: the candidates themselves answer with a placeholder."""
    result = fd.Fuser(QA, lm=ScriptedLM({"answer": "{name}"})).aggregate({"question": "q"}, pool_of("{name}", "x"))
    assert (result.method, result.outputs) == ("fused", {"answer": "{name}"})
    for answer in ("Mount Kilimanjaro", "{x: 1} is a set", "The answer is <b>8</b> legs"):
        kept = fd.Fuser(QA, lm=ScriptedLM({"answer": answer})).aggregate({"question": "q"}, pool_of("8", "Au"))
        assert kept.method == "fused" and kept.outputs == {"answer": answer}


@pytest.mark.parametrize(
    ("value", "residue"),
    [("{response}", True), ("[[ ## answer ## ]]\n[[ ## completed ## ]]", True), ("<answer> </answer>", True),
     ("{}", True), ("Paris", False), ("{x} is a set", False), ("[1, 2]", False), ("8", False), (18, False)],
)  # fmt: skip
def test_what_counts_as_template_residue(value, residue):
    from fusion_dspy.not_an_answer import placeholder

    assert placeholder(value) is residue
