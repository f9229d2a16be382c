"""What an adapter cost to make, kept beside it: stages add up over runs, a meter adds CPU time at every tick."""

from fusion_dspy.lm.adapter_cost import CpuMeter, TrainingCost, add_cost, read_cost


def test_stages_add_up_over_runs_and_are_read_beside_the_adapter(tmp_path):
    adapter = tmp_path / "adapter.gguf"
    assert read_cost(adapter) is None  # an adapter made elsewhere: nothing recorded
    add_cost(adapter, "bootstrap", 1800.0)
    add_cost(adapter, "train", 3600.0)
    total = add_cost(adapter, "bootstrap", 1800.0)  # a second run after a kill
    assert total == TrainingCost(bootstrap_cpu_s=3600.0, train_cpu_s=3600.0) == read_cost(adapter)
    assert total.cpu_hours == 2.0
    assert read_cost(tmp_path / "other.gguf") is None  # adapters sharing a folder keep their own records


def test_a_meter_adds_the_process_cpu_time_since_its_last_tick(tmp_path):
    meter = CpuMeter(tmp_path / "adapter.gguf", "train")
    sum(i * i for i in range(300_000))  # some CPU work
    meter.tick()
    first = read_cost(tmp_path / "adapter.gguf")
    assert first is not None and first.train_cpu_s > 0 and first.bootstrap_cpu_s == 0
    meter.tick()
    second = read_cost(tmp_path / "adapter.gguf")
    assert second is not None and second.train_cpu_s >= first.train_cpu_s
