"""mdm.forked: work spread over forked processes, answered in order; a child that fails or
dies is reported and no child outlives the call."""

import os
import signal

import pytest

from mdm import forked


def forks(monkeypatch):
    """The pids of the children forked from now on."""
    pids = []
    fork = forked._fork
    monkeypatch.setattr(
        forked, "_fork", lambda *args, **kwargs: pids.append(fork(*args, **kwargs)) or pids[-1]
    )
    return pids


def assert_reaped(pids):
    """Every one of these children has ended and been waited for (no zombie left)."""
    for pid, _ in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_a_dead_worker_is_reported_and_the_others_end(monkeypatch):
    def work(item):
        if item == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return item * 2

    pids = forks(monkeypatch)
    results = forked.ordered_map(work, range(10), processes=2)
    assert [next(results) for _ in range(3)] == [0, 2, 4]
    with pytest.raises(forked.ChildFailed, match="stopped"):
        list(results)
    assert_reaped(pids)


def test_results_come_in_order_however_long_each_takes(monkeypatch):
    def work(item):
        return [item] * (50_000 if item % 3 == 0 else 1)  # some answers larger than a pipe holds

    pids = forks(monkeypatch)
    results = list(forked.ordered_map(work, range(12), processes=3))
    assert len(pids) == 3
    assert_reaped(pids)
    assert [r[0] for r in results] == list(range(12))
    assert [len(r) for r in results] == [50_000 if n % 3 == 0 else 1 for n in range(12)]


def test_an_error_in_a_child_is_raised_with_its_traceback(monkeypatch):
    pids = forks(monkeypatch)

    def work(item):
        return {}["missing"] if item == 4 else item

    with pytest.raises(forked.ChildFailed, match="KeyError: 'missing'"):
        list(forked.ordered_map(work, range(8), processes=2))
    assert_reaped(pids)
