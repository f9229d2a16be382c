from pydantic import BaseModel

from fusion_dspy.jsonl import JsonlLog


class Row(BaseModel):
    id: str
    value: int = 0


def test_rows_survive_reopening_and_later_rows_win(tmp_path):
    path = tmp_path / "sub" / "rows.jsonl"
    log = JsonlLog(path, Row)
    log.append(Row(id="a", value=1))
    log.append(Row(id="b", value=2))
    log.append(Row(id="a", value=3))
    again = JsonlLog(path, Row)
    assert {k: r.value for k, r in again.rows.items()} == {"a": 3, "b": 2}
    assert "b" in again and "c" not in again


def test_compact_keeps_the_latest_row_per_key(tmp_path):
    path = tmp_path / "rows.jsonl"
    log = JsonlLog(path, Row)
    for value in range(3):
        log.append(Row(id="a", value=value))
    log.append(Row(id="b"))
    log.compact()
    assert path.read_text().splitlines() == ['{"id":"a","value":2}', '{"id":"b","value":0}']


def test_a_torn_last_line_is_dropped_and_the_next_row_starts_cleanly(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "1", "value": 1}\n{"id": "2", "val')
    log = JsonlLog(path, Row)
    assert list(log.rows) == ["1"]
    log.append(Row(id="2", value=2))
    assert path.read_text().splitlines() == ['{"id": "1", "value": 1}', '{"id":"2","value":2}']


def test_custom_keys(tmp_path):
    log = JsonlLog(tmp_path / "r.jsonl", Row, key=lambda r: f"{r.id}:{r.value}")
    log.append(Row(id="x", value=1))
    assert "x:1" in log
