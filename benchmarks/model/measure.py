"""Counting one case (family case, mode, implementation) at its headline size.

1. Two small real runs on the CPU (Triton under the interpreter): batch 1 x 0.5 s and
   2 x 1 s at the case's rate. They give each Triton kernel's traffic per argument (the
   fraction of each tensor argument read and written) and its instruction census per
   program, the host-synchronisation values, and a linear fit of the total traffic in
   batch x length.
2. Two runs on the ``meta`` device at the headline size (nothing executes; shapes only):
   the cold first call and a warm second one. They give every aten op's traffic, every
   launch with its grid and arguments, syncs, host-to-device copies and the live-storage
   peak at the real size, exactly; each Triton launch's traffic and instructions are
   scaled from (1) by its arguments' sizes and its grid. The fit of (1) is checked
   against this count (``fit_ratio``).
"""

import contextlib
import dataclasses
import gc
import warnings

import torch
from torch.utils._python_dispatch import _disable_current_modes

from benchmarks.cases import FORWARD_BACKWARD, TRITON, Unavailable
from benchmarks.model.counter import Recorder
from tritaudio import _cache

SMALL = ((1, 0.5), (2, 1.0))  # (batch, seconds) of the real runs


def module_state_bytes(op) -> int:
    """Bytes of the tensors an op keeps: parameters, buffers and tensor attributes of
    the modules it holds (found through closures too), each storage once."""
    return sum({id(t.untyped_storage()): t.untyped_storage().nbytes()
                for t in state_tensors(op)}.values())  # fmt: skip


def state_tensors(op) -> list:
    """The tensors an op keeps (see :func:`module_state_bytes`)."""
    seen, storages = set(), {}

    def visit(obj, depth=0):
        if depth > 6 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            if not isinstance(obj, torch.nn.parameter.UninitializedParameter):
                storages[id(obj.untyped_storage())] = obj
            return
        if isinstance(obj, torch.nn.Module):
            for t in list(obj.parameters()) + list(obj.buffers()):
                visit(t, depth + 1)
            for value in vars(obj).values():
                visit(value, depth + 1)
            return
        if isinstance(obj, (list, tuple, set)):
            for value in obj:
                visit(value, depth + 1)
        elif isinstance(obj, dict):
            for value in obj.values():
                visit(value, depth + 1)
        elif callable(obj) and getattr(obj, "__closure__", None):
            for cell in obj.__closure__:
                with contextlib.suppress(ValueError):  # an empty cell
                    visit(cell.cell_contents, depth + 1)

    visit(op)
    visit(_cache.cached_tensors())  # tables built once per key and kept for later calls
    return list(storages.values())


def _modules(op):
    found, seen = [], set()

    def visit(obj, depth=0):
        if depth > 6 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.nn.Module):
            found.extend(obj.modules())
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                visit(value, depth + 1)
        elif callable(obj) and getattr(obj, "__closure__", None):
            for cell in obj.__closure__:
                with contextlib.suppress(ValueError):  # an empty cell
                    visit(cell.cell_contents, depth + 1)

    visit(op)
    return found


def _keep_lazy_parameters(op, device):
    """``Module.to("meta")`` turns a lazy module's uninitialised parameter into an empty
    one (torchaudio's PitchShift kernel), so it is never built: make it uninitialised
    again, on ``device``, for the first call to build."""
    from torch.nn.modules.lazy import LazyModuleMixin
    from torch.nn.parameter import UninitializedParameter

    for module in _modules(op):
        if isinstance(module, LazyModuleMixin):
            for name, p in list(module.named_parameters(recurse=False)):
                if p.numel() == 0 and not isinstance(p, UninitializedParameter):
                    setattr(module, name, UninitializedParameter(device=device, dtype=p.dtype))


@dataclasses.dataclass
class Call:
    """One recorded call: the recorder, the floor bytes, module state before / after."""

    recorder: Recorder
    floor: int
    state_before: int
    state_after: int


def _device_tensors():
    """Every live tensor off the CPU (the device's state before a call)."""
    with warnings.catch_warnings():  # isinstance on torch's deprecated module attributes
        warnings.simplefilter("ignore")
        return [obj for obj in gc.get_objects()
                if isinstance(obj, torch.Tensor) and obj.device.type != "cpu"
                and not isinstance(obj, torch.nn.parameter.UninitializedTensorMixin)]  # fmt: skip


