"""Shared pytest fixtures: where the team's shared test data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; its absence is a set-up error, not a skip."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(
            f"{SHARED_DATA} is missing: the tests need the team's shared/ folder beside the repository"
        )
    return SHARED_DATA
