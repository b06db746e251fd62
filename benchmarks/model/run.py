"""``python -m benchmarks --model``: the performance model of every benchmark case.

For each case of each family (file I/O aside), forward and forward + backward, on
tritaudio's Triton path and on torchaudio: count the call (benchmarks/model/measure.py),
compile its Triton launches for sm_90 (compile.py), and model its time on an H100 SXM and
an H200 (estimate.py, constants.py); torchaudio's compiled kernels that this machine
lacks (its CUDA IIR loop) are modelled stand-ins (baselines.py). Writes
``model-<date>.json`` (the results schema with an empty ``results`` list and a ``model``
section) and regenerates the report, whose tables label every figure "modelled (H200,
not measured)".
"""

import contextlib
import dataclasses
import datetime
import json
import sys
import time
from pathlib import Path

import torch

from benchmarks import schema
from benchmarks.cases import TORCHAUDIO, TRITON, Unavailable
from benchmarks.model import compile as compiler
from benchmarks.model.baselines import compiled_torchaudio
from benchmarks.model.constants import DEVICES, LIBRARY_EFFICIENCY, SM90, TORCHAUDIO_IIR
from benchmarks.model.estimate import call_time, event_time
from benchmarks.model.measure import count_case

REFERENCE_DEVICE = "H200"
MODEL_SCHEMA = "tritaudio-model/1"


def _side(result, device_names, compiled) -> dict:
    """One implementation's modelled figures from :func:`count_case`'s result."""
    if "warm" not in result:  # no meta run: the fit only
        fitted = result["fitted"]
        small = result["small_calls"][-1].recorder
        return dict(
            bytes=fitted["read"] + fitted["write"], read=fitted["read"], write=fitted["write"],
            launches=small.totals()["launches"], syncs=len(small.syncs), h2d=len(small.h2d),
            peak=None, state=None, fit_ratio=None, time=None, limit="unknown",
            note=f"meta run failed ({result['meta_error']}): traffic from the fit only",
        )  # fmt: skip
    rec = result["warm"].recorder
    totals = rec.totals()
    times = {name: call_time(rec.events, len(rec.syncs), len(rec.h2d), DEVICES[name])
             for name in device_names}  # fmt: skip
    kernels = []
    for event in rec.events:
        if event.kind != "triton":
            continue
        info = compiled.get(compiler.spec_key(compiler.spec_of(event)), {})
        t = event_time(event, DEVICES[REFERENCE_DEVICE])
        kernels.append(dict(
            name=event.name, grid=list(event.grid), programs=event.programs,
            waves=event.programs / max(1, info.get("blocks_per_sm") or 1) / DEVICES[
                REFERENCE_DEVICE].sms,
            num_warps=event.num_warps, read=event.read, write=event.write,
            census_per_program={k: round(v, 1) for k, v in event.census.items()},
            dot_flops=sum(event.dot_flops.values()) * event.programs,
            compiled=info, bound=t["bound"],
            time_us={k: t[k] * 1e6 for k in ("memory", "issue", "flops", "total")},
            undeclared_writes=event.undeclared_writes,
        ))  # fmt: skip
    aten = {}
    for event in rec.events:
        if event.kind == "aten" and event.launch:
            entry = aten.setdefault(event.name, dict(count=0, bytes=0, flops=0.0))
            entry["count"] += 1
            entry["bytes"] += event.read + event.write
            entry["flops"] += event.flops
    return dict(
        bytes=totals["read"] + totals["write"], read=totals["read"], write=totals["write"],
        launches=totals["launches"], triton_launches=totals["triton_launches"],
        syncs=totals["syncs"], h2d=totals["h2d"], sync_ops=[s for s, _ in rec.syncs],
        h2d_ops=[h for h, _ in rec.h2d], peak=result["peak"], state=result["state"],
        fit_ratio=result["fit_ratio"], unmatched_kernels=result["unmatched"],
        time={name: dict(total=t["total"], limit=t["limit"],
                         by_bound={k: v for k, v in t["by_bound"].items()})
              for name, t in times.items()},
        limit=times[REFERENCE_DEVICE]["limit"], kernels=kernels, aten_ops=aten,
    )  # fmt: skip