def record_call(case, impl, mode, size, device, execute=True, sync_values=None, calls=1):
    """Build the op, then record ``calls`` calls (each a fresh :class:`Recorder`)."""
    _cache.clear()  # the first call builds its constant tables, the next ones reuse them
    op = case.implementations[impl](size, device)
    if torch.device(device).type == "meta":
        _keep_lazy_parameters(op, device)
    state0 = module_state_bytes(op)
    inputs = case.make_inputs(size, device)
    backward = mode == FORWARD_BACKWARD
    if backward:
        for i in case.grad_inputs:
            inputs[i].requires_grad_(True)
    out = []
    for _ in range(calls):
        recorder = Recorder(execute=execute, sync_values=sync_values)
        # device tensors that exist before the call (constant tables an earlier call built
        # and cached, in tritaudio._cache or a functools cache) are state, not host-built
        recorder.watch(inputs, state_tensors(op), _device_tensors())
        with recorder:
            output = op(*inputs)
            grads = ()
            if backward:
                with _disable_current_modes():
                    grad_output = torch.ones_like(output, device=output.device)
                recorder.watch(grad_output)  # the harness's tensor, not a host-built one
                grads = torch.autograd.grad(output, [inputs[i] for i in case.grad_inputs],
                                            grad_output)  # fmt: skip
        floor = case.bytes_moved(inputs, output, grads) if case.bytes_moved else 0
        out.append(Call(recorder, floor, state0, module_state_bytes(op)))
        del output, grads
    return out


def _key(event):
    constexpr = tuple((a["name"], a.get("value")) for a in event.args if not a.get("tensor")
                      and a["name"].isupper())  # fmt: skip
    return event.name, constexpr


def _block_elements(event):
    """Elements per program, as the product of the power-of-two upper-case constexprs
    (BLOCK, ROWS, BLOCK_F, ...): used to scale a kernel's census between block sizes."""
    product = 1
    for a in event.args:
        value = a.get("value")
        if (a["name"].isupper() and isinstance(value, int) and not isinstance(value, bool)
                and value >= 2 and value & (value - 1) == 0):  # fmt: skip
            product *= value
    return product


@dataclasses.dataclass
class KernelModel:
    """What small runs tell about one kernel (name + constexprs): traffic per argument as
    a fraction of the argument's bytes, instruction census per program."""

    read_fraction: dict
    write_fraction: dict
    census: dict  # class -> warp-instructions per program (at the larger small size)
    census_small: dict  # the same at the smaller size
    dot_flops: dict
    block: int
    samples: tuple  # row length of the two small runs
    undeclared: set


def kernel_models(small_calls, lengths) -> dict:
    """``{key: KernelModel}`` (and ``{name: KernelModel}`` as a fallback) from the
    recorders of the two small runs (smaller first)."""
    per_size = []
    for call in small_calls:
        table = {}
        for event in call.recorder.events:
            if event.kind != "triton" or not event.programs:
                continue
            entry = table.setdefault(_key(event), dict(read={}, write={}, size={}, census={},
                                                       dots={}, programs=0, undeclared=set(),
                                                       block=_block_elements(event)))  # fmt: skip
            for i, a in enumerate(event.args):
                if a.get("tensor"):
                    entry["size"][i] = entry["size"].get(i, 0) + a["bytes"]
            for i, b in event.arg_read.items():
                entry["read"][i] = entry["read"].get(i, 0) + b
            for i, b in event.arg_write.items():
                entry["write"][i] = entry["write"].get(i, 0) + b
            for k, v in event.census.items():
                entry["census"][k] = entry["census"].get(k, 0) + v * event.programs
            for k, v in event.dot_flops.items():
                entry["dots"][k] = entry["dots"].get(k, 0) + v * event.programs
            entry["programs"] += event.programs
            entry["undeclared"].update(event.undeclared_writes)
        per_size.append(table)
    models = {}
    large = per_size[-1]
    small = per_size[0] if len(per_size) > 1 else per_size[-1]
    for key, entry in large.items():
        other = small.get(key, entry)

        def frac(part, entry=entry):
            return {i: b / entry["size"][i] for i, b in entry[part].items() if entry["size"].get(i)}

        def per_program(e, field):
            return {k: v / max(1, e["programs"]) for k, v in e[field].items()}

        models[key] = KernelModel(
            frac("read"), frac("write"), per_program(entry, "census"),
            per_program(other, "census"), per_program(entry, "dots"), entry["block"],
            tuple(lengths), entry["undeclared"] | other["undeclared"],
        )  # fmt: skip
        models.setdefault(key[0], models[key])
    return models


