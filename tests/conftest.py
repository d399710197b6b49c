"""Shared pytest fixtures: where the repository's own test data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Files written by real afw and real camera layouts, copied into the repository
#: (provenance in ``tests/data/README.md``); the tests read nothing outside it.
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def test_data() -> Path:
    """``tests/data``; its absence is a broken checkout, not a skip."""
    if not TEST_DATA.is_dir():
        raise FileNotFoundError(f"{TEST_DATA} is missing: the checkout is incomplete")
    return TEST_DATA
