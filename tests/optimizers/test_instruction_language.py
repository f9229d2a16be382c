"""A non-English study also tries its best fusor with the instructions translated into the study's language,
keeps whichever scores better on validation, and reports both (issue 13, point 3)."""

import json
import re

import pytest

from fusion_dspy.fuse import Fuser
from fusion_dspy.optimizers import FusorOnly, FusorStudy
from fusion_dspy.optimizers.instruction_language import choose_instruction_language, in_language, markers
from fusion_dspy.programs import task_by_name
from fusion_dspy.registry import FusorRegistry
from fusion_dspy.testing import FakeModelServer, ScriptedLM
from tests.optimizers.test_finish import write_pools
from tests.optimizers.test_study_keys import mgsm_folder, study_config

GERMAN = "AUF DEUTSCH:"


def line_of(prompt: str) -> str:
    """The line a translation request asks for (DSPy's chat format: `[[ ## text ## ]]` then the value)."""
    return re.findall(r"\[\[ ## text ## \]\]\n(.*?)\n\n\[\[ ## language", prompt, re.S)[-1]


def german(prompt: str) -> dict:
    return {"translated": f"{GERMAN} {line_of(prompt)}"}


def math_fusor(lm) -> FusorOnly:
    return FusorOnly(Fuser(chain_of_thought=True, lm=lm).bind(task_by_name("math")().signature))


def test_every_line_of_every_predictor_is_translated_on_a_copy_and_the_translation_is_saved(tmp_path):
    lm = ScriptedLM(german)
    program = math_fusor(lm)
    english = program.fuser.predict.predict.signature.instructions
    translated = in_language(program, "de", lm)
    lines = english.splitlines()
    expected = "\n".join(f"{GERMAN} {line}" if line.strip() else "" for line in lines)
    assert translated.fuser.predict.predict.signature.instructions == expected  # line by line, blank lines kept
    assert program.fuser.predict.predict.signature.instructions == english  # the original is untouched
    assert len(lm.calls) == sum(1 for line in lines if line.strip())
    assert all("German" in call.prompt for call in lm.calls)
    translated.fuser.save(str(tmp_path / "fusor.json"))
    loaded = math_fusor(lm)
    loaded.fuser.load(str(tmp_path / "fusor.json"))
    assert loaded.fuser.predict.predict.signature.instructions == expected  # the registry keeps what was chosen


def test_an_empty_translation_is_an_error_not_empty_instructions():
    lm = ScriptedLM({"translated": "  "})
    with pytest.raises(ValueError, match="empty German instructions"):
        in_language(math_fusor(lm), "de", lm)


def test_a_summary_that_drops_the_candidate_tags_is_an_error():
    """What the 1.5B model did in the real study: one line, no <candidate N> blocks."""
    lm = ScriptedLM(
        {"translated": "Du darfst die Quelltext in das Zielsprache übersetzen. Gib nur die Übersetzung aus."}
    )
    with pytest.raises(ValueError, match=r"dropped <candidate N>, </candidate N>"):
        in_language(math_fusor(lm), "de", lm)
    assert markers("Use `candidates`; see <candidate 1> and `candidates`.") == ["`candidates`", "<candidate 1>"]


def responder(right_in: str):
    """Translation requests get GERMAN; the fusor answers right (2i + 6 for problem i) only when its instructions
    are in `right_in` ("de": they contain GERMAN; "en": they do not; "broken": the translator answers nothing)."""

    def respond(messages):
        system, last = str(messages[0]["content"]), str(messages[-1]["content"])
        if "`translated`" in system:
            translated = f"[[ ## translated ## ]]\n{GERMAN} {line_of(last)}\n\n[[ ## completed ## ]]"
            return "no fields here" if right_in == "broken" else translated
        problem = int(re.findall(r"Problem (\d+)", last)[-1])
        right = (GERMAN in system) == (right_in == "de")
        answer = 2 * problem + 6 if right else 7
        return f"[[ ## reasoning ## ]]\nworked\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"

    return respond


def german_study(server, tmp_path, right_in: str) -> FusorStudy:
    """A math study in German over stored pools; the model is named after the case (DSPy's cache is keyed by
    model and prompt, and the cases answer the same prompts differently)."""
    data = mgsm_folder(tmp_path / "data", language="de")
    config = study_config(server, tmp_path, language="de", limit=10, data_dir=data, model=f"openai/fake-{right_in}")
    runner = FusorStudy(config)
    write_pools(runner)
    return runner


