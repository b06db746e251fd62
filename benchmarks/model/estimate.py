"""Modelled time of a recorded call on a device (``constants.DEVICES``).

Per kernel: ``max(bytes / bandwidth, issue-bound time, flop-bound time) + launch cost``;
per call: the kernels' sum, plus a cost per host synchronisation and per pageable
host-to-device copy. aten ops are one kernel each (cuFFT / cuDNN / cuBLAS FLOPs at
``LIBRARY_EFFICIENCY`` of the peak); Triton launches take their census (warp-instructions
per program x programs, at 4 per clock per SM, and no faster than one program's own
instructions on its warps' schedulers) and their tl.dot FLOPs; a modelled stand-in for a
library kernel that cannot run here (benchmarks/model/baselines.py) takes its dependent
chain's cycles at the clock, when that exceeds its memory time (the "latency" bound).

Limits: every byte is HBM traffic (no L2 reuse between kernels); a kernel re-reading its
inputs hits L1/L2 (each byte counted once per launch); an issue-bound time is a lower
bound (100 % issue efficiency); a grid smaller than the SM count gets that fraction of
the bandwidth.
"""

from benchmarks.model.constants import ISSUE_PER_CLOCK, LIBRARY_EFFICIENCY

BOUNDS = ("memory", "issue", "flops", "latency", "launch", "sync")


def _peak(device, precision):
    return {"fp32": device.fp32, "fft": device.fp32, "ieee": device.fp32, "tf32": device.tf32,
            "tf32x3": device.tf32 / 3, "bf16": device.bf16}.get(precision, device.fp32)  # fmt: skip


def event_time(event, device) -> dict:
    """{bound: seconds} for one launch (memory, issue, flops, latency, launch), and
    ``total``. latency: a modelled stand-in's dependent chain per thread (its
    ``chain_cycles``) at the device's clock."""
    moved = event.read + event.write
    latency = event.chain_cycles / device.clock
    if event.kind == "triton":
        fill = min(1.0, event.programs / device.sms) if event.programs else 1.0
        memory = moved / (device.bandwidth * fill)
        per_program = sum(event.census.values())
        rate = device.sms * ISSUE_PER_CLOCK * device.clock
        single = per_program / (min(event.num_warps, ISSUE_PER_CLOCK) * device.clock)
        issue = max(per_program * event.programs / rate, single) if per_program else 0.0
        flops = sum(v * event.programs / _peak(device, k) for k, v in event.dot_flops.items())
    else:
        memory = moved / device.bandwidth
        issue = 0.0
        efficiency = LIBRARY_EFFICIENCY.get(event.precision, 1.0)
        flops = event.flops / (_peak(device, event.precision) * efficiency) if event.flops else 0
    times = dict(memory=memory, issue=issue, flops=flops, latency=latency, launch=device.launch)
    times["total"] = max(memory, issue, flops, latency) + device.launch
    times["bound"] = max(("memory", "issue", "flops", "latency"), key=lambda k: times[k])
    return times


def call_time(events, syncs, h2d, device) -> dict:
    """Modelled seconds of one call: ``total``, the seconds each bound accounts for
    (``by_bound``: a kernel's time goes to its limiting bound, launches and syncs on their
    own), and the limiting bound of the call."""
    by_bound = dict.fromkeys(BOUNDS, 0.0)
    total = 0.0
    for event in events:
        if not event.launch:
            continue
        t = event_time(event, device)
        by_bound[t["bound"]] += t["total"] - device.launch
        by_bound["launch"] += device.launch
        total += t["total"]
    sync = (syncs + h2d) * device.sync
    by_bound["sync"] = sync
    total += sync
    limit = max(by_bound, key=by_bound.get)
    return dict(total=total, by_bound=by_bound, limit=limit)
