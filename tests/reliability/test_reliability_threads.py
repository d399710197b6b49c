"""Threads: the outputs do not depend on numThreads or the input order; the detector pool's contract.

`SkyCorrectionTask` works on several detectors at once (`DetectorPool`); every
sum over detectors must still be taken in one fixed order, or the last bits of
the models would change with the thread count.  These tests compare whole
outputs bit for bit, and check the pool itself against plain Python: results
in input order whatever order the threads finish in, a worker's exception
raised in the caller without a hang, and ``fetch`` in the calling thread.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from reliability_support import TinyVisit, tinyConfig, tinyVisit

from lsst.sky.correction._parallel import DetectorPool, WorkLedger

#: Orders of TinyCam's four detectors (the aligned input lists are permuted together).
ORDERS = [(0, 1, 2, 3), (3, 1, 0, 2), (2, 3, 1, 0)]


def _statsImages(result: Any, order: tuple[int, ...]) -> dict[int, list[np.ndarray]]:
    """Every skyCorr element's stats image (image, variance), by detector id."""
    images = {}
    for detector, skyCorr in zip(order, result.skyCorr, strict=True):
        arrays = []
        for element in skyCorr:
            stats = element[0].getStatsImage()
            arrays.extend([stats.image.array, stats.variance.array])
        images[detector] = arrays
    return images


def _run(visit: TinyVisit, order: tuple[int, ...], numThreads: int, budgetMiB: int) -> Any:
    config = tinyConfig(numThreads=numThreads, cacheMemoryBudget=budgetMiB)
    return visit.run(
        config=config,
        calExps=[visit.calExps[i] for i in order],
        calBkgs=[visit.calBkgs[i] for i in order],
        skyFrames=[visit.skyFrames[i] for i in order],
    )


@pytest.fixture(scope="module")
def visit() -> TinyVisit:
    return tinyVisit(seed=7)


@pytest.fixture(scope="module")
def serial(visit: TinyVisit) -> Any:
    """One thread, detectors in ascending order, everything in memory: the baseline."""
    return _run(visit, ORDERS[0], numThreads=1, budgetMiB=512)


#: (numThreads, order, cache budget in MiB): each thread count with a shuffled order, each order
#: with several thread counts, and both the in-memory and the spilled cache.
CASES = [
    (1, ORDERS[1], 0),
    (1, ORDERS[2], 512),
    (2, ORDERS[0], 0),
    (2, ORDERS[1], 512),
    (4, ORDERS[0], 512),
    (4, ORDERS[2], 0),
]


@pytest.mark.parametrize(
    ("numThreads", "order", "budgetMiB"),
    CASES,
    ids=[f"threads{n}-order{''.join(map(str, o))}-{b}MiB" for n, o, b in CASES],
)
def test_outputs_do_not_depend_on_threads_or_order(
    visit: TinyVisit, serial: Any, numThreads: int, order: tuple[int, ...], budgetMiB: int
) -> None:
    """D5: numThreads 1, 2, 4 and any input order give bit-identical stats images, mosaics and scale."""
    result = _run(visit, order, numThreads=numThreads, budgetMiB=budgetMiB)
    # Bit-identical, so == on the floats and array_equal (NaN == NaN) on the pixels.
    assert result.skyFrameScale == serial.skyFrameScale
    expected = _statsImages(serial, ORDERS[0])
    got = _statsImages(result, order)
    assert sorted(got) == sorted(expected)
    for detector, arrays in got.items():
        assert len(arrays) == len(expected[detector])
        for array, reference in zip(arrays, expected[detector], strict=True):
            assert array.dtype == reference.dtype
            np.testing.assert_array_equal(array, reference, strict=True)
    for name in ("calExpMosaic", "calBkgMosaic"):
        np.testing.assert_array_equal(
            getattr(result, name).array, getattr(serial, name).array, strict=True, err_msg=name
        )


def test_the_baseline_is_a_real_correction(serial: Any) -> None:
    """The run the others are compared with recovers the simulated sky-frame scale."""
    # tinyVisit: restored image = 1000 + 40 x sky frame + N(0, 3); 4 x 51200 pixels.
    assert serial.skyFrameScale == pytest.approx(40.0, abs=0.1)
    assert len(serial.skyCorr) == 4 and all(len(skyCorr) == 4 for skyCorr in serial.skyCorr)


# The pool itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("numThreads", [1, 2, 4])
def test_the_pool_returns_results_in_input_order_whatever_the_completion_order(numThreads: int) -> None:
    """X6: results come back in input order though later items finish first."""
    items = list(range(8))
    # Earlier items sleep longer, so with several threads they finish last.
    delays = {item: 0.004 * (len(items) - item) for item in items}
    finished: list[int] = []
    lock = threading.Lock()

    def work(item: int, fetched: int) -> tuple[int, int]:
        time.sleep(delays[item])
        with lock:
            finished.append(item)
        return item, fetched

    with DetectorPool(numThreads) as pool:
        results = pool.map(lambda item: item * 10, work, items)
    assert results == [(item, item * 10) for item in items]
    assert sorted(finished) == items
    if numThreads == 1:
        assert finished == items


