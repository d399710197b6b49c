"""Progress lines (lsst.sky.correction._progress) and the simulate/ingest loop's use of them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lsst.daf.butler.cli.butler import cli as butlerCli
from lsst.sky.correction._parallel import DetectorPool
from lsst.sky.correction._progress import Progress

LOG = logging.getLogger("lsst.sky.correction.test_progress")


def test_progress_counts_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(LOG, "Simulated", 4, interval=0.0)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        for _ in range(4):
            assert progress.update()
        progress.finish()
    messages = [r.getMessage() for r in caplog.records]
    pattern = r"Simulated: (\d)/4 detectors \((\d+)%\), [0-9.]+ s elapsed, ETA (\d+) s"
    counts = [re.fullmatch(pattern, m) for m in messages[:4]]
    assert [int(c.group(1)) for c in counts if c] == [1, 2, 3, 4]
    assert [int(c.group(2)) for c in counts if c] == [25, 50, 75, 100]
    assert int(counts[3].group(3)) == 0  # type: ignore[union-attr]  # nothing left
    assert re.fullmatch(r"Simulated: 4/4 detectors in [0-9.]+ s", messages[4])


def test_progress_is_periodic(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(LOG, "Stored", 100, interval=3600.0)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        logged = [progress.update() for _ in range(100)]
    assert not any(logged) and not caplog.records  # nothing within the first hour
    assert progress.done == 100


@pytest.mark.parametrize("threads", [1, 2])
def test_detector_pool_counts_every_result(threads: int) -> None:
    progress = Progress(LOG, "Worked", 5, interval=3600.0)
    with DetectorPool(threads) as pool:
        assert pool.map(lambda i: i, lambda i, f: f * 2, range(5), progress) == [0, 2, 4, 6, 8]
    assert progress.done == 5


def test_simulate_command_logs_detectors_simulated_and_ingested(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lsst.sky.correction._progress.DEFAULT_PROGRESS_INTERVAL", 0.0)
    with caplog.at_level(logging.INFO, logger="lsst.sky.correction"):
        result = CliRunner().invoke(
            butlerCli,
            [
                "sky-correction-simulate",
                str(tmp_path / "repo"),
                "-i",
                "HSC",
                "--visit",
                "3",
                "--detectors",
                "49,50",
            ],
        )
    assert result.exit_code == 0, result.output
    messages = [r.getMessage() for r in caplog.records if r.name == "lsst.sky.correction.butler.visits"]
    assert any(m.startswith("Simulated and ingested HSC visit 3: 1/2 detectors (50%), ") for m in messages), (
        messages
    )
    assert any(m.startswith("Simulated and ingested HSC visit 3: 2/2 detectors in ") for m in messages), (
        messages
    )
