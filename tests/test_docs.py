"""The examples in the docstrings run and print what they show."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import tritaudio

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    info.name for info in pkgutil.walk_packages(tritaudio.__path__, prefix="tritaudio.")
)
# Modules whose docstrings show examples: a test fails if their examples vanish.
WITH_EXAMPLES = {
    "tritaudio.io",
    "tritaudio._backend",
    "tritaudio.functional.noise",
    "tritaudio.functional.resample",
    "tritaudio.functional.stretch",
    "tritaudio.transforms.spectral",
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # examples name files under tests/data
    monkeypatch.delenv("TRITAUDIO_BACKEND", raising=False)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name in WITH_EXAMPLES:
        assert result.attempted > 0
