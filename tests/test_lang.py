import dspy
import pytest

from fusion_dspy.lang import detect_language, in_language
from fusion_dspy.programs import task_by_name


@pytest.mark.parametrize(
    ("text", "code"),
    [("Der Hund schläft im Garten.", "de"), ("犬は庭で寝ています。", "ja"), ("Собака спит в саду.", "ru"),
     ("Le chien dort dans le jardin.", "fr"), ("The dog sleeps in the garden.", "en"), ("42", None)],
)  # fmt: skip
def test_detect_language(text, code):
    assert detect_language(text) == code


def test_short_answers_are_not_penalised():
    assert in_language("Paris", "ja")
    assert in_language("1234", "de")
    assert not in_language("The dog sleeps in the garden tonight.", "de")


def test_language_aware_metric_zeroes_answers_in_the_wrong_language():
    task = task_by_name("translation")()
    example = task.load("de", limit=1)[0]
    assert example.language == "de"
    english = dspy.Prediction(translation=example.source_text)
    german = dspy.Prediction(translation=example.reference)
    assert task.language_metric(example, english) == 0.0
    assert task.language_metric(example, german) == pytest.approx(1.0)
    assert task.metric(example, english) > 0.0


def test_translation_routes_by_target_language():
    task = task_by_name("translation")()
    assert task.language_of({"source_text": "Hello there, my friend.", "target_language": "Japanese"}) == "ja"
    assert task_by_name("math")().language_of({"question": "Wie viele Eier legt die Ente?"}) == "de"


def test_kanji_heavy_japanese_is_not_zeroed_as_chinese():
    assert in_language("日本銀行総裁記者会見要旨", "ja")  # identified as Chinese before
    assert in_language("日本銀行総裁は記者会見で金利を据え置くと述べた", "ja")
    assert not in_language("日本銀行総裁は記者会見で金利を据え置くと述べた", "zh")  # kana: Japanese
    assert not in_language("这是一个关于经济政策的新闻报道，我们需要把它翻译成日语，然后发给编辑部审核。", "ja")