@pytest.mark.parametrize("right_in", ["de", "en"])
def test_the_language_that_scores_better_on_validation_is_kept_and_both_are_reported(tmp_path, right_in):
    steps: dict[str, list[int]] = {}  # label -> [total, advanced]

    def progress(label, total, done):
        steps[label] = [total, done]
        return lambda: steps[label].__setitem__(1, steps[label][1] + 1)

    with FakeModelServer(responder=responder(right_in)) as server:
        runner = german_study(server, tmp_path, right_in)
        runner.progress = progress
        result = runner.finish(runner.run(), FusorRegistry(tmp_path / "registry"))
    assert list(steps) == [
        "trial 0: validation",
        "held-out: default fusor",
        "held-out: tuned fusor",
        "validation: de instructions",  # English's validation scores come from the trial, not a second scoring
        "held-out: de instructions",
    ]
    assert all(total == done == 3 for total, done in steps.values())  # every step shows its examples as they finish
    choice = result.instructions
    assert choice.kept == right_in and choice.translated.startswith(GERMAN) and choice.error is None
    assert (choice.val_translated > choice.val_source) == (right_in == "de")
    assert choice.val_source == result.val_score
    assert (choice.test_translated, choice.test_source) == ((1.0, 0.0) if right_in == "de" else (0.0, 1.0))
    assert choice.difference.n == 3 and (choice.difference.difference > 0) == (right_in == "de")
    assert (choice.validation.low > 0) == (right_in == "de")  # kept only when better on validation beyond noise
    assert result.after == max(choice.test_translated, choice.test_source)  # "after" is the kept fusor's score
    [entry] = json.loads((tmp_path / "registry" / "manifest.json").read_text())["entries"]
    assert entry["instructions"]["kept"] == right_in
    saved = (tmp_path / "registry" / "math" / "de.json").read_text()
    assert (GERMAN in saved) == (right_in == "de")  # the registry holds the kept instructions
    report = result.report.read_text()
    assert f"Kept: **{right_in}**" in report and f"| de | {choice.val_translated:.3f} | " in report


def test_a_trial_stored_without_per_example_scores_is_scored_again_with_the_same_result(tmp_path):
    steps: list[str] = []
    with FakeModelServer(responder=responder("en")) as server:
        runner = german_study(server, tmp_path, "en")
        study = runner.run()
        runner.progress = lambda label, total, done: steps.append(label) or (lambda: None)
        best = study.best_trial
        tuned = runner.fusor(best.params["chain_of_thought"], best.params["fusor_model"])
        tuned.fuser.load(str(runner.config.out_dir / "trials" / best.user_attrs["state"]))
        data = runner.splits(best.params["temperature"], best.params["n"])
        test = runner.score_each(tuned, data.test)
        _, _, choice = choose_instruction_language(runner, tuned, data, None, test, best.params["fusor_model"])
    assert "validation: English instructions" in steps
    assert choice.val_source == best.user_attrs["val_score"]
    assert choice.val_source == sum(best.user_attrs["val_scores"].values()) / len(best.user_attrs["val_scores"])


def test_a_failed_translation_is_reported_and_english_is_kept(tmp_path):
    with FakeModelServer(responder=responder("broken")) as server:
        runner = german_study(server, tmp_path, "broken")
        result = runner.finish(runner.run(), FusorRegistry(tmp_path / "registry"))
    assert result.instructions.kept == "en" and result.instructions.translated is None
    assert result.instructions.error and result.registered is not None
    assert "the translation failed" in result.report.read_text()


def test_english_studies_and_opted_out_ones_compare_nothing(tmp_path):
    with FakeModelServer(responder=responder("en")) as server:
        data = mgsm_folder(tmp_path / "data", language="de")
        assert not study_config(server, tmp_path).compares_instruction_languages
        opted_out = study_config(server, tmp_path, language="de", data_dir=data, translate_instructions=False)
        assert not opted_out.compares_instruction_languages
        assert opted_out.study_name == study_config(server, tmp_path, language="de", data_dir=data).study_name