def scaled_census(model: KernelModel, event, samples) -> tuple:
    """(census per program, dot FLOPs per program) for ``event`` at ``samples`` per row:
    the larger small run's per-program census, extrapolated linearly in the row length
    when it grew with it (loops over the row), and scaled by the block size when the
    launch's block differs from the model's."""
    scale = _block_elements(event) / max(1, model.block)
    l1, l2 = model.samples
    out = {}
    for k, v2 in model.census.items():
        v1 = model.census_small.get(k, v2)
        value = v2
        if l2 > l1 and v2 > 1.25 * v1:  # grows with the row: a loop over it
            value = v2 + (v2 - v1) * (samples - l2) / (l2 - l1)
        out[k] = max(value, 0.0) * scale
    dots = {k: v * scale for k, v in model.dot_flops.items()}
    return out, dots


def scale_launch(event, models, samples):
    """Fill a meta-run launch's traffic and census from the small runs' kernel model."""
    model = models.get(_key(event)) or models.get(event.name)
    if model is None:
        event.read = sum(a["bytes"] for a in event.args if a.get("tensor"))  # assume read all
        return False
    event.arg_read = {i: f * event.args[i]["bytes"] for i, f in model.read_fraction.items()
                      if i < len(event.args) and event.args[i].get("tensor")}  # fmt: skip
    event.arg_write = {i: f * event.args[i]["bytes"] for i, f in model.write_fraction.items()
                       if i < len(event.args) and event.args[i].get("tensor")}  # fmt: skip
    event.read = sum(event.arg_read.values())
    event.write = sum(event.arg_write.values())
    event.census, event.dot_flops = scaled_census(model, event, samples)
    event.undeclared_writes = sorted(model.undeclared)
    return True


def linear_fit(points, x):
    """The line through two points (x_i, y_i), at ``x``."""
    (x1, y1), (x2, y2) = points
    if x2 == x1:
        return y2
    return y1 + (y2 - y1) * (x - x1) / (x2 - x1)


def count_case(case, impl, mode):
    """Everything the model needs about one (case, impl, mode) at its headline size; a
    dict, or raises :class:`Unavailable`."""
    full = case.sized(case.headline)
    if impl != TRITON:
        # No Triton kernel to scale: the meta run alone counts it (torchaudio's PitchShift
        # builds its table on the CPU in ~10-70 s per small run); the small runs, and the
        # fit check, only where that fails (a host sync it needs a value for, ...).
        try:
            cold, warm = record_call(case, impl, mode, full, "meta", execute=False, calls=2)
        except Exception:
            pass
        else:
            return dict(size=full, small=[], small_calls=[], models={}, fitted={},
                        meta_error=None, cold=cold, warm=warm, unmatched=[],
                        fit_ratio=None, state=warm.state_after,
                        peak=max(cold.state_before + cold.recorder.peak,
                                 warm.state_before + warm.recorder.peak))  # fmt: skip
    sizes = [case.sized(dataclasses.replace(full, batch=b, seconds=s)) for b, s in SMALL]
    small_calls = [record_call(case, impl, mode, size, "cpu")[0] for size in sizes]
    sync_values = [v for _, v in small_calls[-1].recorder.syncs]
    models = kernel_models(small_calls, [s.samples for s in sizes])
    meta = None
    meta_error = None
    try:
        meta = record_call(case, impl, mode, full, "meta", execute=False,
                           sync_values=sync_values, calls=2)  # fmt: skip
    except Unavailable:
        raise
    except Exception as err:  # an op without meta support: fall back to the fit
        meta_error = f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
    work = [s.batch * s.samples for s in sizes]
    fitted = {}
    for field in ("read", "write", "launches"):
        values = [c.recorder.totals()[field] for c in small_calls]
        fitted[field] = linear_fit(list(zip(work, values, strict=True)),
                                   full.batch * full.samples)  # fmt: skip
    result = dict(size=full, small=sizes, small_calls=small_calls, models=models,
                  fitted=fitted, meta_error=meta_error)  # fmt: skip
    if meta is None:
        return result
    unmatched = set()
    for call in meta:
        for event in call.recorder.events:
            if event.kind == "triton" and not scale_launch(event, models, full.samples):
                unmatched.add(event.name)
    cold, warm = meta
    result.update(cold=cold, warm=warm, unmatched=sorted(unmatched))
    cold_total = cold.recorder.totals()
    result["fit_ratio"] = {
        field: (fitted[field] / cold_total[field]) if cold_total[field] else None
        for field in ("read", "write", "launches")
    }
    result["peak"] = max(cold.state_before + cold.recorder.peak,
                         warm.state_before + warm.recorder.peak)  # fmt: skip
    result["state"] = warm.state_after
    return result