def _us(seconds):
    return f"{seconds * 1e6:.0f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def what_limits(row) -> str:
    """A short line: what bounds tritaudio's modelled time in this case."""
    ours = row.get("ours")
    if ours is None or ours.get("time") is None:
        return "not modelled"
    t = ours["time"][REFERENCE_DEVICE]
    by = t["by_bound"]
    total = t["total"]
    parts = [f"{t['limit']}-bound ({100 * by[t['limit']] / total:.0f} % of {_us(total)})"]
    if ours["kernels"]:
        top = max(ours["kernels"], key=lambda k: k["time_us"]["total"])
        share = top["time_us"]["total"] * 1e-6 / total
        occ = top["compiled"].get("occupancy")
        occ_text = f", {100 * occ:.0f} % occupancy" if occ is not None else ""
        if share > 0.2:
            parts.append(f"{top['name']} {top['bound']}-bound, {100 * share:.0f} %{occ_text}")
    parts.append(f"{ours['bytes'] / row['floor']:.1f}x floor bytes" if row["floor"] else "")
    parts.append(f"{ours['launches']} launches")
    if ours["syncs"] or ours["h2d"]:
        parts.append(f"{ours['syncs']} sync + {ours['h2d']} H2D")
    return "; ".join(p for p in parts if p)


def model_row(case, mode, device_names, compile_cache, log=print) -> dict:
    row = dict(family=case.family, case=case.name, mode=mode,
               size=case.sized(case.headline).as_dict())  # fmt: skip
    results = {}
    for side, impl in (("ours", case.ours), ("baseline", case.baseline)):
        start = time.perf_counter()
        # torchaudio's compiled kernels that this machine lacks: modelled stand-ins
        context = compiled_torchaudio() if impl == TORCHAUDIO else contextlib.nullcontext()
        try:
            with context:
                results[side] = count_case(case, impl, mode)
        except Unavailable as err:
            row[f"{side}_error"] = str(err)
        except Exception as err:
            message = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
            row[f"{side}_error"] = f"failed: {type(err).__name__}: {message}"
        log(f"  {case.name:34} {mode:17} {impl:17} counted in "
            f"{time.perf_counter() - start:5.1f} s {row.get(side + '_error', '')}")  # fmt: skip
    specs = {}
    for result in results.values():
        if "warm" in result:
            for event in result["warm"].recorder.events:
                if event.kind == "triton":
                    spec = compiler.spec_of(event)
                    key = compiler.spec_key(spec)
                    if key not in compile_cache:
                        specs[key] = spec
    if specs:
        for key, info in zip(specs, compiler.compile_specs(list(specs.values())), strict=True):
            compile_cache[key] = info
    for side, result in results.items():
        row[side] = _side(result, device_names, compile_cache)
        row[side]["impl"] = case.ours if side == "ours" else case.baseline
    floors = [r["warm"].floor for r in results.values() if "warm" in r]
    row["floor"] = floors[0] if floors else 0
    row["bandwidth"] = {name: DEVICES[name].bandwidth for name in device_names}
    if "ours" in row and "baseline" in row and row["ours"]["time"] and row["baseline"]["time"]:
        row["ratio"] = {name: row["baseline"]["time"][name]["total"]
                        / row["ours"]["time"][name]["total"] for name in device_names}  # fmt: skip
    row["what_limits"] = what_limits(row)
    return row


def _constants():
    return dict(
        devices={name: dataclasses.asdict(d) for name, d in DEVICES.items()},
        library_efficiency=LIBRARY_EFFICIENCY, sm90=SM90, torchaudio_iir=TORCHAUDIO_IIR,
    )  # fmt: skip


