"""Counting what one call does: every aten op and every Triton launch, with the bytes it
reads and writes, host synchronisations, host-to-device copies, and the live-storage peak.

:class:`Recorder` is a ``TorchDispatchMode`` (it sees every aten op, also inside
autograd's backward) and, while active, a hook on Triton's interpreter
(``InterpretedFunction.run``): every kernel launch is seen whatever launcher or op made
it, so kernels added or rewritten later are counted without changes here. Custom ops
(``torch.library.triton_op``) are opened up: their Python body runs under the recorder,
so the allocations and aten ops inside them count too.

On real (CPU) tensors a launch runs under the interpreter with the builder instrumented:

* traffic: the distinct addresses each program loads and stores, mapped to the launch's
  tensor arguments (bytes read / written per argument, each byte once per launch: full
  L1/L2 reuse inside a kernel); stores into an argument its kernel's ``WRITES`` table
  (next to the kernel, in its module) does not declare are reported.
* instructions: a weighted census of the builder calls of sampled programs
  (:data:`WEIGHTS`), after removing values that are computed but never reach a store
  (the compiler removes those too), in warp-instructions per program.

On the ``meta`` device nothing executes: launches and aten ops are recorded with their
arguments' shapes (the model uses this to count a call at the benchmark's full size),
host synchronisations return the values a real run saw (``sync_values``).
"""

import contextlib
import dataclasses
import math
import sys
import weakref

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

SYNC_OPS = {"aten::_local_scalar_dense", "aten::is_nonzero", "aten::equal", "aten::nonzero"}
# ops that write their (first) tensor argument without reading it
WRITE_ONLY = {"aten::copy_", "aten::fill_", "aten::zero_", "aten::normal_", "aten::uniform_",
              "aten::random_", "aten::bernoulli_", "aten::exponential_", "aten::set_"}  # fmt: skip
# ops that move no data of their own: allocations and metadata
NO_LAUNCH = {"aten::empty", "aten::empty_strided", "aten::empty_like", "aten::lift_fresh",
             "aten::detach", "aten::alias", "aten::_local_scalar_dense", "aten::is_nonzero",
             "aten::sym_size", "aten::sym_stride", "aten::sym_numel", "aten::set_",
             "aten::resize_", "aten::new_empty", "aten::new_empty_strided",
             "aten::_unsafe_view", "aten::equal"}  # fmt: skip


def extent_bytes(t: torch.Tensor) -> int:
    """Bytes a tensor's elements span once each (broadcast dims, stride 0, counted once)."""
    if t.numel() == 0:
        return 0
    n = 1
    for size, stride in zip(t.shape, t.stride(), strict=True):
        if stride != 0:
            n *= size
    return n * t.element_size()


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


