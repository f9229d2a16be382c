from fusion_dspy.select.normalize import final_number, normalize_text


def test_normalize_text():
    assert normalize_text("  Hello,   World! ") == "hello world"
    assert normalize_text("ＡＢＣ") == "abc"


def test_final_number():
    assert final_number("So the answer is 1,234.") == "1234"
    assert final_number("2.50 dollars") == "2.5"
    assert final_number("-3") == "-3"
    assert final_number("first 3 then 18") == "18"
    assert final_number("no digits here") == "no digits here"
