"""Plain-torch filtering: the CPU fallback and the test oracle of the filtering kernels.

Every function here takes checked arguments (see ``tritaudio.functional.filtering``).
"""

import math

import torch
import torch.nn.functional as F

CHUNK = 64  # samples per block of the IIR recurrence below


def _responses(a, length):
    """The impulse response h (filters, length) of 1 / A(z) and the responses G (filters,
    length, order) to the initial states e_m (y[-1 - m] = 1, zero input)."""
    filters, n = a.shape
    order = n - 1
    # system 0: impulse input; system 1 + m: initial state e_m
    history = torch.cat(
        [torch.zeros(filters, 1, order, dtype=a.dtype, device=a.device),
         torch.eye(order, dtype=a.dtype, device=a.device).expand(filters, order, order)],
        dim=1,
    )  # fmt: skip
    impulse = torch.zeros(1, order + 1, dtype=a.dtype, device=a.device)
    impulse[0, 0] = 1
    outputs = []
    for j in range(length):
        y = (impulse if j == 0 else 0) - (history * a[:, None, 1:]).sum(-1)
        outputs.append(y)
        history = torch.cat([y[..., None], history[..., :-1]], dim=-1)
    responses = torch.stack(outputs, dim=1)  # (filters, length, 1 + order)
    return responses[..., 0], responses[..., 1:]


def lfilter(x, a, b):
    """torchaudio.functional.lfilter's difference equation, unclamped: (rows, time) ``x``,
    row r by filter r % filters of normalised (filters, order + 1) ``a`` and ``b`` (same
    dtype as x).

    Blocks of CHUNK samples: inside a block the output is the block's input convolved with
    the impulse response (a lower-triangular Toeplitz matrix) plus the responses to the
    state the block before left; differentiable in x, a and b through torch's autograd.
    """
    rows, n_time = x.shape
    filters, n = a.shape
    order = n - 1
    if rows == 0 or n_time == 0:
        return x.clone()
    grouped = x.reshape(rows // filters, filters, n_time)
    u = F.conv1d(F.pad(grouped, (b.shape[1] - 1, 0)), b.flip(1).unsqueeze(1), groups=filters)
    if order == 0:
        return u.reshape(rows, n_time)
    length = max(CHUNK, order)
    h, states = _responses(a, length)
    lags = torch.arange(length, device=x.device)
    lags = lags[:, None] - lags[None, :]
    toeplitz = torch.where(lags >= 0, h[:, lags.clamp(min=0)], 0.0)  # (filters, j, i)
    state = grouped.new_zeros(rows // filters, filters, order)
    blocks = []
    for start in range(0, n_time, length):
        block = u[..., start : start + length]
        size = block.shape[-1]
        y = torch.einsum("bfi,fji->bfj", block, toeplitz[:, :size, :size])
        y = y + torch.einsum("bfm,fjm->bfj", state, states[:, :size])
        if size == length:
            state = y[..., length - order :].flip(-1)
        blocks.append(y)
    return torch.cat(blocks, dim=-1).reshape(rows, n_time)


def convolve_mode(full, x_length, y_length, mode):
    """torchaudio's slice of the full convolution for ``mode``."""
    if mode == "full":
        return full
    target = max(x_length, y_length) - min(x_length, y_length) + 1 if mode == "valid" else x_length
    start = (full.shape[-1] - target) // 2
    return full[..., start : start + target]


def convolve(x, y):
    """The full convolution of broadcast (rows, n) ``x`` and (rows, m) ``y``."""
    rows, n = x.shape
    m = y.shape[1]
    full = F.conv1d(x.unsqueeze(0), y.flip(-1).unsqueeze(1), groups=rows, padding=m - 1)
    return full.squeeze(0)[:, : n + m - 1]


def fftconvolve(x, y):
    """The full convolution of ``x`` (..., n) and ``y`` (..., m) through real FFTs."""
    n = x.shape[-1] + y.shape[-1] - 1
    return torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(y, n=n), n=n)


def delta_kernel(n, dtype, device):
    """compute_deltas' taps (-n .. n) / (n (n + 1) (2 n + 1) / 3)."""
    return torch.arange(-n, n + 1, dtype=dtype, device=device) / (n * (n + 1) * (2 * n + 1) / 3)


def compute_deltas(x, n, mode):
    """Deltas of (rows, time) ``x`` over +-n frames, the edges padded by ``mode``."""
    padded = F.pad(x.unsqueeze(0), (n, n), mode=mode).squeeze(0)
    kernel = delta_kernel(n, x.dtype, x.device)
    return F.conv1d(padded.unsqueeze(1), kernel.view(1, 1, -1)).squeeze(1)


def shelf(A, w0, alpha, low):
    """The cookbook's low (bass) or high (treble) shelf, (b0, b1, b2, a0, a1, a2)."""
    root = 2 * torch.sqrt(A) * alpha if isinstance(A, torch.Tensor) else 2 * math.sqrt(A) * alpha
    cos = torch.cos(w0) if isinstance(w0, torch.Tensor) else math.cos(w0)
    minus, plus = (A - 1) * cos, (A + 1) * cos
    sign = -1 if low else 1
    b0 = A * ((A + 1) + sign * minus + root)
    b1 = -2 * sign * A * ((A - 1) + sign * plus)
    b2 = A * ((A + 1) + sign * minus - root)
    a0 = (A + 1) - sign * minus + root
    a1 = 2 * sign * ((A - 1) - sign * plus)
    a2 = (A + 1) - sign * minus - root
    return b0, b1, b2, a0, a1, a2


DEEMPHASIS = {44100: (5283, 0.4845, -9.477), 48000: (5356, 0.479, -9.62)}


def deemphasis_shelf(sample_rate):
    """deemph_biquad's (b0, b1, b2, a0, a1, a2): SoX's ISO 908 high shelf, in float64."""
    central_freq, width_slope, gain = DEEMPHASIS[sample_rate]
    w0 = 2 * math.pi * central_freq / sample_rate
    A = math.exp(gain / 40.0 * math.log(10))
    alpha = math.sin(w0) / 2 * math.sqrt((A + 1 / A) * (1 / width_slope - 1) + 2)
    return shelf(A, w0, alpha, low=False)


# zeros and poles of the RIAA playback curve per rate (SoX's table)
RIAA = {
    44100: ((-0.2014898, 0.9233820), (0.7083149, 0.9924091)),
    48000: ((-0.1766069, 0.9321590), (0.7396325, 0.9931330)),
    88200: ((-0.1168735, 0.9648312), (0.8590646, 0.9964002)),
    96000: ((-0.1141486, 0.9676817), (0.8699137, 0.9966946)),
}


def riaa_coefficients(sample_rate):
    """riaa_biquad's (b0, b1, b2, a0, a1, a2): SoX's zeros and poles, 0 dB at 1 kHz."""
    (z0, z1), (p0, p1) = RIAA[sample_rate]
    b = [1.0, -(z0 + z1), z0 * z1]
    a = [1.0, -(p0 + p1), p0 * p1]
    y = 2 * math.pi * 1000 / sample_rate

    def response(c):  # real and imaginary parts of c(e^{-iy})
        re = c[0] + c[1] * math.cos(-y) + c[2] * math.cos(-2 * y)
        return re, c[1] * math.sin(-y) + c[2] * math.sin(-2 * y)

    (b_re, b_im), (a_re, a_im) = response(b), response(a)
    g = 1 / math.sqrt((b_re**2 + b_im**2) / (a_re**2 + a_im**2))
    return b[0] * g, b[1] * g, b[2] * g, *a