def _fft_flops(func, args, out):
    """cuFFT FLOPs, the usual 5 N log2 N per complex transform of N points (half for real
    ones), N the transform's real-side length."""
    name = func._schema.name
    full = out if name == "aten::_fft_c2r" else args[0]
    dims = list(args[1]) if len(args) > 1 else [-1]
    n = math.prod(full.shape[d] for d in dims) or 1
    batch = max(1, full.numel() // n)
    per = 5.0 * n * math.log2(max(n, 2))
    return per * batch * (0.5 if name in ("aten::_fft_r2c", "aten::_fft_c2r") else 1.0)


def op_flops(func, args, out) -> tuple:
    """(FLOPs, precision) of the compute-heavy aten ops (FFT, convolution, matmul), else
    (0, None). Precision as cuDNN / cuBLAS run them by default: convolutions in TF32
    (``torch.backends.cudnn.allow_tf32`` is True by default), matmuls in FP32."""
    name = func._schema.name
    if name in ("aten::_fft_r2c", "aten::_fft_c2r", "aten::_fft_c2c"):
        return _fft_flops(func, args, out), "fft"
    if name in ("aten::convolution", "aten::_convolution", "aten::convolution_backward"):
        x, w = args[0], args[1]
        if name == "aten::convolution_backward":
            grad, x, w = args[0], args[1], args[2]
            macs = grad.numel() * w.shape[1] * math.prod(w.shape[2:])
            return 2.0 * macs * 2, "tf32"
        transposed = args[6] if len(args) > 6 else False
        per_out = w.shape[1] * math.prod(w.shape[2:])
        macs = (x.numel() if transposed else out.numel()) * per_out
        if transposed:
            macs = x.numel() * w.shape[1] * math.prod(w.shape[2:])
        return 2.0 * macs, "tf32"
    if name in ("aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm", "aten::addbmm"):
        a = args[1] if name in ("aten::addmm", "aten::baddbmm", "aten::addbmm") else args[0]
        k = a.shape[-1]
        return 2.0 * out.numel() * k, "fp32"
    return 0.0, None


@dataclasses.dataclass
class Event:
    """One aten op or Triton launch."""

    kind: str  # "aten" or "triton"
    name: str
    read: int = 0
    write: int = 0
    launch: bool = True
    flops: float = 0.0
    precision: str | None = None
    # Triton launches
    module: str | None = None
    grid: tuple = ()
    programs: int = 0
    num_warps: int = 4
    num_stages: int = 3
    args: list = dataclasses.field(default_factory=list)  # descriptions (see _describe)
    arg_read: dict = dataclasses.field(default_factory=dict)  # arg index -> bytes
    arg_write: dict = dataclasses.field(default_factory=dict)
    census: dict = dataclasses.field(default_factory=dict)  # class -> warp-instr / program
    dot_flops: dict = dataclasses.field(default_factory=dict)  # precision -> FLOPs / program
    undeclared_writes: list = dataclasses.field(default_factory=list)
    # modelled stand-ins (benchmarks/model/baselines.py): the longest dependent chain of
    # one thread, in cycles (a kernel whose few threads each step through a row in order)
    chain_cycles: float = 0.0

    def as_dict(self):
        return dataclasses.asdict(self)


def _describe(value):
    if isinstance(value, torch.Tensor):
        return dict(tensor=True, dtype=str(value.dtype).removeprefix("torch."),
                    shape=list(value.shape), stride=list(value.stride()),
                    bytes=extent_bytes(value), aligned=value.data_ptr() % 16 == 0)  # fmt: skip
    if isinstance(value, bool):
        return dict(value=value, type="bool")
    if isinstance(value, int):
        return dict(value=value, type="int")
    if isinstance(value, float):
        return dict(value=value, type="float")
    if value is None:
        return dict(value=None, type="none")
    if isinstance(value, str):
        return dict(value=value, type="str")
    return dict(value=repr(value), type=type(value).__name__)


# --- the instruction census -------------------------------------------------------------

# Warp-instructions per element per thread (FMA class = 1), by builder call. The values
# are Hopper SASS counts of the usual expansions: IEEE fp32 division ~9, sqrt ~8, libdevice
# sin/cos with range reduction ~38, log ~20, erf ~30; int64 arithmetic is two 32-bit
# instructions; integer division by a run-time value ~20 (int32) / ~60 (int64). Layout
# ops (broadcast, splat, reshape, expand_dims, make_range, program ids) are free.
WEIGHTS = {
    "fdiv": 9, "precise_divf": 9, "approx_divf": 2, "frem": 12,
    "precise_sqrt": 8, "sqrt": 2, "rsqrt": 2,
    "sin": 38, "cos": 38, "exp": 4, "exp2": 2, "log": 20, "log2": 20, "erf": 30,
    "extern_elementwise": 30, "inline_asm": 4,
    "idiv": 20, "sdiv": 20, "udiv": 20, "srem": 20, "urem": 20,
    "umulhi": 1, "fma": 1,
}  # fmt: skip
FREE = {"get_program_id", "get_num_programs", "make_range", "splat", "broadcast",
        "expand_dims", "reshape", "trans", "bitcast", "int_to_ptr", "ptr_to_int", "join",
        "split", "cat", "unsplat", "assume", "barrier", "get_null_value", "permute"}  # fmt: skip
MEMORY = {"load": "load", "masked_load": "load", "store": "store", "masked_store": "store",
          "atomic_rmw": "atomic", "atomic_cas": "atomic"}  # fmt: skip
# warp-level MMA throughput: multiply-accumulates per warp-instruction
DOT_MACS_PER_INSTR = {"ieee": 32, "tf32": 1024, "tf32x3": 1024 / 3.5, "bf16": 2048}
SAMPLED_PROGRAMS = 12


def _handles(obj, out):
    from triton.runtime.interpreter import TensorHandle

    if isinstance(obj, TensorHandle):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _handles(item, out)
    elif hasattr(obj, "handle") and isinstance(getattr(obj, "handle", None), TensorHandle):
        out.append(obj.handle)
    return out


def _size(handle):
    data = getattr(handle, "data", None)
    return int(data.size) if isinstance(data, np.ndarray) else 1


def _is_int64(handle):
    data = getattr(handle, "data", None)
    return isinstance(data, np.ndarray) and data.dtype in (np.int64, np.uint64)


def _is_fp64(handle):
    data = getattr(handle, "data", None)
    return isinstance(data, np.ndarray) and data.dtype == np.float64


class _Census:
    """Instruments Triton's interpreter builder for one launch: addresses touched (all
    programs) and the instruction census (sampled programs)."""

    def __init__(self, programs, num_warps):
        self.threads = 32 * num_warps
        self.num_warps = num_warps
        self.sample = set(np.linspace(0, programs - 1, min(programs, SAMPLED_PROGRAMS),
                                      dtype=np.int64).tolist())  # fmt: skip
        self.index = -1
        self.active = False
        self.trace = []  # (class, cost, inputs, outputs, root, dot_flops)
        self.products = set()  # fmul results in the trace (an fadd of one is an FFMA)
        self.totals = {}  # class -> warp-instructions over the sampled programs
        self.dots = {}
        self.sampled = 0
        self.loads, self.stores = [], []  # (addresses, element bytes)

    # program boundaries
    def begin_program(self):
        self.end_program()
        self.index += 1
        self.active = self.index in self.sample
        if self.active:
            self.sampled += 1

    def end_program(self):
        if not self.trace:
            return
        live = set()
        for cls, cost, inputs, outputs, root, flops in reversed(self.trace):
            if root or any(id(o) in live for o in outputs):
                live.update(id(i) for i in inputs)
                if cost:
                    self.totals[cls] = self.totals.get(cls, 0.0) + cost
                for precision, value in flops.items():
                    self.dots[precision] = self.dots.get(precision, 0.0) + value
        self.trace = []
        self.products = set()

    def per_thread(self, elements):
        return max(1, math.ceil(elements / self.threads))

    def record(self, name, args, result):
        if not self.active:
            return
        inputs = _handles(args, [])
        outputs = _handles(result, [])
        if name in FREE or name.startswith("get_"):  # free, but it carries the data flow
            self.trace.append(("free", 0.0, inputs, outputs, False, {}))
            return
        elements = max([_size(h) for h in outputs + inputs] or [1])
        kind = MEMORY.get(name)
        flops = {}
        if kind is not None:
            ptrs = args[0]
            vector = _vector_width(ptrs)
            cost = math.ceil(self.per_thread(elements) / vector) * self.num_warps
            cls, root = kind, kind != "load"
        elif name == "dot":
            a, b, precision = args[0], args[1], str(args[3]).split(".")[-1].lower()
            if "tf32x3" in precision:
                precision = "tf32x3"
            elif "tf32" in precision:
                precision = "tf32"
            elif a.data.dtype in (np.float16,) or "bf16" in str(a.dtype):
                precision = "bf16"
            else:
                precision = "ieee"
            m, k = a.data.shape[-2:]
            n = b.data.shape[-1]
            macs = m * n * k * (a.data.size // (m * k))
            cost = macs / DOT_MACS_PER_INSTR[precision]
            if precision != "ieee":  # operand conversion / splitting
                extra = 1 if precision == "tf32" else 4
                cost += extra * self.per_thread(a.data.size + b.data.size) * self.num_warps
            flops = {precision: 2.0 * macs}
            cls, root = f"dot {precision}", False
        else:
            weight = WEIGHTS.get(name, 1)
            if any(_is_int64(h) for h in inputs + outputs) and name not in WEIGHTS:
                weight = 2
            elif name in ("idiv", "sdiv", "udiv", "srem", "urem") and any(
                _is_int64(h) for h in inputs
            ):
                weight = 60
            if any(_is_fp64(h) for h in outputs):
                weight *= 2
            if name in ("fadd", "fsub") and any(id(h) in self.products for h in inputs):
                weight = 0  # fused with the multiply into an FFMA (fp fusion, the default)
            cost = weight * self.per_thread(elements) * self.num_warps
            if name == "fmul":
                self.products.update(id(h) for h in outputs)
            cls = "special" if weight >= 8 else ("int64" if weight == 2 else "alu")
            root = name in ("print", "assert", "histogram") or elements == 1
        self.trace.append((cls, cost, inputs, outputs, root, flops))

    def record_reduce(self, inputs, outputs, scan=False):
        if not self.active:
            return
        elements = max([_size(h) for h in inputs] or [1])
        cost = (self.per_thread(elements) + 20) * self.num_warps * (3 if scan else 1)
        self.trace.append(("reduce", cost, inputs, outputs, False, {}))

    def memory(self, ptrs, mask, store):
        data = ptrs.data
        addresses = data[np.broadcast_to(mask.data, data.shape)] if mask is not None else data
        element = max(1, ptrs.get_element_ty().primitive_bitwidth // 8)
        (self.stores if store else self.loads).append((addresses.ravel(), element))

    def per_program(self, programs):
        self.end_program()
        n = max(1, self.sampled)
        return ({k: v / n for k, v in self.totals.items()},
                {k: v / n for k, v in self.dots.items()})  # fmt: skip


def _vector_width(ptrs):
    """Elements per vector memory instruction: up to 16 bytes, when the block's last dim
    is contiguous and its rows start 16-byte aligned (a row stride not divisible by 16
    halves or quarters it)."""
    data = getattr(ptrs, "data", None)
    if not isinstance(data, np.ndarray) or data.ndim == 0 or data.shape[-1] < 2:
        return 1
    element = max(1, ptrs.get_element_ty().primitive_bitwidth // 8)
    rows = data.reshape(-1, data.shape[-1]).astype(np.int64)
    if not np.all(np.diff(rows, axis=-1) == element):
        return 1
    misalign = int(np.bitwise_or.reduce(rows[:, 0] % 16))
    align = 16 if misalign == 0 else (misalign & -misalign)
    run = data.shape[-1] * element
    width = min(16, align, run & -run)
    return max(1, width // element)


@contextlib.contextmanager
def _instrumented(census):
    """The interpreter's builder (and its reduce / scan) reporting to ``census``."""
    from triton.runtime import interpreter as interp

    builder = interp.interpreter_builder
    patched = []
    # The interpreter checks every int32 add / sub / mul for overflow (sanitize_overflow:
    # casts to int64, compares); a kernel compiled without debug has no such checks (their
    # device_assert is dropped, so is the dead code): not counted.
    options = getattr(builder, "options", None)
    if getattr(options, "sanitize_overflow", False):
        builder.options = dataclasses.replace(options, sanitize_overflow=False)

    # A builder call may make others (create_load calls create_masked_load): only the
    # outermost one is the operation the kernel asked for, counted once.
    nesting = [0]

    def wrap(attr):
        original = getattr(builder, attr)
        name = attr.removeprefix("create_")

        def call(*args, **kwargs):
            nesting[0] += 1
            try:
                result = original(*args, **kwargs)
            finally:
                nesting[0] -= 1
            if nesting[0]:
                return result
            if name in ("masked_load", "masked_store"):
                census.memory(args[0], args[1] if name == "masked_load" else args[2],
                              store=name == "masked_store")  # fmt: skip
            elif name in ("load", "store"):
                census.memory(args[0], None, store=name == "store")
            census.record(name, args, result)
            return result

        return call

    names = [a for a in dir(type(builder)) if a.startswith("create_")]
    for attr in names:
        setattr(builder, attr, wrap(attr))
        patched.append(attr)
    original_grid = builder.set_grid_idx

    def set_grid_idx(x, y, z):
        census.begin_program()
        return original_grid(x, y, z)

    builder.set_grid_idx = set_grid_idx
    reduce_apply, scan_apply = interp.ReduceOps.apply, interp.ScanOps.apply

    # apply may call itself (a bare tensor is passed on as a 1-tuple): each reduction
    # and scan is counted once, at the outermost call
    depth = [0]

    def outermost(apply, self, input):
        depth[0] += 1
        try:
            return apply(self, input), depth[0] == 1
        finally:
            depth[0] -= 1

    def reduce(self, input):
        result, outer = outermost(reduce_apply, self, input)
        if outer:
            census.record_reduce(_handles(input, []), _handles(result, []))
        return result

    def scan(self, input):
        result, outer = outermost(scan_apply, self, input)
        if outer:
            census.record_reduce(_handles(input, []), _handles(result, []), scan=True)
        return result

    interp.ReduceOps.apply, interp.ScanOps.apply = reduce, scan
    try:
        yield
    finally:
        for attr in patched:
            delattr(builder, attr)
        del builder.set_grid_idx
        interp.ReduceOps.apply, interp.ScanOps.apply = reduce_apply, scan_apply
        if options is not None:
            builder.options = options
        census.end_program()


def declared_writes(kernel_fn):
    """The argument names a kernel's module declares it writes (its ``WRITES`` table), or
    None when the module has no entry for it."""
    module = sys.modules.get(kernel_fn.__module__)
    table = getattr(module, "WRITES", None)
    if table is None or kernel_fn.__name__ not in table:
        return None
    return tuple(table[kernel_fn.__name__])


# --- the recorder -----------------------------------------------------------------------

_ACTIVE = []  # the recorders inside whose ``with`` the code runs, innermost last


def active_recorder():
    """The innermost active :class:`Recorder`, or None."""
    return _ACTIVE[-1] if _ACTIVE else None


class Recorder(TorchDispatchMode):
    """Records every aten op and Triton launch of the code run inside ``with recorder:``.

    Args:
        execute: run Triton launches (False on the meta device: record only).
        sync_values: on the meta device, the values host synchronisations return, in
            order (from a real run of the same call); the last repeats.
        census: instrument the interpreter (traffic per argument, instruction census).
    """

    def __init__(self, execute=True, sync_values=None, census=True):
        super().__init__()
        self.execute = execute
        self.sync_values = list(sync_values or [])
        self.do_census = census
        self.events: list[Event] = []
        self.syncs: list = []  # (op name, value)
        self.h2d: list = []  # (op name, bytes)
        self._host_reads = 0  # values of host tensors read (no sync), meta runs only
        self.live = 0
        self.peak = 0
        self._storages = {}
        self._inputs = set()  # storages that existed before the call (see watch)
        self._patch = None

    def watch(self, *tensors):
        """Mark tensors made before the call (its inputs): not host-built tensors."""
        for t in _tensors(tensors):
            self._inputs.add(id(t.untyped_storage()))

    # memory
    def _track(self, out):
        for t in _tensors(out):
            storage = t.untyped_storage()
            key = id(storage)
            if key in self._storages:
                continue
            nbytes = storage.nbytes()
            self._storages[key] = nbytes
            self.live += nbytes
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self._free, key)

    def _free(self, key):
        self.live -= self._storages.pop(key, 0)

    # aten ops
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func._schema.name
        namespace = name.split("::")[0]
        if namespace not in ("aten", "prims"):
            opened = self._open_custom_op(func, args, kwargs)
            if opened is not NotImplemented:
                return opened
        if name in SYNC_OPS:
            return self._sync(func, args, kwargs)
        out = func(*args, **kwargs)
        self._record_aten(func, args, kwargs, out)
        return out

    def _open_custom_op(self, func, args, kwargs):
        from torch._library.custom_ops import OPDEFS

        opdef = OPDEFS.get(func._schema.name)
        if opdef is None:
            return NotImplemented
        try:
            from torch._library.triton import set_wrap_triton_enabled
        except ImportError:  # pragma: no cover - older torch
            set_wrap_triton_enabled = None
        context = (set_wrap_triton_enabled(False) if set_wrap_triton_enabled
                   else contextlib.nullcontext())  # fmt: skip
        with self, context:
            return opdef._init_fn(*args, **kwargs)

    def _host_only(self, *tensors):
        """On the meta device (the full-size runs) a CPU tensor is a host tensor (a filter's
        coefficients from Python numbers): ops on host tensors only launch nothing on the
        device and move no device bytes, and reading their values is no sync. (In the small
        runs that execute on the CPU, CPU tensors stand for device ones.)"""
        if self.execute:
            return False
        return all(t.device.type == "cpu" for group in tensors for t in _tensors(group))

    def _sync(self, func, args, kwargs):
        name = func._schema.name
        if self._host_only(args):
            self._host_reads += 1  # keeps the replayed values aligned with the CPU run's
            return func(*args, **kwargs)
        meta = any(t.is_meta for t in _tensors(args))
        if meta:
            index = len(self.syncs) + self._host_reads
            if name == "aten::nonzero":
                raise RuntimeError("nonzero (a data-dependent shape) on the meta device")
            value = (self.sync_values[min(index, len(self.sync_values) - 1)]
                     if self.sync_values else 0)  # fmt: skip
            if name in ("aten::is_nonzero", "aten::equal"):
                value = bool(value)
        else:
            value = func(*args, **kwargs)
        recorded = value if not isinstance(value, torch.Tensor) else None
        self.syncs.append((name, recorded))
        read = sum(extent_bytes(t) for t in _tensors(args))
        self.events.append(Event("aten", name, read=read, launch=name == "aten::nonzero"))
        return value

    def _record_aten(self, func, args, kwargs, out):
        name = func._schema.name
        schema = func._schema
        returns_alias = any(r.alias_info is not None for r in schema.returns)
        mutated = [
            i for i, a in enumerate(schema.arguments)
            if a.alias_info is not None and a.alias_info.is_write
        ]  # fmt: skip
        inputs = list(args) + list(kwargs.values())
        self._host_built(inputs)
        if name in ("aten::_to_copy", "aten::copy_"):
            self._h2d(name, args, kwargs, out)
        if returns_alias and not mutated:  # a view: no data moved
            # (aten::to's schema aliases, but a dtype or device change makes a new tensor,
            # allocated below the dispatcher: made in the call, not host-built)
            sources = {id(t.untyped_storage()) for t in _tensors(inputs)}
            self._track([t for t in _tensors(out) if id(t.untyped_storage()) not in sources])
            return
        if name in NO_LAUNCH:
            if not mutated:
                self._track(out)
            return
        written = [args[i] for i in mutated if i < len(args)] + [
            v for k, v in kwargs.items() if k == "out"
        ]
        written_ids = {id(t) for t in _tensors(written)}
        if name in WRITE_ONLY:
            read_tensors = [t for t in _tensors(inputs) if id(t) not in written_ids]
        else:
            read_tensors = list(_tensors(inputs))
        read = sum(extent_bytes(t) for t in read_tensors)
        outs = list(_tensors(written)) if mutated else list(_tensors(out))
        write = sum(t.numel() * t.element_size() for t in outs)
        flops, precision = (0.0, None)
        primary = out if isinstance(out, torch.Tensor) else next(_tensors(out), None)
        if primary is not None:
            try:
                flops, precision = op_flops(func, args, primary)
            except Exception:  # shapes we do not model: no FLOPs
                flops, precision = 0.0, None
        if self._host_only(read_tensors, outs):
            read = write = 0
        self.events.append(Event("aten", name, read=read, write=write, launch=read + write > 0,
                                 flops=flops, precision=precision))  # fmt: skip
        if not mutated:
            self._track(out)

    def _host_built(self, inputs):
        """A device tensor that no op of the call made and that is neither an input nor
        state of the op (see :meth:`watch`) came from host data: ``torch.tensor(data,
        device=...)``, a pageable host-to-device copy. Seen on the meta device only."""
        for t in _tensors(inputs):
            if t.device.type == "cpu":
                continue
            key = id(t.untyped_storage())
            if key not in self._storages and key not in self._inputs:
                self._inputs.add(key)
                self.h2d.append(("host-built tensor", extent_bytes(t)))

    def _h2d(self, name, args, kwargs, out):
        src = args[1] if name == "aten::copy_" else args[0]
        dst = args[0] if name == "aten::copy_" else out
        if (isinstance(src, torch.Tensor) and isinstance(dst, torch.Tensor)
                and src.device.type == "cpu" and dst.device.type != "cpu"):  # fmt: skip
            self.h2d.append((name, extent_bytes(src)))

    # Triton launches
    def launch(self, kernel, args, grid, kwargs, run):
        fn = kernel.fn
        names = list(kernel.arg_names)
        values = dict(zip(names, args, strict=False))
        values.update({k: v for k, v in kwargs.items() if k in names})
        if callable(grid):
            grid = grid(dict(values))
        grid = tuple(int(g) for g in grid)
        programs = math.prod(grid) if grid else 1
        num_warps = int(kwargs.get("num_warps", 4))
        num_stages = int(kwargs.get("num_stages", 3))
        ordered = [values.get(n) for n in names]
        self._host_built(ordered)
        event = Event("triton", fn.__name__, module=fn.__module__, grid=grid, programs=programs,
                      num_warps=num_warps, num_stages=num_stages,
                      args=[dict(_describe(v), name=n)
                            for n, v in zip(names, ordered, strict=True)])  # fmt: skip
        self.events.append(event)
        if not self.execute or programs == 0:
            return None
        census = _Census(programs, num_warps)
        context = _instrumented(census) if self.do_census else contextlib.nullcontext()
        with _disable_current_modes(), context:
            result = run()
        if self.do_census:
            self._account(event, census, ordered, names, fn)
        return result

    def _account(self, event, census, ordered, names, fn):
        """Traffic per argument: each distinct address loaded (stored) once, given to the
        first argument whose elements span it (arguments may be views of one storage),
        else to the first whose storage holds it."""
        declared = declared_writes(fn)
        spans, storages = [], []
        for i, value in enumerate(ordered):
            if not isinstance(value, torch.Tensor) or value.numel() == 0:
                continue
            start = value.data_ptr()
            last = sum((n - 1) * st for n, st in zip(value.shape, value.stride(), strict=True)
                       if st > 0)  # fmt: skip
            spans.append((i, start, start + (last + 1) * value.element_size()))
            storage = value.untyped_storage()
            storages.append((i, storage.data_ptr(), storage.data_ptr() + storage.nbytes()))
        for accesses, target in ((census.loads, event.arg_read), (census.stores, event.arg_write)):
            if not accesses:
                continue
            element = accesses[0][1]
            addresses = np.unique(np.concatenate([a for a, _ in accesses]))
            for table in (spans, storages):
                for i, start, end in table:
                    inside = (addresses >= start) & (addresses < end)
                    if inside.any():
                        target[i] = target.get(i, 0) + int(inside.sum()) * element
                        addresses = addresses[~inside]
        for i in event.arg_write:
            if declared is None or names[i] not in declared:
                event.undeclared_writes.append(names[i])
        event.read = sum(event.arg_read.values())
        event.write = sum(event.arg_write.values())
        event.census, event.dot_flops = census.per_program(event.programs)

    def __enter__(self):
        from triton.runtime.interpreter import InterpretedFunction

        if self._patch is None:
            original = InterpretedFunction.run
            recorder = self

            def run(kernel, *args, grid, warmup, **kwargs):
                if warmup:
                    return original(kernel, *args, grid=grid, warmup=warmup, **kwargs)
                return recorder.launch(kernel, args, grid, kwargs,
                                       lambda: original(kernel, *args, grid=grid,
                                                        warmup=warmup, **kwargs))  # fmt: skip

            InterpretedFunction.run = run
            self._patch = original
            self._depth = 0
        self._depth += 1
        _ACTIVE.append(self)
        return super().__enter__()

    def __exit__(self, *exc):
        result = super().__exit__(*exc)
        _ACTIVE.pop()
        self._depth -= 1
        if self._depth == 0 and self._patch is not None:
            from triton.runtime.interpreter import InterpretedFunction

            InterpretedFunction.run = self._patch
            self._patch = None
        return result

    def record_modelled(self, name, read, write, chain_cycles):
        """A kernel that cannot run here, modelled: its traffic and its dependent chain
        (see benchmarks/model/baselines.py)."""
        self.events.append(Event("aten", name, read=read, write=write,
                                 chain_cycles=chain_cycles))  # fmt: skip

    # summaries
    def launches(self):
        return [e for e in self.events if e.launch]

    def totals(self) -> dict:
        launched = self.launches()
        return dict(
            read=sum(e.read for e in launched),
            write=sum(e.write for e in launched),
            launches=len(launched),
            triton_launches=sum(e.kind == "triton" for e in launched),
            syncs=len(self.syncs),
            h2d=len(self.h2d),
            peak=self.peak,
        )
