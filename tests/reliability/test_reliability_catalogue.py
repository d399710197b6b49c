"""docs/reliability.md and the reliability tests describe the same rows.

Every row of the catalogue names a test, and that test's docstring carries
the row's id (``P1``, or a range such as ``C1-C13``); every id the tests
claim is in the catalogue.  The tests themselves check the messages.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "reliability.md"
_ROW = re.compile(r"^\| ([A-Z]\d+) \|.*\| `(test_[a-z_]+\.py)::(test_\w+)` \|$")
_IDS = re.compile(r"\b([A-Z])(\d+)(?:-\1?(\d+))?\b")


def catalogueRows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in CATALOGUE.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            rowId, module, test = match.groups()
            assert rowId not in rows, f"{rowId} is in the catalogue twice"
            rows[rowId] = (module, test)
    return rows


def claimedIds(docstring: str) -> set[str]:
    """The row ids a test's docstring claims, before its first colon."""
    head = docstring.split(":", 1)[0]
    ids = set()
    for letter, first, last in _IDS.findall(head):
        ids.update(f"{letter}{n}" for n in range(int(first), int(last or first) + 1))
    return ids


def docstringsOfTests() -> dict[tuple[str, str], str]:
    docstrings = {}
    for path in sorted((ROOT / "tests").rglob("test_reliability_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                docstrings[(path.name, node.name)] = ast.get_docstring(node) or ""
    return docstrings


def test_every_catalogue_row_has_its_test() -> None:
    rows = catalogueRows()
    assert len(rows) >= 60
    docstrings = docstringsOfTests()
    for rowId, key in rows.items():
        assert key in docstrings, f"{rowId}: {key[0]}::{key[1]} does not exist"
        assert rowId in claimedIds(docstrings[key]), f"{rowId}: the docstring of {key[1]} does not name it"


def test_every_id_a_test_claims_is_catalogued() -> None:
    rows = catalogueRows()
    for (module, test), docstring in docstringsOfTests().items():
        for rowId in claimedIds(docstring):
            assert rowId in rows, f"{module}::{test} claims {rowId}, which the catalogue lacks"
            assert rows[rowId] == (module, test), f"{rowId} is catalogued with {rows[rowId]}, not {test}"