def run_model(cases, log=print, device_names=tuple(DEVICES)) -> dict:
    """The ``model`` section for ``cases`` (file I/O cases are left out)."""
    rows, cache = [], {}
    start = time.perf_counter()
    for case in cases:
        if case.bytes_moved is None or case.device == "cpu":
            continue
        for mode in case.modes:
            rows.append(model_row(case, mode, device_names, cache, log))
    return dict(
        schema=MODEL_SCHEMA, reference_device=REFERENCE_DEVICE, label=LABEL,
        constants=_constants(), rows=rows, seconds=time.perf_counter() - start,
        method=__doc__.split("\n\n")[1],
    )  # fmt: skip


LABEL = "modelled (H200, not measured)"


def results_file(model: dict, commit=None) -> dict:
    """A results file (schema tritaudio-bench/1) holding only the model."""
    from benchmarks.runner import git_state, versions

    now = datetime.datetime.now(datetime.timezone.utc)
    device = DEVICES[model["reference_device"]]
    data = dict(
        schema=schema.SCHEMA, created=now.isoformat(timespec="seconds"),
        date=now.date().isoformat(), grid="model",
        device=dict(type="model", name=f"{device.name} ({LABEL})",
                    copy_gbps=device.bandwidth / 1e9, copy_bytes=0),
        versions=versions(), git=git_state(commit), settings={}, results=[], skipped=[],
        model=model,
    )  # fmt: skip
    return schema.validate(data)


def _print_table(model, out=sys.stdout):
    print(f"\n{LABEL}; bytes in MB; times {model['reference_device']}", file=out)
    header = (f"{'case':34} {'mode':17} {'ours MB':>8} {'floor':>7} {'x':>5} {'launch':>6} "
              f"{'sync':>4} {'ours':>9} {'torchaudio':>10} {'ratio':>6}  limit")  # fmt: skip
    print(header, file=out)
    for row in model["rows"]:
        ours, base = row.get("ours"), row.get("baseline")
        dev = model["reference_device"]

        def t(side, dev=dev):
            return _us(side["time"][dev]["total"]) if side and side.get("time") else "-"

        ratio = f"{row['ratio'][dev]:.2f}" if "ratio" in row else "-"
        x = f"{ours['bytes'] / row['floor']:.1f}" if ours and row["floor"] else "-"
        print(f"{row['case'][:34]:34} {row['mode']:17} "
              f"{(ours['bytes'] / 1e6 if ours else 0):8.1f} {row['floor'] / 1e6:7.1f} {x:>5} "
              f"{(ours['launches'] if ours else '-'):>6} "
              f"{(ours['syncs'] + ours['h2d'] if ours else '-'):>4} {t(ours):>9} {t(base):>10} "
              f"{ratio:>6}  {row['what_limits']}", file=out)  # fmt: skip


def main(cases, out_dir: Path, commit=None, log=None) -> Path:
    """Model ``cases``, write ``<out_dir>/model-<date>.json``, print the table; the path."""
    from tritaudio import _ops

    if not _ops.INTERPRETED:
        raise SystemExit("the model runs Triton under its interpreter: set TRITON_INTERPRET=1 "
                         "(and no CUDA) before importing tritaudio")  # fmt: skip
    torch.manual_seed(0)
    log = log or (lambda text: print(text, file=sys.stderr))
    model = run_model(cases, log)
    data = results_file(model, commit)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"model-{data['date']}.json"
    if path.exists():  # a partial run (some families) merges into the day's file
        old = json.loads(path.read_text())
        fresh = {(r["family"], r["case"], r["mode"]) for r in model["rows"]}
        kept = [r for r in old.get("model", {}).get("rows", [])
                if (r["family"], r["case"], r["mode"]) not in fresh]  # fmt: skip
        order = {(c.family, c.name): i for i, c in enumerate(_all_cases())}
        model["rows"] = sorted(kept + model["rows"], key=lambda r: (
            order.get((r["family"], r["case"]), 1e9), r["mode"] != "forward"))  # fmt: skip
    path.write_text(json.dumps(data, indent=1, default=_json_default) + "\n")
    _print_table(model)
    return path


def _all_cases():
    from benchmarks.families import all_cases

    return all_cases()


def _json_default(value):
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, float):
        return value
    return str(value)


__all__ = ["TORCHAUDIO", "TRITON", "main", "model_row", "run_model", "what_limits"]
