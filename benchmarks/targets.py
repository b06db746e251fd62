"""The performance targets of tritaudio's issues, as data, and their verdict from the
results files: met, not met, or not measured.

Targets are GPU targets: only results from a CUDA device count. Each names cases of the
runner (family, case names, mode, size); a target over several cases (PitchShift at every
n_steps) is met when every one of them meets it, and its value is the worst case's.
"""

import dataclasses

from benchmarks.cases import FORWARD, FORWARD_BACKWARD, Size
from benchmarks.families.stretch import STEPS, pitch_case_name

SPEEDUP = "speed-up"  # time(baseline) / time(ours) >= threshold
MEMORY_FRACTION = "memory fraction"  # peak memory(ours) / peak memory(baseline) <= threshold
BANDWIDTH_FLOOR = "bandwidth floor"  # time(ours) / (bytes moved / copy bandwidth) <= threshold
# (bytes moved / time(ours)) / copy bandwidth >= threshold: the fraction of the copy
# bandwidth reached, bytes moved being the floor (inputs read once, output written once)
BANDWIDTH_FRACTION = "bandwidth fraction"
# Counted by the performance model only (`python -m benchmarks --model`): a timed GPU run
# cannot see them. traffic / floor <= threshold; launches per call <= threshold.
TRAFFIC_FLOOR = "traffic over floor"
LAUNCHES = "launches"
THROUGHPUT = "throughput"  # reported, no threshold
MODEL_ONLY = (TRAFFIC_FLOOR, LAUNCHES)


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


MODES = (FORWARD, FORWARD_BACKWARD)
# PitchShift at n_steps = 0 resamples on neither side (torchaudio skips its resampler, and
# tritaudio too): both run the same phase vocoder, so neither a speed-up nor a memory
# fraction can be asked of it. The PitchShift targets name every n_steps but 0.
PITCH_CASES = tuple(pitch_case_name(n) for n in STEPS if n != 0)
# Issue 18 names the coprime shifts, where torchaudio's table is largest.
PITCH_COPRIME = tuple(pitch_case_name(n) for n in (-6, -5, -1, 1, 4, 6))
RESAMPLE = (
    ("Resample 44.1 -> 16 kHz", 44100),
    ("Resample 16 -> 48 kHz", 16000),
    ("Resample 48 -> 44.1 kHz", 48000),
)
WHISPER = ("whisper log-mel",)
WHISPER_SIZE = Size(64, 30, 16000)
MEL_SIZE = Size(32, 10, 16000)
NOISE_SIZE = Size(64, 10, 16000)
PITCH_SIZE = Size(16, 4, 16000)
KALDI_FBANK = ("fbank (utterances of mixed lengths)",)
KALDI_SIZE = Size(64, 20, 16000)
LFILTER_CASES = ("lfilter order 2", "lfilter order 8")
FILTER_SIZE = Size(32, 10, 16000)

