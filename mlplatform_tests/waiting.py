"""Waiting on a condition instead of sleeping a fixed time: a busy machine only makes it slower."""

import time


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {seconds:.0f} s"
        time.sleep(0.5)
