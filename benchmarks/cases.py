"""What a benchmark runs.

A :class:`Case` is one op and its implementations (tritaudio's Triton path, tritaudio's
torch reference, torchaudio, ...); a :class:`Size` is a batch of clips; a
:class:`Workload` is one case, implementation and mode at one size on one device, with
its inputs allocated and rotated, ready to be called by a timer (the runner's or
pytest-benchmark's).
"""

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping

import torch

import tritaudio

FORWARD = "forward"
FORWARD_BACKWARD = "forward+backward"
MODES = (FORWARD, FORWARD_BACKWARD)

TRITON, REFERENCE, TORCHAUDIO = "tritaudio-triton", "tritaudio-torch", "torchaudio"

# On a CPU the Triton path runs under Triton's interpreter, thousands of times slower than
# compiled code: it is timed only up to this much audio per call (batch x seconds: the
# tiny grid's 2 x 0.25 s).
INTERPRETER_MAX_SECONDS = 0.5


class Unavailable(Exception):
    """An implementation that cannot run here (not installed, not on this device, ...)."""


@dataclasses.dataclass(frozen=True)
class Size:
    """``batch`` clips of ``seconds`` at ``sample_rate`` (I/O cases: one file, ``clip``)."""

    batch: int
    seconds: float
    sample_rate: int
    clip: str | None = None

    @property
    def samples(self) -> int:
        """Samples per clip."""
        return round(self.seconds * self.sample_rate)

    def label(self) -> str:
        if self.clip is not None:
            return self.clip
        return f"{self.batch} x {self.seconds:g} s @ {self.sample_rate / 1000:g} kHz"

    def as_dict(self) -> dict:
        fields = dataclasses.asdict(self)
        return fields if self.clip is not None else {k: v for k, v in fields.items() if k != "clip"}

    @classmethod
    def from_dict(cls, fields: Mapping) -> "Size":
        return cls(**fields)


def waveform(size: Size, device) -> tuple:
    """The default input: white noise ``(batch, samples)`` in float32."""
    return (torch.randn(size.batch, size.samples, device=device),)


def read_write_bytes(inputs: tuple, output, grads: tuple) -> int:
    """The lower bound on memory traffic behind GB/s: every input tensor read once and the
    output written once; with a backward pass also the output's gradient read once and
    each input gradient written once. Anything an implementation moves beyond that
    (padding copies, intermediate spectra) counts against its GB/s."""
    tensors = [t for t in (*inputs, output, *grads) if isinstance(t, torch.Tensor)]
    moved = sum(t.numel() * t.element_size() for t in tensors)
    if grads:
        moved += output.numel() * output.element_size()
    return moved


@dataclasses.dataclass(frozen=True)
class Case:
    """One op of a family and how to run it.

    Attributes:
        family: the op family ("spectral", "resample", ...), one results table each.
        name: what is timed, e.g. "MelSpectrogram" or "resample 44.1->16 kHz".
        implementations: name -> builder ``(size, device) -> op``; ``op(*inputs)`` returns
            one tensor. A builder raises :class:`Unavailable` when it cannot run here.
        make_inputs: ``(size, device) -> tuple`` of the op's arguments.
        differentiable: also timed forward + backward.
        grad_inputs: which of the inputs the backward differentiates with respect to.
        sample_rate: the case's own input rate (it replaces the size's), or None.
        headline: the size pytest-benchmark times on a GPU, and the size targets name.
        sizes: the case's own sizes, replacing the run's grid (file I/O: the clips).
        headline_only: timed at its headline size only (on a grid without headlines, at
            the grid's first size): for variants of a case that the grid already covers.
        device: "cpu" for cases that only run on the CPU (file I/O), else None (the run's).
        ours, baseline: the speed-up reported is time(baseline) / time(ours).
        bytes_moved: ``(inputs, output, grads) -> bytes`` for GB/s, or None when GB/s
            would mean nothing next to the device's copy bandwidth (file I/O).
    """

    family: str
    name: str
    implementations: Mapping[str, Callable]
    make_inputs: Callable = waveform
    differentiable: bool = True
    grad_inputs: tuple = (0,)
    sample_rate: int | None = None
    headline: Size = Size(32, 10, 16000)
    sizes: tuple | None = None
    headline_only: bool = False
    device: str | None = None
    ours: str = TRITON
    baseline: str = TORCHAUDIO
    bytes_moved: Callable | None = read_write_bytes

    @property
    def modes(self) -> tuple:
        return MODES if self.differentiable else (FORWARD,)

    def sized(self, size: Size) -> Size:
        """``size`` at this case's own sample rate, if it has one."""
        if self.sample_rate is None or size.clip is not None:
            return size
        return dataclasses.replace(size, sample_rate=self.sample_rate)


def import_torchaudio():
    """torchaudio, or :class:`Unavailable` when it cannot be imported."""
    try:
        import torchaudio
    except Exception as err:  # an ImportError, or a torch/torchaudio version clash
        raise Unavailable(f"torchaudio not importable ({type(err).__name__}: {err})") from None
    return torchaudio


