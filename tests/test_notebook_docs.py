"""docs/notebook.md, executed block by block on a small simulated HSC repository."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from click.testing import CliRunner

from lsst.daf.butler.cli.butler import cli as butlerCli

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebook.md"
DETECTORS = "49,50,57"  # three neighbouring HSC detectors near the focal-plane centre


def codeBlocks(text: str) -> list[str]:
    """The ```python blocks of a markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notebook") / "repo"
    result = CliRunner().invoke(
        butlerCli,
        ["sky-correction-simulate", str(root), "-i", "HSC", "--visit", "1", "--seed", "2",
         "--detectors", DETECTORS],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root


def test_notebook_page_runs(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = codeBlocks(NOTEBOOK.read_text())
    assert len(blocks) == 5
    assert 'REPO = "demo/repo"' in blocks[0]
    namespace: dict[str, object] = {}
    for index, block in enumerate(blocks):
        source = block.replace('REPO = "demo/repo"', f"REPO = {str(repo)!r}")
        exec(compile(source, f"{NOTEBOOK.name}[block {index}]", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "3 detectors" in printed
    result = namespace["result"]
    truth = namespace["truth"]
    # The page's objects are what it says they are.
    assert len(result.skyCorr) == 3  # type: ignore[attr-defined]
    assert np.isfinite(result.calExpMosaic.array).any()  # type: ignore[attr-defined]
    scale = result.skyFrameScale  # type: ignore[attr-defined]
    assert f"sky-frame scale: {scale:.4g}" in printed
    assert f"sky-frame scale {scale:.4g} vs true {truth.skyFrameScale:.4g}" in printed  # type: ignore[attr-defined]
    summary = namespace["summary"]
    assert summary.detectors == 3  # type: ignore[attr-defined]
    assert np.isfinite(summary.residualRms)  # type: ignore[attr-defined]
