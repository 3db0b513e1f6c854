import numpy as np
import pandas as pd
import pytest

from fraudstream.errors import ConfigError
from fraudstream.worlds.clock import Pacer, paced


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def frame(seconds):
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame({"tx_id": np.arange(len(seconds)), "ts": ts})


def run(pacer, frames, max_batch=1000):
    clock = FakeClock()
    out = [(clock.now, len(b)) for b in paced(frames, pacer, max_batch=max_batch, clock=clock,
                                             sleep=clock.sleep)]
    return out, clock


def test_unpaced_never_sleeps_and_splits_batches():
    out, clock = run(Pacer(), [frame(np.arange(2500))], max_batch=1000)
    assert [n for _, n in out] == [1000, 1000, 500]
    assert clock.slept == []


def test_speed_keeps_event_time_gaps_scaled():
    out, _ = run(Pacer(speed=10), [frame([0, 10, 20, 40])])
    assert [t - 100 for t, _ in out] == pytest.approx([0, 1, 2, 4])


def test_rate_releases_rows_by_count_whatever_their_times():
    out, _ = run(Pacer(rate=2), [frame([0, 0, 5000]), frame([9000])])
    assert [t - 100 for t, _ in out] == pytest.approx([0, 0.5, 1.0, 1.5])


@pytest.mark.parametrize("kwargs", [{"speed": 0}, {"rate": -1}, {"speed": 1, "rate": 1}])
def test_bad_pacing_is_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        Pacer(**kwargs)


@pytest.mark.parametrize("pacer", [Pacer(), Pacer(speed=3600.0), Pacer(rate=50.0)])
def test_pacing_never_changes_what_is_generated(pacer):
    from fraudstream.worlds import get_world

    bulk = pd.concat(get_world("classroom")(seed=5).generate(rows=400), ignore_index=True)
    clock = FakeClock()
    batches = list(paced(get_world("classroom")(seed=5).generate(rows=400), pacer, max_batch=64,
                         clock=clock, sleep=clock.sleep))
    assert max(len(b) for b in batches) <= 64
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), bulk)