def on_backend(backend: str, op: Callable) -> Callable:
    """``op`` run with tritaudio's backend forced to ``backend`` ("triton" or "torch")."""

    def run(*inputs):
        with tritaudio.use_backend(backend):
            return op(*inputs)

    return run


def tritaudio_and_torchaudio(build: Callable, build_torchaudio: Callable | None = None) -> dict:
    """The three implementations of a tensor op. ``build(library, size, device)`` returns
    the op written against ``library``, which is ``tritaudio`` (run on each backend) or
    ``torchaudio``: tritaudio has torchaudio's names, so one builder serves both, unless
    torchaudio needs its own (``build_torchaudio``, same signature)."""
    build_torchaudio = build_torchaudio or build
    return {
        TRITON: lambda size, device: on_backend("triton", build(tritaudio, size, device)),
        REFERENCE: lambda size, device: on_backend("torch", build(tritaudio, size, device)),
        TORCHAUDIO: lambda size, device: build_torchaudio(import_torchaudio(), size, device),
    }


def _bytes(inputs: tuple) -> int:
    return sum(t.numel() * t.element_size() for t in inputs if isinstance(t, torch.Tensor))


@dataclasses.dataclass
class Workload:
    """One case, implementation and mode at one size, ready to run: each call runs the op
    (and its backward) once on the next of ``len(input_sets)`` distinct input sets, so
    the inputs are not all sitting in cache. Calls are asynchronous on a GPU."""

    case: Case
    impl: str
    mode: str
    size: Size
    device: torch.device
    op: Callable
    input_sets: list
    grad_output: torch.Tensor | None
    bytes_moved: int | None
    memory_base: int | None
    first_call_peak: int | None
    _next: itertools.cycle = dataclasses.field(init=False, repr=False)

    def __post_init__(self):
        self._next = itertools.cycle(self.input_sets)

    def __call__(self):
        inputs = next(self._next)
        output = self.op(*inputs)
        if self.grad_output is None:
            return output
        wrt = [inputs[i] for i in self.case.grad_inputs]
        return torch.autograd.grad(output, wrt, self.grad_output)

    def synchronize(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def prepare(
    case: Case, impl: str, mode: str, size: Size, device, rotate_bytes: int = 128 * 2**20
) -> Workload:
    """Build the op, allocate the rotated inputs and run the op once (a check that it
    runs here, and the output shape for the backward's gradient).

    ``rotate_bytes``: the inputs are copied until their sets add up to this much (enough
    to exceed the L2 cache of a GPU), at most 16 sets and at most a quarter of the free
    GPU memory.

    ``memory_base`` (GPU): the bytes allocated before the op was built, plus its inputs
    and output gradient; peak memory is counted above it, so it includes what the op
    keeps (filter tables, windows: torchaudio builds some on the first call) and what a
    call allocates, its output included. ``first_call_peak``: that peak over building the
    op and its first call (where lazily built tables have their transients).

    Raises:
        Unavailable: the implementation cannot run here, or this size is too large for
            Triton's interpreter.
    """
    device = torch.device(case.device or device)
    size = case.sized(size)
    if mode not in case.modes:
        raise ValueError(f"{case.name} is not timed {mode}")
    if impl not in case.implementations:
        raise ValueError(f"{case.name} has no implementation {impl!r}")
    interpreted = impl == TRITON and device.type == "cpu"
    if interpreted and size.batch * size.seconds > INTERPRETER_MAX_SECONDS:
        raise Unavailable("Triton on a CPU runs under the interpreter: timed at tiny sizes only")
    before = None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    op = case.implementations[impl](size, device)
    first = case.make_inputs(size, device)
    per_set = max(_bytes(first), 1)
    budget = rotate_bytes
    if device.type == "cuda":
        budget = min(budget, torch.cuda.mem_get_info(device)[0] // 4)
    input_sets = [first] + [
        tuple(t.clone() if isinstance(t, torch.Tensor) else t for t in first)
        for _ in range(min(16, max(1, math.ceil(budget / per_set))) - 1)
    ]
    backward = mode == FORWARD_BACKWARD
    if backward:
        for inputs in input_sets:
            for i in case.grad_inputs:
                inputs[i].requires_grad_(True)
    output = op(*input_sets[0])
    grad_output = torch.randn_like(output) if backward else None
    grads = ()
    if backward:
        grads = torch.autograd.grad(output, [input_sets[0][i] for i in case.grad_inputs],
                                    grad_output)  # fmt: skip
    moved = None if case.bytes_moved is None else case.bytes_moved(first, output, grads)
    base = first_peak = None
    if before is not None:
        torch.cuda.synchronize(device)
        harness = [*input_sets, (grad_output,)]
        base = before + sum(_bytes(inputs) for inputs in harness)
        first_peak = torch.cuda.max_memory_allocated(device) - base
    workload = (case, impl, mode, size, device, op, input_sets, grad_output, moved)
    return Workload(*workload, base, first_peak)
