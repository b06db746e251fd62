"""The noise family's transforms: AddNoise, Vol, Fade, Preemphasis, Deemphasis (torchaudio's)
and AdditiveNoise (beyond torchaudio: random SNRs, in-kernel white and colored noise).
"""

import math

import numpy
import torch

from tritaudio import _reference
from tritaudio import functional as F
from tritaudio._checks import check_float_waveform
from tritaudio.functional.noise import _add_noise, _check_coeff, _scale, db_to_factor


class AddNoise(torch.nn.Module):
    """Add noise to a waveform at a signal-to-noise ratio in dB.

    Mirrors ``torchaudio.transforms.AddNoise`` (no constructor arguments); see
    :func:`tritaudio.functional.add_noise`. On the Triton path the energies and the mix are
    Triton kernels, with a Triton backward for waveform, noise and snr.

    Shape:
        ``forward(waveform, noise, snr, lengths=None)``: ``waveform`` and ``noise``
        ``(..., time)`` (leading dims broadcast), ``snr`` ``(...)`` in dB, ``lengths``
        ``(...)`` or None -> ``(..., time)``.
    """

    def forward(
        self,
        waveform: torch.Tensor,
        noise: torch.Tensor,
        snr: torch.Tensor,
        lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return F.add_noise(waveform, noise, snr, lengths)


class Vol(torch.nn.Module):
    """Scale a waveform's volume, then clamp it to [-1, 1].

    Mirrors ``torchaudio.transforms.Vol``.

    Args:
        gain: the gain: a ratio of amplitudes (>= 0) or of powers (> 0), or decibels.
        gain_type: ``"amplitude"``, ``"power"`` or ``"db"``.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    """

    def __init__(self, gain: float, gain_type: str = "amplitude") -> None:
        super().__init__()
        if gain_type not in ("amplitude", "power", "db"):
            raise ValueError(f"gain_type must be 'amplitude', 'power' or 'db', got {gain_type!r}")
        if gain_type == "amplitude" and not gain >= 0:
            raise ValueError(f"an amplitude gain must be >= 0, got {gain}")
        if gain_type == "power" and not gain > 0:
            raise ValueError(f"a power gain must be > 0, got {gain}")
        if not math.isfinite(gain):
            raise ValueError(f"gain must be finite, got {gain}")
        if gain_type == "db":
            db_to_factor(gain, "gain")
        self.gain = gain
        self.gain_type = gain_type

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        check_float_waveform(waveform)
        if self.gain_type == "amplitude":
            waveform = _scale(waveform, self.gain)
        elif self.gain_type == "db":
            waveform = F.gain(waveform, self.gain)
        else:
            waveform = F.gain(waveform, 10 * math.log10(self.gain))
        return torch.clamp(waveform, -1, 1)


FADE_SHAPES = ("linear", "exponential", "logarithmic", "quarter_sine", "half_sine")


class Fade(torch.nn.Module):
    """Fade a waveform in and out.

    Mirrors ``torchaudio.transforms.Fade``, with the curves built on the waveform's device
    (torchaudio built them on the CPU, pytorch/audio #1864) and in its dtype.

    Args:
        fade_in_len: samples of fade-in, >= 0.
        fade_out_len: samples of fade-out, >= 0.
        fade_shape: ``"linear"``, ``"exponential"``, ``"logarithmic"``, ``"quarter_sine"``
            or ``"half_sine"``.

    Shape:
        ``(..., time)`` -> ``(..., time)``; each fade must fit in ``time``.
    """

    def __init__(self, fade_in_len: int = 0, fade_out_len: int = 0, fade_shape: str = "linear"):
        super().__init__()
        if fade_shape not in FADE_SHAPES:
            raise ValueError(f"fade_shape must be one of {FADE_SHAPES}, got {fade_shape!r}")
        for name, value in (("fade_in_len", fade_in_len), ("fade_out_len", fade_out_len)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        self.fade_in_len = fade_in_len
        self.fade_out_len = fade_out_len
        self.fade_shape = fade_shape

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        check_float_waveform(waveform)
        n_time = waveform.shape[-1]
        if max(self.fade_in_len, self.fade_out_len) > n_time:
            raise ValueError(
                f"fades of {self.fade_in_len} and {self.fade_out_len} samples do not fit in "
                f"a waveform of {n_time}"
            )
        fade_in, fade_out = _reference.fade_curves(
            n_time, self.fade_in_len, self.fade_out_len, self.fade_shape,
            waveform.dtype, waveform.device,
        )  # fmt: skip
        return fade_in * fade_out * waveform


class _Emphasis(torch.nn.Module):
    """Preemphasis' and Deemphasis' shared body: a checked ``coeff`` and the filter."""

    _apply = None  # the functional form, set by each subclass

    def __init__(self, coeff: float = 0.97) -> None:
        super().__init__()
        _check_coeff(coeff)
        self.coeff = coeff

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return type(self)._apply(waveform, coeff=self.coeff)


class Preemphasis(_Emphasis):
    """Pre-emphasise a waveform: ``y[t] = x[t] - coeff * x[t - 1]``.

    Mirrors ``torchaudio.transforms.Preemphasis``; see
    :func:`tritaudio.functional.preemphasis`.

    Args:
        coeff: the emphasis coefficient, in [-1, 1]. Default 0.97.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    """

    _apply = staticmethod(F.preemphasis)


class Deemphasis(_Emphasis):
    """Undo pre-emphasis: ``y[t] = x[t] + coeff * y[t - 1]``, clamped to [-1, 1].

    Mirrors ``torchaudio.transforms.Deemphasis``; see
    :func:`tritaudio.functional.deemphasis`.

    Args:
        coeff: the emphasis coefficient, in [-1, 1]. Default 0.97.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    """

    _apply = staticmethod(F.deemphasis)


class AdditiveNoise(torch.nn.Module):
    """Random additive noise for training: a random SNR per example, applied with
    probability ``p``. Beyond torchaudio (whose AddNoise needs the noise and the SNR).

    White noise is generated inside the Triton kernels (never stored, see
    :func:`tritaudio.functional.add_white_noise`); colored noise is white noise shaped in
    the frequency domain (:func:`tritaudio.functional.colored_noise`); a noise bank is
    sampled per example. The result is differentiable with respect to the waveform, and the
    measured SNR of each noisy example is the drawn one.

    Args:
        snr_db: ``(low, high)``: each example's SNR in dB is drawn uniformly from it; or one
            number for all. Default (10, 30).
        color: ``"white"``, ``"pink"``, ``"brown"``, ``"blue"`` or ``"violet"`` (power slope
            0, -3, -6, +3, +6 dB per octave); ignored when ``noise`` is given.
        noise: None, or a bank of noise clips ``(clips, time)`` (or one clip ``(time,)``):
            each example takes a random clip at a random offset, repeated if too short.
        p: probability that an example gets noise; the others are returned unchanged.
        generator: a CPU ``torch.Generator`` for every draw (SNR, selection, clip, noise
            seed), on any device (on a GPU the draws go over in one pinned copy per call).
            Default: the module's own, seeded with ``seed``, else torch's global ones.
        seed: seeds this module's own generators: one on the CPU for CPU input; one on the
            input's GPU for GPU input (the draws stay there: no copy). The same seed gives
            the same sequence of outputs on a given backend and device.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    """

    def __init__(
        self,
        snr_db=(10.0, 30.0),
        color: str = "white",
        noise: torch.Tensor | None = None,
        p: float = 1.0,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        low, high = (snr_db, snr_db) if isinstance(snr_db, (int, float)) else snr_db
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise ValueError(f"snr_db must be a finite number or (low, high), got {snr_db!r}")
        if color not in F.NOISE_COLORS:
            raise ValueError(f"color must be one of {tuple(F.NOISE_COLORS)}, got {color!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        if noise is not None:
            check_float_waveform(noise, "noise")
            if noise.dim() == 0 or noise.numel() == 0:
                raise ValueError(f"the noise bank is empty: shape {tuple(noise.shape)}")
            noise = noise.reshape(-1, noise.shape[-1])
            if not noise.pow(2).sum(-1).gt(0).all():
                raise ValueError("every clip of the noise bank must have some energy")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        if seed is not None and not 0 <= seed < 2**64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
        if generator is not None and generator.device.type != "cpu":
            raise ValueError(f"generator must be a CPU generator, got one on {generator.device}")
        self.seed = seed if generator is None else None  # the module's own generators
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(seed)
        self._device_generators = {}
        self.snr_range = (float(low), float(high))
        self.color = color
        self.p = p
        self.generator = generator
        self.register_buffer("noise", noise, persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        check_float_waveform(waveform)
        batch, n_time = waveform.shape[:-1], waveform.shape[-1]
        if n_time == 0:
            return waveform
        compiling = torch.compiler.is_compiling()
        on_device = waveform.device.type != "cpu" or compiling
        own = self.seed is not None and waveform.device.type != "cpu" and not compiling
        device_generator = self._device_generator(waveform.device) if own else None
        if on_device and (self.generator is None or own):
            snr, seed, choice = self._device_draws(
                math.prod(batch), waveform.device, device_generator
            )
        else:
            snr, seed, choice = self._host_draws(math.prod(batch), waveform.device)
        snr = snr.reshape(batch)
        if self.noise is not None:
            noise = self._sample_bank(choice, batch, n_time).to(waveform.dtype)
            return _add_noise(waveform, noise, snr, None, batch)
        if self.color == "white":
            return F.add_white_noise(waveform, snr, seed)
        if isinstance(seed, int):
            generator = torch.Generator(waveform.device).manual_seed(seed)
        else:  # the device generator that drew the rest (None: torch's global one)
            generator = device_generator
        noise = F.colored_noise(
            waveform.shape, self.color, generator, waveform.device, waveform.dtype
        )
        return _add_noise(waveform, noise, snr, None, batch)

    def _host_draws(self, rows, device):
        """(snr, seed, (clip, offset)) from the CPU generator (``self.generator``, else
        torch's global one), in the order of every earlier release: SNRs, then the
        apply-or-not draws, then a clip and an offset per example or a seed. What the
        device needs goes in one (pinned) host-to-device copy that does not wait; nothing
        is read back (white noise takes its seed as a tensor)."""
        low, high = self.snr_range
        draw = lambda *shape: torch.rand(shape, generator=self.generator, dtype=torch.float64)
        if self.noise is None and self.color == "white":
            # the same draws in two torch ops (one rand of 2 x rows gives the two of rows),
            # the arithmetic on 2 x rows host numbers in numpy: few host dispatches per call
            uniform = draw(2 * rows).numpy()
            drawn = low + (high - low) * uniform[:rows]
            snr = numpy.where(uniform[rows:] < self.p, drawn, math.inf)
            seed = torch.randint(2**31 - 1 - max(rows, 1), (1,), generator=self.generator)
            # the kernels read the seed where it lies: with the SNRs, on the device
            values = torch.from_numpy(numpy.append(snr, seed.numpy().astype(numpy.float64)))
            snr, seed = _to_device(values, device).split(rows)
            return snr, seed, None
        snr = low + (high - low) * draw(rows)
        snr = torch.where(draw(rows) < self.p, snr, math.inf)
        if self.noise is None:
            seed = torch.randint(2**31 - 1 - max(rows, 1), (1,), generator=self.generator)
            # seeds the device generator that shapes the colored noise
            return _to_device(snr, device), int(seed), None
        clips, clip_time = self.noise.shape
        clip = torch.randint(clips, (rows,), generator=self.generator)
        offset = torch.randint(clip_time, (rows,), generator=self.generator)
        # float64 holds the clip indices and offsets exactly (the bank is < 2**53 long)
        snr, clip, offset = _to_device(torch.cat([snr, clip, offset]), device).split(rows)
        return snr, None, (clip.long(), offset.long())

    def _device_generator(self, device):
        """The module's own generator on ``device``, seeded with ``seed`` at first use;
        None on a device that has none (meta: torch's default)."""
        if device not in self._device_generators:
            try:
                generator = torch.Generator(device).manual_seed(self.seed)
            except RuntimeError:
                generator = None
            self._device_generators[device] = generator
        return self._device_generators[device]

    def _device_draws(self, rows, device, generator=None):
        """(snr, seed, (clip, offset)) from ``generator`` on ``device`` (None: torch's global
        one): no host read, no copy (what a module without a CPU generator does on a GPU,
        and an unseeded one under torch.compile)."""
        low, high = self.snr_range
        options = dict(device=device, generator=generator)
        snr = torch.empty(rows, device=device).uniform_(low, high, generator=generator)
        if self.p < 1.0:  # (p = 1: every example gets noise, no draw and no op for it)
            snr = torch.where(torch.rand(rows, **options) < self.p, snr, math.inf)
        if self.noise is None:
            seed = torch.randint(2**31 - 1 - max(rows, 1), (1,), **options)
            return snr, seed, None
        clips, clip_time = self.noise.shape
        clip = torch.randint(clips, (rows,), **options)
        return snr, None, (clip, torch.randint(clip_time, (rows,), **options))

    def _sample_bank(self, choice, batch, n_time):
        """A clip per example from the bank, at a random offset, repeated to ``n_time``."""
        clip_time = self.noise.shape[1]
        index, offset = (part.to(self.noise.device) for part in choice)
        positions = (offset[:, None] + torch.arange(n_time, device=self.noise.device)) % clip_time
        return self.noise[index[:, None], positions].reshape(*batch, n_time)


def _to_device(values, device):
    """A CPU tensor on ``device``: for a GPU through pinned memory, without waiting."""
    if device.type != "cuda":
        return values.to(device)
    return values.pin_memory().to(device, non_blocking=True)