def test_the_pool_really_runs_items_at_once() -> None:
    """With 4 threads, 4 items that each wait for the others all finish (a barrier)."""
    barrier = threading.Barrier(4, timeout=10.0)

    def work(item: int, fetched: None) -> int:
        barrier.wait()  # raises BrokenBarrierError if fewer than 4 ran at once
        return item

    with DetectorPool(4) as pool:
        assert pool.map(lambda item: None, work, range(4)) == [0, 1, 2, 3]


@pytest.mark.parametrize("numThreads", [1, 2, 4])
def test_fetch_runs_in_the_calling_thread_and_work_in_the_pool(numThreads: int) -> None:
    """X8: every fetch runs in the caller's thread; work runs in the pool's threads (numThreads > 1)."""
    caller = threading.get_ident()
    fetchThreads: list[int] = []
    workThreads: list[int] = []

    def fetch(item: int) -> int:
        fetchThreads.append(threading.get_ident())
        return item

    def work(item: int, fetched: int) -> int:
        workThreads.append(threading.get_ident())
        return fetched

    with DetectorPool(numThreads) as pool:
        assert pool.map(fetch, work, range(10)) == list(range(10))
    assert fetchThreads == [caller] * 10
    if numThreads == 1:
        assert workThreads == [caller] * 10
    else:
        assert caller not in workThreads
        assert 1 <= len(set(workThreads)) <= numThreads


@pytest.mark.parametrize("numThreads", [2, 4])
def test_the_pool_holds_at_most_num_threads_items(numThreads: int) -> None:
    """Never more than numThreads items fetched and not yet returned (the memory bound)."""
    held = 0
    peak = 0
    lock = threading.Lock()

    def fetch(item: int) -> int:
        nonlocal held, peak
        with lock:
            held += 1
            peak = max(peak, held)
        return item

    def work(item: int, fetched: int) -> int:
        nonlocal held
        time.sleep(0.002)
        with lock:
            held -= 1
        return fetched

    with DetectorPool(numThreads) as pool:
        pool.map(fetch, work, range(12))
    assert 1 <= peak <= numThreads


class _WorkerError(RuntimeError):
    pass


@pytest.mark.parametrize("numThreads", [1, 2, 4])
def test_a_worker_exception_propagates_and_the_pool_shuts_down(numThreads: int) -> None:
    """X7: a worker's exception reaches the caller; later items are not started; no thread is left."""
    started: list[int] = []
    lock = threading.Lock()

    def work(item: int, fetched: int) -> int:
        with lock:
            started.append(item)
        if item == 2:
            raise _WorkerError("detector 2 failed")
        time.sleep(0.01)
        return item

    before = {thread.ident for thread in threading.enumerate()}
    outcome: list[BaseException | None] = []

    def runPool() -> None:
        try:
            with DetectorPool(numThreads) as pool:
                pool.map(lambda item: item, work, range(50))
        except BaseException as err:  # handed to the test's thread
            outcome.append(err)
        else:
            outcome.append(None)

    # The pool runs in a thread of its own, so a hang fails the test instead of stalling it.
    runner = threading.Thread(target=runPool)
    runner.start()
    runner.join(timeout=20.0)
    assert not runner.is_alive(), "the pool hung after a worker failed"
    assert len(outcome) == 1 and isinstance(outcome[0], _WorkerError)
    assert str(outcome[0]) == "detector 2 failed"
    # The failure stops the submission: at most numThreads items were in flight behind item 2.
    assert 2 in started
    assert max(started) <= 2 + numThreads
    # The worker threads are gone once the pool is closed.
    leftover = [
        thread
        for thread in threading.enumerate()
        if thread.ident not in before and thread.name.startswith("skyCorr")
    ]
    assert leftover == []


def test_a_fetch_exception_propagates_after_running_items_finish() -> None:
    """A failing fetch is raised in the caller once the items already running have finished."""
    running = threading.Event()
    finished: list[int] = []

    def fetch(item: int) -> int:
        if item == 1:
            running.wait(5.0)
            raise _WorkerError("cannot read detector 1")
        return item

    def work(item: int, fetched: int) -> int:
        running.set()
        time.sleep(0.05)
        finished.append(item)
        return item

    with DetectorPool(2) as pool:
        with pytest.raises(_WorkerError, match="cannot read detector 1"):
            pool.map(fetch, work, range(4))
        # No thread still works on the caller's data once map has raised.
        assert finished == [0]


def test_a_pool_needs_a_thread() -> None:
    """A pool of 0 threads is refused."""
    with pytest.raises(ValueError, match="at least one thread, got 0"):
        DetectorPool(0)


def test_the_ledger_sums_over_threads() -> None:
    """The ledger's counts from 4 threads x 250 events add up exactly; measured time is positive."""
    ledger = WorkLedger()

    def hammer() -> None:
        for _ in range(250):
            ledger.count("get")
            with ledger.measure("step"):
                pass

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.counts() == {"get": 1000}
    seconds = ledger.seconds()
    assert list(seconds) == ["step"] and seconds["step"] > 0.0

    with ledger.measure("sleep"):
        time.sleep(0.05)
    assert ledger.seconds()["sleep"] >= 0.05
