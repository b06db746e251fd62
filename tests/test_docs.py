"""The examples in the docstrings run and print what they show."""

import doctest
from pathlib import Path

import pytest

import tritaudio._backend
import tritaudio.functional
import tritaudio.io

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", [tritaudio.io, tritaudio._backend, tritaudio.functional])
def test_docstring_examples(module, monkeypatch):
    monkeypatch.chdir(ROOT)  # examples name files under tests/data
    monkeypatch.delenv("TRITAUDIO_BACKEND", raising=False)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
