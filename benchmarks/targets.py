"""The performance targets of tritaudio's issues, as data, and their verdict from the
results files: met, not met, or not measured.

Targets are GPU targets: only results from a CUDA device count. Each names cases of the
runner (family, case names, mode, size); a target over several cases (PitchShift at every
n_steps) is met when every one of them meets it, and its value is the worst case's.
"""

import dataclasses

from benchmarks.cases import FORWARD, FORWARD_BACKWARD, Size
from benchmarks.families.pitch import STEPS, pitch_case_name

SPEEDUP = "speed-up"  # time(baseline) / time(ours) >= threshold
MEMORY_FRACTION = "memory fraction"  # peak memory(ours) / peak memory(baseline) <= threshold
BANDWIDTH_FLOOR = "bandwidth floor"  # time(ours) / (bytes moved / copy bandwidth) <= threshold
THROUGHPUT = "throughput"  # reported, no threshold


@dataclasses.dataclass(frozen=True)
class Target:
    issue: int
    goal: str
    kind: str
    threshold: float | None
    family: str
    cases: tuple
    mode: str
    size: Size


PITCH_CASES = tuple(pitch_case_name(n) for n in STEPS)

TARGETS = [
    *(
        Target(3, f"MelSpectrogram {mode} >= 2x torchaudio", SPEEDUP, 2.0, "spectral",
               ("MelSpectrogram",), mode, Size(32, 10, 16000))
        for mode in (FORWARD, FORWARD_BACKWARD)
    ),
    Target(4, "resample >= 3x torchaudio (each rate pair)", SPEEDUP, 3.0, "resample",
           ("Resample 44.1 -> 16 kHz",), FORWARD, Size(32, 10, 44100)),
    Target(4, "resample >= 3x torchaudio (each rate pair)", SPEEDUP, 3.0, "resample",
           ("Resample 16 -> 48 kHz",), FORWARD, Size(32, 10, 16000)),
    Target(4, "resample >= 3x torchaudio (each rate pair)", SPEEDUP, 3.0, "resample",
           ("Resample 48 -> 44.1 kHz",), FORWARD, Size(32, 10, 48000)),
    Target(6, "PitchShift, n_steps -6..6, >= 5x torchaudio", SPEEDUP, 5.0, "pitch",
           PITCH_CASES, FORWARD,
           Size(16, 4, 16000)),
    Target(6, "PitchShift, n_steps -6..6, <= 1/10 of torchaudio's peak memory",
           MEMORY_FRACTION, 0.1, "pitch",
           PITCH_CASES, FORWARD,
           Size(16, 4, 16000)),
    Target(9, "whisper log-mel >= 5x torchaudio", SPEEDUP, 5.0, "spectral",
           ("whisper log-mel",), FORWARD, Size(64, 30, 16000)),
    Target(9, "whisper log-mel >= 5x torchaudio", SPEEDUP, 5.0, "spectral",
           ("whisper log-mel",), FORWARD_BACKWARD, Size(64, 30, 16000)),
    Target(9, "whisper log-mel within 3x of the read-once / write-once floor",
           BANDWIDTH_FLOOR, 3.0, "spectral", ("whisper log-mel",), FORWARD,
           Size(64, 30, 16000)),
    Target(8, "`tritaudio features` throughput in audio-hours/s (1000 x 10 s clips)",
           THROUGHPUT, None, "cli", ("features",), FORWARD, Size(1000, 10, 16000)),
]  # fmt: skip


def _row(results, family, case, mode, size, impl):
    for row in results["results"]:
        key = (row["family"], row["case"], row["mode"], row["impl"])
        if key == (family, case, mode, impl) and Size.from_dict(row["size"]) == size:
            return row
    return None


def _value(target, results, case_name):
    """The target's measure for one case in one results file, or None if not there."""
    from benchmarks.families import FAMILIES

    cases = {case.name: case for case in FAMILIES.get(target.family, [])}
    case = cases.get(case_name)
    ours_impl = case.ours if case else "tritaudio-triton"
    baseline_impl = case.baseline if case else "torchaudio"
    ours = _row(results, target.family, case_name, target.mode, target.size, ours_impl)
    if ours is None:
        return None
    if target.kind == THROUGHPUT:
        audio_hours = target.size.batch * target.size.seconds / 3600
        return audio_hours / (ours["median_ms"] / 1e3)
    if target.kind == BANDWIDTH_FLOOR:
        if ours["bytes_moved"] is None:
            return None
        floor_ms = ours["bytes_moved"] / (results["device"]["copy_gbps"] * 1e9) * 1e3
        return ours["median_ms"] / floor_ms
    baseline = _row(results, target.family, case_name, target.mode, target.size, baseline_impl)
    if baseline is None:
        return None
    if target.kind == SPEEDUP:
        return baseline["median_ms"] / ours["median_ms"]
    if not ours["peak_memory_bytes"] or baseline["peak_memory_bytes"] is None:
        return None
    return ours["peak_memory_bytes"] / max(baseline["peak_memory_bytes"], 1)


def _format(kind, value):
    if kind == SPEEDUP:
        return f"{value:.2f}x"
    if kind == MEMORY_FRACTION:
        return f"{value:.3f} of torchaudio's"
    if kind == BANDWIDTH_FLOOR:
        return f"{value:.2f}x the floor"
    return f"{value:.3g} audio-hours/s"


def evaluate(target: Target, result_files: list) -> dict:
    """The target's verdict from the newest CUDA results file that measured every case
    it names: ``status`` ("met", "not met", "not measured"), ``value`` (text), ``source``
    (the file's device and date)."""
    gpu_files = [r for r in result_files if r["device"]["type"] == "cuda"]
    for results in sorted(gpu_files, key=lambda r: r["created"], reverse=True):
        values = [_value(target, results, case) for case in target.cases]
        if any(v is None for v in values):
            continue
        source = f"{results['device']['name']}, {results['date']}"
        if target.kind == THROUGHPUT:
            return dict(status="measured", value=_format(target.kind, values[0]), source=source)
        if target.kind == SPEEDUP:
            worst = min(values)
            met = worst >= target.threshold
        else:
            worst = max(values)
            met = worst <= target.threshold
        status = "met" if met else "not met"
        return dict(status=status, value=_format(target.kind, worst), source=source)
    reason = "no GPU results yet" if not gpu_files else "not in the GPU results"
    return dict(status="not measured", value="", source=reason)
