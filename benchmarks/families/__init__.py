"""The op families the runner times, in report order: name -> list of cases.

Adding a family is one module with a ``CASES`` list (see spectral.py) and one entry here.
"""

from benchmarks.families import (
    alignment,
    filtering,
    io,
    kaldi,
    noise,
    resample,
    spectral,
    stretch,
)

FAMILIES = {
    "spectral": spectral.CASES,
    "resample": resample.CASES,
    "noise": noise.CASES,
    "stretch": stretch.CASES,
    "kaldi": kaldi.CASES,
    "filtering": filtering.CASES,
    "io": io.CASES,
    "alignment": alignment.CASES,
}


def all_cases():
    """Every case of every family, in report order."""
    return [case for cases in FAMILIES.values() for case in cases]
