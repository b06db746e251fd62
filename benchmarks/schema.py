"""The results file (benchmarks/results/<device>-<date>.json) and its check.

Schema "tritaudio-bench/1", documented in benchmarks/README.md: one run on one device;
``results`` holds one row per (family, case, mode, size, implementation) timed,
``skipped`` one per combination that could not run, with the reason.
"""

SCHEMA = "tritaudio-bench/1"

_NUMBER = (int, float)
_OPTIONAL_NUMBER = (int, float, type(None))
_OPTIONAL_STR = (str, type(None))

TOP = {
    "schema": str,
    "created": str,
    "date": str,
    "grid": str,
    "device": dict,
    "versions": dict,
    "git": dict,
    "settings": dict,
    "results": list,
    "skipped": list,
}
DEVICE = {"type": str, "name": str, "copy_gbps": _NUMBER, "copy_bytes": int}
VERSIONS = {
    "python": str,
    "torch": str,
    "triton": _OPTIONAL_STR,
    "torchaudio": _OPTIONAL_STR,
    "tritaudio": str,
    "cuda": _OPTIONAL_STR,
}
GIT = {"commit": _OPTIONAL_STR, "dirty": (bool, type(None))}
SIZE = {"batch": int, "seconds": _NUMBER, "sample_rate": int}
KEY = {"family": str, "case": str, "mode": str, "impl": str, "size": dict}
ROW = dict(
    KEY,
    device=str,
    median_ms=_NUMBER,
    p20_ms=_NUMBER,
    p80_ms=_NUMBER,
    reps=int,
    inputs_rotated=int,
    bytes_moved=(int, type(None)),
    gbps=_OPTIONAL_NUMBER,
    peak_memory_bytes=(int, type(None)),
)
SKIPPED = dict(KEY, reason=str)


def _check(obj, fields, where):
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected an object, got {type(obj).__name__}")
    for name, kind in fields.items():
        if name not in obj:
            raise ValueError(f"{where}: missing {name!r}")
        if isinstance(obj[name], bool) and kind in (int, _NUMBER, _OPTIONAL_NUMBER):
            raise ValueError(f"{where}.{name}: expected a number, got a bool")
        if not isinstance(obj[name], kind):
            raise ValueError(f"{where}.{name}: {obj[name]!r} has the wrong type")


def _check_size(size, where):
    _check(size, SIZE, where)
    if "clip" in size and not isinstance(size["clip"], str):
        raise ValueError(f"{where}.clip: expected a file name, got {size['clip']!r}")


def validate(data: dict) -> dict:
    """``data`` itself if it is a valid results file, else ValueError saying where not."""
    _check(data, TOP, "results file")
    if data["schema"] != SCHEMA:
        raise ValueError(f"schema is {data['schema']!r}, expected {SCHEMA!r}")
    _check(data["device"], DEVICE, "device")
    _check(data["versions"], VERSIONS, "versions")
    _check(data["git"], GIT, "git")
    for i, row in enumerate(data["results"]):
        _check(row, ROW, f"results[{i}]")
        _check_size(row["size"], f"results[{i}].size")
        if not row["p20_ms"] <= row["median_ms"] <= row["p80_ms"]:
            raise ValueError(f"results[{i}]: quantiles out of order")
    for i, row in enumerate(data["skipped"]):
        _check(row, SKIPPED, f"skipped[{i}]")
        _check_size(row["size"], f"skipped[{i}].size")
    return data
