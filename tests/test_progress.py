"""Progress written to a file (no terminal) logs a plain line per tenth of each bar instead of nothing."""

import io

from rich.console import Console

from fusion_dspy.progress import progress_bar, tracked


def test_a_bar_on_a_file_logs_a_line_per_tenth_and_says_when_it_is_done():
    file = io.StringIO()
    with progress_bar(Console(file=file, width=200)) as progress:
        task = progress.add_task("held-out: tuned fusor", total=30)
        for _ in range(30):
            progress.advance(task)
    lines = [line for line in file.getvalue().splitlines() if line.startswith("held-out: tuned fusor: ")]
    assert [line.split(": ")[2].split(" ")[0] for line in lines] == [f"{3 * i}/30" for i in range(1, 11)]
    assert "to go" in lines[0] and "to go" not in lines[-1]


def test_a_terminal_gets_the_live_bar_and_no_extra_lines():
    file = io.StringIO()
    with progress_bar(Console(file=file, force_terminal=True, width=200)) as progress:
        task = progress.add_task("trials", total=4)
        progress.update(task, completed=4)
    assert "trials: 4/4 (" not in file.getvalue()


def test_the_time_to_go_is_the_mean_pace_so_far(monkeypatch):
    file, now = io.StringIO(), [0.0]
    with progress_bar(Console(file=file, width=200)) as progress:
        monkeypatch.setattr(progress, "get_time", lambda: now[0])
        task = progress.add_task("validation", total=10)
        now[0] = 60.0  # a minute per step
        progress.advance(task)
    assert "validation: 1/10 (0:01:00 so far, about 0:09:00 to go)" in file.getvalue()


def test_a_resumed_bar_counts_only_the_steps_done_in_this_run(monkeypatch):
    file, now = io.StringIO(), [0.0]
    with progress_bar(Console(file=file, width=200)) as progress:
        monkeypatch.setattr(progress, "get_time", lambda: now[0])
        task = progress.add_task("trials", total=12, completed=6)  # six found done by an earlier run
        now[0] = 600.0  # ten minutes for the one trial this run did
        progress.advance(task)
    assert "trials: 7/12 (0:10:00 so far, about 0:50:00 to go)" in file.getvalue()


def test_a_long_loop_in_the_python_api_can_show_its_progress(capfd):
    """Issue 27.4: a loop over a program said nothing for minutes; `fd.tracked` draws a bar (lines on a file)."""
    import fusion_dspy as fd

    seen = list(fd.tracked(range(20), "examples"))
    assert seen == list(range(20)) and fd.tracked is tracked
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("examples: ")]
    assert [line.split(" ")[1] for line in lines] == [f"{2 * i}/20" for i in range(1, 11)]
