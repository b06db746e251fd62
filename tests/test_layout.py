"""The code's shape: the public API as committed, one family one name, small modules, imports
that point down (no cycle), and tritaudio.kernels installed with the package."""

import ast
import importlib
import inspect
import json
from pathlib import Path

import pytest
import torch

import tritaudio

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "tests" / "data" / "public_api.json"
MAX_LINES = 650  # "a module over ~600 lines is two modules" (DESIGN.md)


def _public(module):
    """Public names other than submodules (which appear as they are imported)."""
    return sorted(
        name
        for name in dir(module)
        if not name.startswith("_") and not inspect.ismodule(getattr(module, name))
    )


@pytest.mark.parametrize("name", ["tritaudio", "tritaudio.functional", "tritaudio.transforms"])
def test_public_names_are_the_committed_list(name):
    expected = json.loads(API.read_text())[name]
    found = _public(importlib.import_module(name))
    added, removed = sorted(set(found) - set(expected)), sorted(set(expected) - set(found))
    assert not added and not removed, (
        f"{name}: names added {added}, removed {removed}. If deliberate, update {API.name} "
        "(and the README's API table)"
    )


@pytest.mark.parametrize("name", ["tritaudio.functional", "tritaudio.transforms"])
def test_all_lists_every_public_callable(name):
    module = importlib.import_module(name)
    assert sorted(module.__all__) == _public(module)


def test_functional_resample_is_the_function():
    # the resample family's module shares the torchaudio function's name; the function wins
    assert callable(tritaudio.functional.resample)
    assert tritaudio.functional.resample.__module__ == "tritaudio.functional.resample"


def test_kernels_are_installed_with_the_package():
    try:
        import tritaudio.kernels as kernels
    except ImportError as err:  # pragma: no cover - what a broken install looks like
        pytest.fail(
            "tritaudio.kernels is missing: kernels/ installs as tritaudio.kernels through "
            "pyproject.toml's package-dir; install with `pip install .` or `pip install -e .` "
            f"(a plain PYTHONPATH=. checkout does not map it): {err}"
        )
    assert Path(kernels.__file__).parent.name == "kernels"


def _source_files():
    return sorted((ROOT / "tritaudio").rglob("*.py")) + sorted((ROOT / "kernels").glob("*.py"))


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_too_long(path):
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {n_lines} lines: split it"


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "kernels":
        parts = ["tritaudio", "kernels", *parts[1:]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, names):
    """The tritaudio modules ``path`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & names


def test_no_import_cycle():
    paths = {_module_name(p): p for p in _source_files()}
    # a package's __init__ re-exporting its own modules is not an edge of the layering
    related = lambda a, b: a.startswith(b + ".") or b.startswith(a + ".")
    graph = {
        m: {n for n in _imports(p, set(paths)) if n != m and not related(m, n)}
        for m, p in paths.items()
    }
    state, cycles = {}, []

    def visit(module, stack):
        state[module] = "open"
        stack.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                cycles.append([*stack[stack.index(other) :], other])
            elif other not in state:
                visit(other, stack)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


# The layers each family has (DESIGN.md, "Families and layers"); a module in a layer whose
# name is no family's is a naming slip (the noise kernels were once "mix").
FAMILY_LAYERS = {
    "noise": ("kernels", "_ops", "_reference", "functional", "transforms", "tests", "bench"),
    "resample": ("kernels", "_ops", "_reference", "functional", "transforms", "tests", "bench"),
    "spectral": ("kernels", "_ops", "_reference", "functional", "transforms", "tests", "bench"),
    "logmel": ("kernels", "_ops", "functional", "transforms", "tests"),
    "masking": ("_reference", "functional", "transforms", "tests"),
    "stretch": ("kernels", "_ops", "_reference", "functional", "transforms", "tests", "bench"),
    "analysis": ("_reference", "functional", "transforms", "tests"),
    "beamforming": ("functional", "transforms", "tests"),
    "alignment": ("kernels", "_ops", "_reference", "functional", "transforms", "tests", "bench"),
    "filtering": ("kernels", "_ops", "_reference", "functional", "transforms", "tests", "bench"),
    "effects": ("_reference", "functional", "tests"),
    "kaldi": ("kernels", "_ops", "_reference", "transforms", "tests", "bench"),
}
LAYER_DIRS = {
    "kernels": ("kernels", "{}.py"),
    "_ops": ("tritaudio/_ops", "{}.py"),
    "_reference": ("tritaudio/_reference", "{}.py"),
    "functional": ("tritaudio/functional", "{}.py"),
    "transforms": ("tritaudio/transforms", "{}.py"),
    "tests": ("tests", "test_{}.py"),
    "bench": ("benchmarks/families", "{}.py"),
}


@pytest.mark.parametrize("family", sorted(FAMILY_LAYERS))
def test_a_family_is_one_word_in_every_layer(family):
    for layer in FAMILY_LAYERS[family]:
        folder, pattern = LAYER_DIRS[layer]
        path = ROOT / folder / pattern.format(family)
        assert path.exists(), f"family {family!r} has no {path.relative_to(ROOT)}"


@pytest.mark.parametrize("layer", ["_ops", "_reference", "functional", "transforms"])
def test_every_module_of_a_layer_is_a_family(layer):
    folder = ROOT / LAYER_DIRS[layer][0]
    known = set(FAMILY_LAYERS) | set(EXTRA_FAMILIES)
    strays = [p.stem for p in folder.glob("*.py") if p.stem != "__init__" and p.stem not in known]
    assert not strays, f"{folder.relative_to(ROOT)}: modules named after no family: {strays}"


# Families that other work adds: named here when they land, with their layers above.
EXTRA_FAMILIES = ()


def _documented_callables():
    for name in ("tritaudio.functional", "tritaudio.transforms"):
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize(("name", "obj"), list(_documented_callables()), ids=lambda x: str(x))
def test_public_docstrings_have_args_shapes_and_torchaudio_name(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert "torchaudio" in doc, f"{name}: say which torchaudio name it mirrors (or 'Beyond')"
    if inspect.isclass(obj) and issubclass(obj, tuple):
        return  # a NamedTuple of settings: its fields are its documentation
    takes_args = bool(inspect.signature(obj).parameters)
    if takes_args and not (inspect.isclass(obj) and obj.__init__ is torch.nn.Module.__init__):
        assert "Args:" in doc, f"{name}: its docstring needs an Args section"
    assert "Shape" in doc or "Returns" in doc, f"{name}: say the shapes (Shape / Returns)"


def test_readme_api_table_is_current():
    import api_table  # tests/api_table.py

    assert api_table.current_table() == api_table.render(), (
        "the README's API table is stale: run `python tests/api_table.py`"
    )
