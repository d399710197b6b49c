"""The package's layers (docs/architecture.md): every import points down, and none forms a cycle.

The import graph is read from the source with `ast`, so imports inside
functions and under ``TYPE_CHECKING`` count as much as top-level ones: a
lazy import back up a layer is still a dependency.  (import-linter cannot
be used here: it needs a top-level package, and ``lsst`` is a pkgutil
namespace.)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "python"
PACKAGE = "lsst.sky.correction"

#: Layers of the package, highest first.  A module may import from its own
#: group (only when the group is a package: its submodules) and from any
#: lower layer; names on one line are independent of each other.
PACKAGE_LAYERS: list[tuple[str, ...]] = [
    ("tools", "testing"),
    ("butler",),
    ("simulation",),
    ("joint_pipeline", "sky_frames"),
    ("sky_correction",),
    ("_input_checks",),
    ("_inputs", "_storage_classes", "_pixel_cache", "_parallel", "_sky_bins"),
    ("_afw_interop",),
    ("mask_objects", "sky_measurement", "focal_plane_background", "joint_fit", "mosaic"),
    ("detection",),
    ("subtract_background",),
    ("_smoothing", "_dilation", "_masks"),
    ("_runs",),
    ("cameras",),
    ("afwlite",),
    ("errors", "version", "_progress", "_logging"),
]

#: Layers inside afwlite, highest first: afw's own order (an Exposure carries
#: a Detector, so image sits above cameraGeom).
AFWLITE_LAYERS: list[tuple[str, ...]] = [
    ("math",),
    ("fits",),
    ("image",),
    ("cameraGeom",),
    ("geom", "_unsupported"),
]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SOURCE / "lsst" / "sky" / "correction").rglob("*.py"):
        if "data" in path.relative_to(SOURCE / "lsst" / "sky" / "correction").parts[:1]:
            continue  # config override files are executed by pex_config, not imported
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Package modules ``name`` imports (resolved to the modules that exist)."""
    isPackage = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if isPackage else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            candidates = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate.startswith(PACKAGE) and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate.startswith(PACKAGE) and candidate != name:
                yield candidate


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _group(module: str, prefix: str, layers: list[tuple[str, ...]]) -> tuple[int, str] | None:
    """(layer index, group name) of ``module`` under ``prefix``, or `None` if it is in no layer."""
    if not module.startswith(prefix + "."):
        return None
    first = module[len(prefix) + 1 :].split(".")[0]
    for index, names in enumerate(layers):
        if first in names:
            return index, first
    return None


def _violations(prefix: str, layers: list[tuple[str, ...]]) -> list[str]:
    found = []
    for module, targets in GRAPH.items():
        source = _group(module, prefix, layers)
        if source is None:
            continue
        for target in targets:
            destination = _group(target, prefix, layers)
            if destination is None or destination[1] == source[1]:
                continue
            if destination[0] <= source[0]:
                found.append(f"{module} imports {target}")
    return sorted(found)


def test_every_package_module_is_in_a_layer() -> None:
    names = {name for layer in PACKAGE_LAYERS for name in layer}
    top = {module.split(".")[3] for module in MODULES if module.count(".") >= 3}
    assert top - names == set(), "add new top-level modules to PACKAGE_LAYERS and docs/architecture.md"
    assert names - top == set(), "PACKAGE_LAYERS names modules that do not exist"


def test_package_imports_point_down_the_layers() -> None:
    assert _violations(PACKAGE, PACKAGE_LAYERS) == []


def test_afwlite_imports_point_down_its_layers() -> None:
    assert _violations(f"{PACKAGE}.afwlite", AFWLITE_LAYERS) == []


def test_no_import_cycles() -> None:
    """No module reaches itself through its imports (a package's ``__init__`` excepted).

    A package ``__init__`` re-exporting its submodules is not a cycle with
    them, so edges from a package to its own submodules are left out.
    """
    edges = {
        module: {t for t in targets if not t.startswith(module + ".")} for module, targets in GRAPH.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    onStack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = counter[0]
        counter[0] += 1
        stack.append(module)
        onStack.add(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in onStack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                onStack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in edges:
        if module not in index:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize(
    ("label", "prefix", "layers"), [("package", "", PACKAGE_LAYERS), ("afwlite", "afwlite.", AFWLITE_LAYERS)]
)
def test_docs_architecture_lists_the_same_layers(
    label: str, prefix: str, layers: list[tuple[str, ...]]
) -> None:
    """docs/architecture.md's layer tables name each layer's modules, top to bottom, as here."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = re.findall(rf"^\| *{label} layer \d+ *\| *([^|]+)\|", text, re.M)
    documented = [tuple(sorted(re.findall(r"`([\w.]+)`", row))) for row in table]
    expected = [tuple(sorted(f"{prefix}{name}" for name in layer)) for layer in layers]
    assert documented == expected


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The graph reader resolves relative, lazy and TYPE_CHECKING imports (else the checks prove nothing)."""
    assert f"{PACKAGE}.afwlite.image" in GRAPH[f"{PACKAGE}.afwlite.fits._header"]
    assert f"{PACKAGE}._inputs" in GRAPH[f"{PACKAGE}.sky_correction"]
    # sky_measurement is imported under TYPE_CHECKING only.
    assert f"{PACKAGE}.sky_measurement" in GRAPH[f"{PACKAGE}._input_checks"]
    fake = {f"{PACKAGE}.cameras._x": {f"{PACKAGE}.detection"}}
    saved = dict(GRAPH)
    try:
        GRAPH.update(fake)
        assert _violations(PACKAGE, PACKAGE_LAYERS) == [f"{PACKAGE}.cameras._x imports {PACKAGE}.detection"]
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_readme_layout_names_every_top_level_module() -> None:
    """README.md's layout table names each top-level module (``name.py``) and subpackage (``name/``)."""
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout") :]
    package = SOURCE / "lsst" / "sky" / "correction"
    entries = {path.name + "/" for path in package.iterdir() if path.is_dir() and path.name != "__pycache__"}
    entries |= {path.name for path in package.glob("*.py") if path.name != "__init__.py"}
    missing = sorted(entry for entry in entries if f"`{entry}`" not in layout)
    assert missing == []


def test_test_module_basenames_are_unique() -> None:
    """pytest imports test modules by basename (the test folders are not packages): two
    ``test_x.py`` in different folders make collection fail under ``make test``."""
    tests = Path(__file__).resolve().parent
    seen: dict[str, list[str]] = {}
    for path in sorted(tests.rglob("test_*.py")):
        seen.setdefault(path.name, []).append(str(path.relative_to(tests)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"test modules sharing a basename: {clashes}"
