"""Timers: one workload's time per call (median, p20, p80), its peak memory, and the
device's copy bandwidth, the yardstick for GB/s.

On a GPU each call is timed with a pair of CUDA events (the GPU's own clock, no host
synchronisation between calls); on a CPU with ``time.perf_counter`` around the call.
"""

import dataclasses
import math
import time

import numpy as np
import torch


@dataclasses.dataclass(frozen=True)
class Settings:
    """How long to time: ``warmup`` untimed calls (Triton compiles on the first), then
    enough calls to fill ``target_seconds``, within ``[min_reps, max_reps]``."""

    warmup: int = 3
    min_reps: int = 10
    max_reps: int = 200
    target_seconds: float = 0.3

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _timed_calls(fn, reps: int, device: torch.device) -> list:
    """Seconds taken by each of ``reps`` calls of ``fn``."""
    if device.type == "cuda":
        events = [
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            for _ in range(reps)
        ]
        torch.cuda.synchronize(device)
        for start, end in events:
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(device)
        return [start.elapsed_time(end) / 1e3 for start, end in events]
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def time_calls(fn, device, settings: Settings = Settings()) -> dict:
    """Warm up, then time calls of ``fn``: ``median_ms``, ``p20_ms``, ``p80_ms``, ``reps``."""
    device = torch.device(device)
    start = time.perf_counter()
    for _ in range(settings.warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    per_call = (time.perf_counter() - start) / max(settings.warmup, 1)
    wanted = math.ceil(settings.target_seconds / max(per_call, 1e-7))
    reps = min(max(wanted, settings.min_reps), settings.max_reps)
    seconds = np.array(_timed_calls(fn, reps, device)) * 1e3
    p20, median, p80 = np.percentile(seconds, [20, 50, 80])
    return dict(median_ms=float(median), p20_ms=float(p20), p80_ms=float(p80), reps=reps)


def peak_memory(fn, device, base: int) -> int | None:
    """Bytes allocated at the peak of one call of ``fn``, above ``base`` (what was
    allocated before, that the op does not own: see ``cases.prepare``). None on a CPU,
    where torch keeps no such count."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - base


def copy_bandwidth(device, nbytes: int | None = None) -> dict:
    """The device's measured copy bandwidth: a large buffer copied to another, counted as
    ``2 * nbytes`` (one read, one write) per copy; median of 10 copies. Default size: 1 GiB
    on a GPU, 256 MiB on a CPU (well beyond its caches)."""
    device = torch.device(device)
    if nbytes is None:
        nbytes = 2**30 if device.type == "cuda" else 2**28
    timing = _time_one_copy(nbytes, device)
    if device.type == "cuda":
        torch.cuda.empty_cache()  # the two buffers are gone: give their memory back
    return dict(gbps=2 * nbytes / (timing["median_ms"] / 1e3) / 1e9, bytes=nbytes)


def _time_one_copy(nbytes, device):
    source = torch.ones(nbytes, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    settings = Settings(warmup=2, min_reps=10, max_reps=10)
    return time_calls(lambda: target.copy_(source), device, settings)