TARGETS = [
    *(
        Target(3, f"MelSpectrogram {mode} >= 2x torchaudio", SPEEDUP, 2.0, "spectral",
               ("MelSpectrogram",), mode, MEL_SIZE)
        for mode in MODES
    ),
    *(
        Target(4, "resample >= 3x torchaudio (each rate pair)", SPEEDUP, 3.0, "resample",
               (name,), FORWARD, Size(32, 10, rate))
        for name, rate in RESAMPLE
    ),
    # Issue 16: the resampler at the memory floor, forward and forward + backward.
    *(
        Target(16, f"resample {mode}: {goal}", kind, threshold, "resample", (name,), mode,
               Size(32, 10, rate))
        for mode in MODES
        for goal, kind, threshold in (
            ("traffic <= 1.1x the floor", TRAFFIC_FLOOR, 1.1),
            (">= 60 % of copy bandwidth", BANDWIDTH_FRACTION, 0.6),
            (">= 3x torchaudio", SPEEDUP, 3.0),
        )
        for name, rate in RESAMPLE
    ),
    Target(6, "PitchShift, n_steps -6..6 but 0, >= 5x torchaudio", SPEEDUP, 5.0, "stretch",
           PITCH_CASES, FORWARD, PITCH_SIZE),
    Target(6, "PitchShift, n_steps -6..6 but 0, <= 1/10 of torchaudio's peak memory",
           MEMORY_FRACTION, 0.1, "stretch", PITCH_CASES, FORWARD, PITCH_SIZE),
    # Issue 18: the phase vocoder in kernels, at the coprime shifts.
    Target(18, "PitchShift (coprime n_steps) <= 12 launches", LAUNCHES, 12, "stretch",
           PITCH_COPRIME, FORWARD, PITCH_SIZE),
    Target(18, "PitchShift (coprime n_steps) >= 5x torchaudio", SPEEDUP, 5.0, "stretch",
           PITCH_COPRIME, FORWARD, PITCH_SIZE),
    Target(18, "PitchShift (coprime n_steps) <= 0.15 of torchaudio's peak memory",
           MEMORY_FRACTION, 0.15, "stretch", PITCH_COPRIME, FORWARD, PITCH_SIZE),
    # AddNoise with a given noise: torchaudio itself moves only 2.33x the floor (read
    # both, write one, with a few passes), so "3x torchaudio" cannot be met even at the
    # floor; it is set against the floor instead (fraction of copy bandwidth), with issue
    # 18's traffic, launch and speed-up targets beside it.
    Target(18, "add_noise >= 60 % of copy bandwidth", BANDWIDTH_FRACTION, 0.6, "noise",
           ("add_noise",), FORWARD, NOISE_SIZE),
    Target(18, "add_noise traffic <= 1.1x the floor", TRAFFIC_FLOOR, 1.1, "noise",
           ("add_noise",), FORWARD, NOISE_SIZE),
    Target(18, "add_noise <= 2 launches", LAUNCHES, 2, "noise", ("add_noise",), FORWARD,
           NOISE_SIZE),
    Target(18, "add_noise >= 2x torchaudio", SPEEDUP, 2.0, "noise", ("add_noise",), FORWARD,
           NOISE_SIZE),
    Target(18, "AdditiveNoise (white) >= 2.5x randn + torchaudio's add_noise", SPEEDUP, 2.5,
           "noise", ("AdditiveNoise (white)",), FORWARD, NOISE_SIZE),
    Target(9, "whisper log-mel >= 5x torchaudio", SPEEDUP, 5.0, "spectral", WHISPER, FORWARD,
           WHISPER_SIZE),
    Target(9, "whisper log-mel >= 5x torchaudio", SPEEDUP, 5.0, "spectral", WHISPER,
           FORWARD_BACKWARD, WHISPER_SIZE),
    Target(9, "whisper log-mel within 3x of the read-once / write-once floor",
           BANDWIDTH_FLOOR, 3.0, "spectral", WHISPER, FORWARD, WHISPER_SIZE),
    # Issue 17: the spectral front-end in one pass.
    Target(17, "whisper log-mel traffic <= 1.5x the floor", TRAFFIC_FLOOR, 1.5, "spectral",
           WHISPER, FORWARD, WHISPER_SIZE),
    Target(17, "whisper log-mel >= 4x torchaudio", SPEEDUP, 4.0, "spectral", WHISPER,
           FORWARD_BACKWARD, WHISPER_SIZE),
    Target(17, "whisper log-mel <= 4 launches", LAUNCHES, 4, "spectral", WHISPER, FORWARD,
           WHISPER_SIZE),
    Target(17, "MelSpectrogram >= 3x torchaudio", SPEEDUP, 3.0, "spectral",
           ("MelSpectrogram",), FORWARD, MEL_SIZE),
    Target(17, "MelSpectrogram >= 2.5x torchaudio", SPEEDUP, 2.5, "spectral",
           ("MelSpectrogram",), FORWARD_BACKWARD, MEL_SIZE),
    Target(17, "MelSpectrogram <= 4 launches", LAUNCHES, 4, "spectral", ("MelSpectrogram",),
           FORWARD, MEL_SIZE),
    # Issue 20: Kaldi filterbanks of 64 utterances of 2-20 s, batched, against torchaudio's
    # per-utterance fbank in a loop.
    Target(20, "Kaldi fbank of 64 utterances (2-20 s) >= 20x torchaudio's loop", SPEEDUP, 20.0,
           "kaldi", KALDI_FBANK, FORWARD, KALDI_SIZE),
    # Issue 19: lfilter's recurrence as a chunked scan, against torchaudio's loop over samples.
    *(
        Target(19, f"lfilter (order 2 and 8) {goal}", kind, threshold, "filtering",
               LFILTER_CASES, FORWARD, FILTER_SIZE)
        for goal, kind, threshold in (
            (">= 20x torchaudio", SPEEDUP, 20.0),
            ("within 2x of the bandwidth floor", BANDWIDTH_FLOOR, 2.0),
        )
    ),
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
    if target.kind in MODEL_ONLY:
        return None
    if target.kind in (BANDWIDTH_FLOOR, BANDWIDTH_FRACTION):
        if ours["bytes_moved"] is None:
            return None
        floor_ms = ours["bytes_moved"] / (results["device"]["copy_gbps"] * 1e9) * 1e3
        ratio = ours["median_ms"] / floor_ms
        return ratio if target.kind == BANDWIDTH_FLOOR else 1 / ratio
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
    if kind == BANDWIDTH_FRACTION:
        return f"{100 * value:.0f} % of copy bandwidth"
    if kind == TRAFFIC_FLOOR:
        return f"{value:.2f}x the floor's bytes"
    if kind == LAUNCHES:
        return f"{value:.0f} launches"
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
        worst, met = verdict(target, values)
        status = "met" if met else "not met"
        return dict(status=status, value=_format(target.kind, worst), source=source)
    if target.kind in MODEL_ONLY:
        reason = "counted by the model only"
    else:
        reason = "no GPU results yet" if not gpu_files else "not in the GPU results"
    return dict(status="not measured", value="", source=reason)


def verdict(target: Target, values: list) -> tuple:
    """(worst value, met) of a target over the values of its cases."""
    if target.kind in (SPEEDUP, BANDWIDTH_FRACTION):
        worst = min(values)
        return worst, worst >= target.threshold
    worst = max(values)
    return worst, worst <= target.threshold


def evaluate_model(target: Target, model: dict) -> dict:
    """The target's modelled value from a results file's ``model`` section (see
    benchmarks/model): ``status`` ("met", "not met" or "not modelled"), ``value``."""
    device = model.get("reference_device", "H200")
    values = []
    for case in target.cases:
        row = next((r for r in model.get("rows", []) if (r["family"], r["case"], r["mode"])
                    == (target.family, case, target.mode)
                    and Size.from_dict(r["size"]) == target.size), None)  # fmt: skip
        value = None if row is None else model_value(target, row, device)
        if value is None:
            return dict(status="not modelled", value="")
        values.append(value)
    worst, met = verdict(target, values)
    return dict(status="met" if met else "not met", value=_format(target.kind, worst))


def model_value(target: Target, row: dict, device: str):
    """One case's modelled measure of ``target`` (None when a side is missing)."""
    ours, baseline = row.get("ours"), row.get("baseline")
    if ours is None or target.kind == THROUGHPUT:
        return None
    time_ours = ours["time"][device]["total"]
    floor_time = row["floor"] / row["bandwidth"][device]
    if target.kind == TRAFFIC_FLOOR:
        return ours["bytes"] / row["floor"]
    if target.kind == LAUNCHES:
        return ours["launches"]
    if target.kind == BANDWIDTH_FLOOR:
        return time_ours / floor_time
    if target.kind == BANDWIDTH_FRACTION:
        return floor_time / time_ours
    if baseline is None:
        return None
    if target.kind == SPEEDUP:
        return baseline["time"][device]["total"] / time_ours
    return ours["peak"] / max(1, baseline["peak"])
