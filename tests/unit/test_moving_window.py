"""The rate limits' moving window: at most N hits in any window, decided inline."""

from __future__ import annotations

from gateway import moving_window
from gateway.moving_window import MovingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_hits_beyond_the_amount_wait_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    window = MovingWindow(clock)
    assert window.hit("a", 3, 60) is None
    clock.now += 10
    assert window.hit("a", 3, 60) is None
    clock.now += 10
    assert window.hit("a", 3, 60) is None
    clock.now += 5
    assert window.hit("a", 3, 60) == 35.0  # the first hit (at +0) leaves at +60
    clock.now += 34.5
    assert window.hit("a", 3, 60) == 0.5  # refused hits are not counted
    clock.now += 0.5
    assert window.hit("a", 3, 60) is None  # the first hit left; now hits at +10, +20, +60
    assert window.hit("a", 3, 60) == 10.0


def test_keys_and_windows_count_apart() -> None:
    clock = Clock()
    window = MovingWindow(clock)
    assert window.hit("a", 1, 60) is None
    assert window.hit("a", 1, 60) == 60.0
    assert window.hit("b", 1, 60) is None
    assert window.hit(("other", "a"), 1, 60) is None


def test_idle_keys_are_forgotten_and_active_ones_kept() -> None:
    clock = Clock()
    window = MovingWindow(clock)
    for n in range(100):
        assert window.hit(f"client-{n}", 5, 60) is None
    clock.now += 30
    assert window.hit("busy", 5, 60) is None
    assert len(window) == 101
    clock.now += moving_window.SWEEP_EVERY - 1  # client-* left their window, busy did not
    assert window.hit("busy", 5, 60) is None
    assert len(window) == 1
    assert window.hit("busy", 2, 60) == 1.0  # its hit at +30 was kept through the sweep


def test_many_keys_trigger_a_sweep_before_the_clock_does() -> None:
    clock = Clock()
    window = MovingWindow(clock)
    for n in range(moving_window.SWEEP_AT_KEYS):
        window.hit(n, 1, 1)
    clock.now += 2
    window.hit("late", 1, 1)
    assert len(window) == 1
