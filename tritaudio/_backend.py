"""Which implementation an op runs: the Triton kernels or the torch reference.

The choice is made in one place, :func:`backend_for`, which ``functional`` calls.
``TRITAUDIO_BACKEND`` (read at call time) and :func:`use_backend` (a context manager
that wins over the variable) select ``"auto"``, ``"triton"`` or ``"torch"``.
"""

import contextlib
import contextvars
import os

BACKENDS = ("auto", "triton", "torch")

# The use_backend blocks in force, innermost last. Each block removes its own entry when it
# ends (rather than resetting the variable to what it was when the block began), so that
# blocks ending out of order, as a generator's block does when the generator is closed
# inside a later block of its caller, leave the others as they were.
_forced = contextvars.ContextVar("tritaudio_backend", default=())


def _check_name(name):
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    return name


def _constant_under_torch_compile(fn):
    """torch.compiler.assume_constant_result without its import of torch._dynamo (and of
    triton with it) at ``import tritaudio``: the same marker, set here. torch.compile cannot
    trace ContextVar.get or an import probe; it takes their result at trace time instead (a
    compiled function keeps the backend it was compiled with).
    tests/test_backend.py checks that torch.compile still honours the marker."""
    fn._dynamo_marked_constant = True
    return fn


@_constant_under_torch_compile
def get_backend():
    """The backend in force: the innermost :func:`use_backend`, else ``TRITAUDIO_BACKEND``,
    else ``"auto"``."""
    forced = _forced.get()
    if forced:
        return forced[-1].name
    name = os.environ.get("TRITAUDIO_BACKEND", "").strip().lower() or "auto"
    if name not in BACKENDS:
        raise ValueError(f"TRITAUDIO_BACKEND must be one of {BACKENDS}, got {name!r}")
    return name


class _Block:
    """One use_backend block's entry (compared by identity)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


@contextlib.contextmanager
def use_backend(name):
    """Force a backend inside a ``with`` block (thread- and task-local).

    The block lasts from its start to its end in the thread or task that runs it: a
    generator that yields inside the block (a pytest fixture, a ``@contextmanager``) keeps
    its backend in force for its caller between the yields, until it ends or is closed.
    This is how Python context variables work, and what a fixture that picks the backend
    for a test relies on. To keep a backend to a generator's own steps, enter the block
    around each step instead of around the ``yield``.

    Example:
        >>> import torch, tritaudio
        >>> with tritaudio.use_backend("torch"):
        ...     tritaudio.get_backend()
        'torch'
    """
    block = _Block(_check_name(name))
    _forced.set((*_forced.get(), block))
    try:
        yield
    finally:
        _forced.set(tuple(entry for entry in _forced.get() if entry is not block))


@_constant_under_torch_compile
def triton_available():
    """Whether the Triton kernels can be imported (triton installed)."""
    try:
        from tritaudio import _ops  # noqa: F401
    except ImportError:
        return False
    return True


def backend_for(*tensors):
    """``"triton"`` or ``"torch"``: the implementation to run on ``tensors``.

    auto: Triton for CUDA tensors (when triton is installed), the torch reference otherwise.
    triton: Triton always; CPU tensors need ``TRITON_INTERPRET=1`` set before tritaudio's
    kernels were imported, and get a clear error otherwise.
    """
    name = get_backend()
    on_cuda = any(t.is_cuda for t in tensors)
    if name == "torch":
        return "torch"
    if name == "auto":
        return "triton" if on_cuda and triton_available() else "torch"
    try:
        from tritaudio import _ops
    except ImportError as err:
        raise RuntimeError(
            "TRITAUDIO_BACKEND=triton (or use_backend('triton')) needs triton, which failed "
            f"to import: {err}"
        ) from err
    if not on_cuda and not _ops.INTERPRETED:
        raise RuntimeError(
            "the triton backend was forced on CPU tensors, but the Triton kernels were "
            "compiled for a GPU. Set TRITON_INTERPRET=1 before importing tritaudio to run "
            "them on the CPU with Triton's interpreter, or move the tensors to CUDA, or use "
            "the 'torch' / 'auto' backend."
        )
    return "triton"
