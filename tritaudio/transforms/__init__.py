"""nn.Modules with torchaudio.transforms' names and constructor signatures.

Each module checks its configuration once, keeps what it can precompute as buffers (they
follow ``.to(device, dtype)``), and calls ``tritaudio.functional``.
"""

import math
import warnings

import torch

from tritaudio import _reference
from tritaudio import functional as F


class Resample(torch.nn.Module):
    """Resample a waveform from one rate to another.

    Mirrors ``torchaudio.transforms.Resample``; see :func:`tritaudio.functional.resample`.

    Args:
        orig_freq, new_freq: rates in Hz, positive integers.
        resampling_method: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"``.
        lowpass_filter_width: zero crossings of the sinc on each side.
        rolloff: cut-off as a fraction of the lower Nyquist frequency, in (0, 1].
        beta: the Kaiser window's shape (default 14.769656459379492).
        dtype: precision of the filter table kept for the torch path (default float32;
            computed in float64 either way). The Triton kernels compute taps on the fly.

    Shape:
        ``(..., time)`` -> ``(..., ceil(new_freq * time / orig_freq))`` (gcd-reduced rates).

    The filter table is not part of the state dict (torchaudio's ``kernel`` has another
    layout); a torchaudio checkpoint's ``kernel`` entry is ignored when loading.
    """

    def __init__(
        self,
        orig_freq: int = 16000,
        new_freq: int = 16000,
        resampling_method: str = "sinc_interp_hann",
        lowpass_filter_width: int = 6,
        rolloff: float = 0.99,
        beta: float | None = None,
        *,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.orig_freq = orig_freq
        self.new_freq = new_freq
        self.resampling_method = resampling_method
        self.lowpass_filter_width = lowpass_filter_width
        self.rolloff = rolloff
        self.beta = beta
        self.filter = F.resample_filter(
            orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta
        )
        if self.filter is not None:
            taps, first = _reference.resample_taps(*self.filter)
            self.register_buffer("kernel", taps.to(dtype or torch.float32), persistent=False)
            self.register_buffer("first_input", first, persistent=False)
        self._register_load_state_dict_pre_hook(_drop_torchaudio_kernel)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        F._check_float_waveform(waveform)
        if self.filter is None:
            return waveform
        return F.apply_resample_filter(waveform, self.filter, taps=(self.kernel, self.first_input))


def _drop_torchaudio_kernel(state_dict, prefix, *args):
    state_dict.pop(prefix + "kernel", None)


class Speed(torch.nn.Module):
    """Change the speed of a waveform (its pitch changes with it).

    Mirrors ``torchaudio.transforms.Speed``; see :func:`tritaudio.functional.speed`.

    Args:
        orig_freq: the waveform's rate in Hz.
        factor: speed factor, > 0.

    Shape:
        ``(..., time)`` and optional lengths ``(...)`` -> ``((..., new_time), (...) or None)``.
    """

    def __init__(self, orig_freq: int, factor: float) -> None:
        super().__init__()
        self.orig_freq = orig_freq
        self.factor = factor
        self.source_sample_rate, self.target_sample_rate = F.speed_rates(orig_freq, factor)
        self.resampler = Resample(self.source_sample_rate, self.target_sample_rate)

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if lengths is not None:
            scale = self.target_sample_rate / self.source_sample_rate
            lengths = torch.ceil(lengths * scale).to(lengths.dtype)
        return self.resampler(waveform), lengths


class SpeedPerturbation(torch.nn.Module):
    """Apply a speed factor drawn uniformly from ``factors`` (one per call).

    Mirrors ``torchaudio.transforms.SpeedPerturbation``: the draw uses torch's global
    generator, ``torch.randint(len(factors), ())``.

    Args:
        orig_freq: the waveform's rate in Hz.
        factors: the speed factors to choose from.

    Shape:
        as :class:`Speed`.
    """

    def __init__(self, orig_freq: int, factors) -> None:
        super().__init__()
        if len(factors) == 0:
            raise ValueError("factors must hold at least one speed factor")
        self.speeders = torch.nn.ModuleList(Speed(orig_freq, factor) for factor in factors)

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = int(torch.randint(len(self.speeders), ()))
        return self.speeders[index](waveform, lengths)


class AddNoise(torch.nn.Module):
    """Add noise at a signal-to-noise ratio in dB.

    Mirrors ``torchaudio.transforms.AddNoise``; see :func:`tritaudio.functional.add_noise`.

    Shape:
        ``forward(waveform (..., time), noise (..., time), snr (...), lengths (...) or None)``
        -> ``(..., time)``.
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
        self.gain = gain
        self.gain_type = gain_type

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        F._check_float_waveform(waveform)
        if self.gain_type == "amplitude":
            waveform = F.scale(waveform, self.gain)
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
        F._check_float_waveform(waveform)
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


class Preemphasis(torch.nn.Module):
    """Mirrors ``torchaudio.transforms.Preemphasis``; see
    :func:`tritaudio.functional.preemphasis`. Shape: ``(..., time)`` -> ``(..., time)``."""

    def __init__(self, coeff: float = 0.97) -> None:
        super().__init__()
        F._check_coeff(coeff)
        self.coeff = coeff

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return F.preemphasis(waveform, coeff=self.coeff)


class Deemphasis(torch.nn.Module):
    """Mirrors ``torchaudio.transforms.Deemphasis``; see
    :func:`tritaudio.functional.deemphasis`. Shape: ``(..., time)`` -> ``(..., time)``."""

    def __init__(self, coeff: float = 0.97) -> None:
        super().__init__()
        F._check_coeff(coeff)
        self.coeff = coeff

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return F.deemphasis(waveform, coeff=self.coeff)


class _AxisMasking(torch.nn.Module):
    """Masks along frequency (axis 1 of a 3-D input) or time (axis 2)."""

    def __init__(self, mask_param: int, axis: int, iid_masks: bool, p: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.mask_param = mask_param
        self.axis = axis
        self.iid_masks = iid_masks
        self.p = p

    def forward(self, specgram: torch.Tensor, mask_value: float = 0.0) -> torch.Tensor:
        axis = self.axis + specgram.dim() - 3
        mask = F.mask_along_axis_iid if self.iid_masks else F.mask_along_axis
        return mask(specgram, self.mask_param, mask_value, axis, p=self.p)


class FrequencyMasking(_AxisMasking):
    """Mask a random band of frequencies (SpecAugment).

    Mirrors ``torchaudio.transforms.FrequencyMasking``; see
    :func:`tritaudio.functional.mask_along_axis`.

    Args:
        freq_mask_param: the band's width is drawn from ``[0, freq_mask_param)``.
        iid_masks: one band per example (input of 3 dims or more) instead of one for all.

    Shape:
        ``(..., freq, time)`` -> ``(..., freq, time)``; ``forward(specgram, mask_value=0.0)``.
    """

    def __init__(self, freq_mask_param: int, iid_masks: bool = False) -> None:
        super().__init__(freq_mask_param, 1, iid_masks)


class TimeMasking(_AxisMasking):
    """Mask a random span of time steps (SpecAugment).

    Mirrors ``torchaudio.transforms.TimeMasking``.

    Args:
        time_mask_param: the span's length is drawn from ``[0, time_mask_param)``.
        iid_masks: one span per example (input of 3 dims or more) instead of one for all.
        p: at most this fraction of the time steps is masked, in [0, 1].

    Shape:
        ``(..., freq, time)`` -> ``(..., freq, time)``; ``forward(specgram, mask_value=0.0)``.
    """

    def __init__(self, time_mask_param: int, iid_masks: bool = False, p: float = 1.0) -> None:
        super().__init__(time_mask_param, 2, iid_masks, p=p)


class SpecAugment(torch.nn.Module):
    """Time masks, then frequency masks, as torchaudio applies them.

    Mirrors ``torchaudio.transforms.SpecAugment``.

    Args:
        n_time_masks, time_mask_param: how many time masks, and their longest length.
        n_freq_masks, freq_mask_param: how many frequency masks, and their widest width.
        iid_masks: masks per example for inputs of 3 dims or more.
        p: at most this fraction of an axis is masked by one mask.
        zero_masking: fill with 0 instead of the spectrogram's mean.

    Shape:
        ``(..., freq, time)`` -> ``(..., freq, time)``.
    """

    def __init__(
        self,
        n_time_masks: int,
        time_mask_param: int,
        n_freq_masks: int,
        freq_mask_param: int,
        iid_masks: bool = True,
        p: float = 1.0,
        zero_masking: bool = False,
    ) -> None:
        super().__init__()
        self.n_time_masks = n_time_masks
        self.time_mask_param = time_mask_param
        self.n_freq_masks = n_freq_masks
        self.freq_mask_param = freq_mask_param
        self.iid_masks = iid_masks
        self.p = p
        self.zero_masking = zero_masking

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        mask_value = 0.0 if self.zero_masking else specgram.mean()
        time_dim = specgram.dim() - 1
        iid = specgram.dim() > 2 and self.iid_masks
        mask = F.mask_along_axis_iid if iid else F.mask_along_axis
        for _ in range(self.n_time_masks):
            specgram = mask(specgram, self.time_mask_param, mask_value, time_dim, p=self.p)
        for _ in range(self.n_freq_masks):
            specgram = mask(specgram, self.freq_mask_param, mask_value, time_dim - 1, p=self.p)
        return specgram


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
            seed). Default: one seeded with ``seed``, else torch's global generator.
        seed: seeds this module's own generator: the same seed gives the same sequence of
            outputs (on a given backend).

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
            F._check_float_waveform(noise, "noise")
            noise = noise.reshape(-1, noise.shape[-1])
            if noise.shape[-1] == 0 or noise.shape[0] == 0:
                raise ValueError(f"the noise bank is empty: shape {tuple(noise.shape)}")
            if not noise.pow(2).sum(-1).gt(0).all():
                raise ValueError("every clip of the noise bank must have some energy")
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(seed)
        self.snr_range = (float(low), float(high))
        self.color = color
        self.p = p
        self.generator = generator
        self.register_buffer("noise", noise, persistent=False)

    def _draw(self, *shape, high=None):
        if high is not None:
            return torch.randint(high, shape, generator=self.generator)
        return torch.rand(shape, generator=self.generator, dtype=torch.float64)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        F._check_float_waveform(waveform)
        batch, n_time = waveform.shape[:-1], waveform.shape[-1]
        low, high = self.snr_range
        snr = low + (high - low) * self._draw(*batch)
        snr = torch.where(self._draw(*batch) < self.p, snr, math.inf)
        snr = snr.to(waveform.device, torch.float32)
        if n_time == 0:
            return waveform
        if self.noise is not None:
            noise = self._sample_bank(batch, n_time).to(waveform.dtype)
            return F._add_noise(waveform, noise, snr, None, batch)
        seed = int(self._draw(1, high=2**31 - 1 - max(math.prod(batch), 1)))
        if self.color == "white":
            return F.add_white_noise(waveform, snr, seed)
        device_generator = torch.Generator(waveform.device).manual_seed(seed)
        noise = F.colored_noise(
            waveform.shape, self.color, device_generator, waveform.device, waveform.dtype
        )
        return F._add_noise(waveform, noise, snr, None, batch)

    def _sample_bank(self, batch, n_time):
        """A clip per example from the bank, at a random offset, repeated to ``n_time``."""
        clips, clip_time = self.noise.shape
        rows = math.prod(batch)
        index = self._draw(rows, high=clips).to(self.noise.device)
        offset = self._draw(rows, high=clip_time).to(self.noise.device)
        positions = (offset[:, None] + torch.arange(n_time, device=self.noise.device)) % clip_time
        return self.noise[index[:, None], positions].reshape(*batch, n_time)


def _init_stft(module, n_fft, win_length, hop_length, window_fn, wkwargs):
    """torchaudio's STFT defaults on ``module``: win_length = n_fft, hop_length =
    win_length // 2, and the window as a buffer."""
    module.n_fft = n_fft
    module.win_length = win_length if win_length is not None else n_fft
    module.hop_length = hop_length if hop_length is not None else module.win_length // 2
    F._check_stft_args(n_fft, module.hop_length, module.win_length, None)
    kwargs = wkwargs or {}
    module.register_buffer("window", window_fn(module.win_length, **kwargs))


class Spectrogram(torch.nn.Module):
    """Spectrogram of a waveform.

    Mirrors ``torchaudio.transforms.Spectrogram``; see
    :func:`tritaudio.functional.spectrogram` for the arguments. ``win_length`` defaults to
    ``n_fft``, ``hop_length`` to ``win_length // 2``; the window is a buffer.

    Shape:
        ``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)`` (``n_fft`` if not onesided).
    """

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn=torch.hann_window,
        power: float | None = 2.0,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
        return_complex: bool | None = None,
    ) -> None:
        super().__init__()
        _init_stft(self, n_fft, win_length, hop_length, window_fn, wkwargs)
        _reference.spectrogram_norms(normalized)
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.center = center
        self.pad_mode = pad_mode
        self.onesided = onesided

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return F.spectrogram(
            waveform, self.pad, self.window, self.n_fft, self.hop_length, self.win_length,
            self.power, self.normalized, self.center, self.pad_mode, self.onesided,
        )  # fmt: skip

    def project(
        self, waveform: torch.Tensor, fb: torch.Tensor, log: F.LogScale | None = None
    ) -> torch.Tensor:
        """This spectrogram projected on ``fb`` ``(freq, n)``, then ``log``:
        ``(..., time)`` -> ``(..., n, frames)``, one fused kernel after the FFT on the
        Triton path (see :func:`tritaudio.functional.mel_spectrogram`)."""
        if self.power is None or not self.onesided:  # torchaudio's matmul, whatever it gives
            projected = torch.matmul(self(waveform).transpose(-1, -2), fb).transpose(-1, -2)
            return projected if log is None else log(projected)
        return F.mel_spectrogram(
            waveform, fb, self.pad, self.window, self.n_fft, self.hop_length, self.win_length,
            self.power, self.normalized, self.center, self.pad_mode, log,
        )  # fmt: skip


class InverseSpectrogram(torch.nn.Module):
    """Waveform from a complex spectrogram.

    Mirrors ``torchaudio.transforms.InverseSpectrogram``; see
    :func:`tritaudio.functional.inverse_spectrogram`.

    Shape:
        ``forward(spectrogram (..., freq, frames), length=None)`` -> ``(..., time)``.
    """

    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn=torch.hann_window,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
    ) -> None:
        super().__init__()
        _init_stft(self, n_fft, win_length, hop_length, window_fn, wkwargs)
        _reference.spectrogram_norms(normalized)
        self.pad = pad
        self.normalized = normalized
        self.center = center
        self.pad_mode = pad_mode
        self.onesided = onesided

    def forward(self, spectrogram: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return F.inverse_spectrogram(
            spectrogram, length, self.pad, self.window, self.n_fft, self.hop_length,
            self.win_length, self.normalized, self.center, self.pad_mode, self.onesided,
        )  # fmt: skip


class MelScale(torch.nn.Module):
    """Project a (power or magnitude) spectrogram onto mel bands.

    Mirrors ``torchaudio.transforms.MelScale``; the filterbank (``fb``, ``(n_stft,
    n_mels)``) is a buffer. ``f_max`` defaults to ``sample_rate // 2``.

    Shape:
        ``(..., n_stft, time)`` -> ``(..., n_mels, time)``.
    """

    def __init__(
        self,
        n_mels: int = 128,
        sample_rate: int = 16000,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_stft: int = 201,
        norm: str | None = None,
        mel_scale: str = "htk",
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min = f_min
        self.norm = norm
        self.mel_scale = mel_scale
        if f_min > self.f_max:
            raise ValueError(f"f_min ({f_min}) must not exceed f_max ({self.f_max})")
        fb = F.melscale_fbanks(n_stft, f_min, self.f_max, n_mels, sample_rate, norm, mel_scale)
        self.register_buffer("fb", fb)

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        # float16 / bfloat16 spectrograms are projected in float32 (beyond torchaudio).
        compute = torch.float32 if specgram.dtype in (torch.float16, torch.bfloat16) else None
        mel = torch.matmul(specgram.transpose(-1, -2).to(compute), self.fb)
        return mel.transpose(-1, -2).to(specgram.dtype)


class MelSpectrogram(torch.nn.Module):
    """Mel spectrogram: :class:`Spectrogram` then :class:`MelScale`.

    Mirrors ``torchaudio.transforms.MelSpectrogram`` (``onesided`` is deprecated there and
    ignored here too).

    Shape:
        ``(..., time)`` -> ``(..., n_mels, frames)``.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        pad: int = 0,
        n_mels: int = 128,
        window_fn=torch.hann_window,
        power: float = 2.0,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool | None = None,
        norm: str | None = None,
        mel_scale: str = "htk",
    ) -> None:
        super().__init__()
        if onesided is not None:
            warnings.warn("MelSpectrogram's onesided is deprecated and ignored", stacklevel=2)
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.n_mels = n_mels
        self.f_max = f_max
        self.f_min = f_min
        self.spectrogram = Spectrogram(
            n_fft=n_fft, win_length=self.win_length, hop_length=self.hop_length, pad=pad,
            window_fn=window_fn, power=power, normalized=normalized, wkwargs=wkwargs,
            center=center, pad_mode=pad_mode, onesided=True,
        )  # fmt: skip
        self.mel_scale = MelScale(
            n_mels, sample_rate, f_min, f_max, n_fft // 2 + 1, norm, mel_scale
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.spectrogram.project(waveform, self.mel_scale.fb)


def povey_window(window_length: int, dtype=None, device=None) -> torch.Tensor:
    """Kaldi's "povey" window: a symmetric Hann window to the power 0.85."""
    return torch.hann_window(window_length, periodic=False, dtype=dtype, device=device).pow(0.85)


class LogMelSpectrogram(torch.nn.Module):
    """Log-mel spectrogram, the front-end of speech models, in one fused pass on the GPU.

    Takes every :class:`MelSpectrogram` argument, then (keyword-only) the log and what
    follows it; see :func:`tritaudio.functional.log_mel_spectrogram`. The presets
    :meth:`whisper` and :meth:`kaldi` build the usual front-ends. With the defaults it
    equals ``AmplitudeToDB("power")(MelSpectrogram(...)(x))`` (no torchaudio transform of
    its own).

    Args:
        log: a :class:`tritaudio.functional.LogScale` (default dB of the power).
        dynamic_range: keep values within this much of the peak (output units), or None.
        per_example: floor each example at its own peak (default), or the whole batch at
            one peak (False: Whisper's batched behaviour).
        drop_last_frame: drop the last STFT frame (Whisper).
        implementation: ``"stft"`` (default: framing kernel, cuFFT, fused power / mel / log
            kernel) or ``"dft"`` (a single kernel from the waveform, DFT on tensor cores).
        precision: the ``"dft"`` kernel's DFT precision, ``"ieee"``, ``"tf32x3"``, ``"tf32"``.

    Shape:
        ``(..., time)`` -> ``(..., n_mels, frames)``.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        pad: int = 0,
        n_mels: int = 128,
        window_fn=torch.hann_window,
        power: float = 2.0,
        normalized: bool | str = False,
        wkwargs: dict | None = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool | None = None,
        norm: str | None = None,
        mel_scale: str = "htk",
        *,
        log: F.LogScale = F.DECIBELS,
        dynamic_range: float | None = None,
        per_example: bool = True,
        drop_last_frame: bool = False,
        implementation: str = "stft",
        precision: str = "ieee",
    ) -> None:
        super().__init__()
        self.mel_spectrogram = MelSpectrogram(
            sample_rate, n_fft, win_length, hop_length, f_min, f_max, pad, n_mels, window_fn,
            power, normalized, wkwargs, center, pad_mode, onesided, norm, mel_scale,
        )  # fmt: skip
        F.check_log_mel_options(log, dynamic_range, implementation, precision)
        self.log = log
        self.dynamic_range = dynamic_range
        self.per_example = per_example
        self.drop_last_frame = drop_last_frame
        self.implementation = implementation
        self.precision = precision

    @classmethod
    def whisper(cls, n_mels: int = 80, per_example: bool = True, **kwargs) -> "LogMelSpectrogram":
        """OpenAI Whisper's ``log_mel_spectrogram`` at 16 kHz: n_fft 400, hop 160, Hann,
        slaney mel scale and norm (librosa's filters), power, the last frame dropped,
        ``log10(max(y, 1e-10))`` floored at its peak minus 8, then ``(x + 4) / 4``.
        ``n_mels`` 80 or 128. Whisper takes one peak for a whole batch: ``per_example=False``
        reproduces that; the default floors each clip at its own peak (the same for one
        clip). ``kwargs`` override any other argument."""
        settings = dict(
            sample_rate=16000, n_fft=400, hop_length=160, n_mels=n_mels, norm="slaney",
            mel_scale="slaney", log=F.LogScale(0.25, 1e-10, 0.0, -1.0), dynamic_range=2.0,
            drop_last_frame=True,
        )  # fmt: skip
        return cls(**{**settings, "per_example": per_example, **kwargs})

    @classmethod
    def kaldi(cls, sample_rate: int = 16000, n_mels: int = 80, **kwargs) -> "LogMelSpectrogram":
        """Kaldi-like filterbank features (``compute-fbank`` defaults): 25 ms povey window
        in a 512-point FFT (at 16 kHz), 10 ms hop, Kaldi's frames: ``1 + (L - 400) // 160``,
        frame t on samples ``[160 t, 160 t + 400)`` (snip_edges), htk mel bands from
        20 Hz, ``ln(max(y, float32 eps))``. Unlike
        torchaudio.compliance.kaldi.fbank: no dither, no per-frame DC removal or
        pre-emphasis, and the triangles are linear in Hz (torchaudio's mel filters) rather
        than in mel. ``kwargs`` override any argument."""
        win_length, hop_length = sample_rate * 25 // 1000, sample_rate * 10 // 1000
        n_fft = 1 << (win_length - 1).bit_length()  # Kaldi rounds the FFT up to a power of 2
        # The STFT centers the window in the n_fft frame: `pad` zeros shift the frames so
        # that frame t holds samples [t * hop, t * hop + win_length), as Kaldi's.
        settings = dict(
            sample_rate=sample_rate, n_fft=n_fft, win_length=win_length,
            hop_length=hop_length, pad=(n_fft - win_length) // 2, f_min=20.0, n_mels=n_mels,
            window_fn=povey_window, center=False, mel_scale="htk",
            log=F.LogScale(1.0, float(torch.finfo(torch.float32).eps), base=math.e),
        )  # fmt: skip
        return cls(**{**settings, **kwargs})

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spectrogram = self.mel_spectrogram.spectrogram
        return F.log_mel_spectrogram(
            waveform, self.mel_spectrogram.mel_scale.fb, spectrogram.pad, spectrogram.window,
            spectrogram.n_fft, spectrogram.hop_length, spectrogram.win_length,
            spectrogram.power, spectrogram.normalized, spectrogram.center,
            spectrogram.pad_mode, self.log, self.dynamic_range, self.per_example,
            self.drop_last_frame, self.implementation, self.precision,
        )  # fmt: skip


class AmplitudeToDB(torch.nn.Module):
    """Power or amplitude to decibels, with an optional floor ``top_db`` below the maximum.

    Mirrors ``torchaudio.transforms.AmplitudeToDB``; see
    :func:`tritaudio.functional.amplitude_to_DB`.

    Args:
        stype: ``"power"`` (10 log10) or ``"magnitude"`` (20 log10).
        top_db: the dynamic range kept, >= 0, or None.
        per_example: beyond torchaudio, opt-in: floor each ``(freq, time)`` example at its
            own maximum minus ``top_db`` (torchaudio floors a 3-D batch at one global
            maximum, pytorch/audio #994).

    Shape:
        ``(..., freq, time)`` -> the same.
    """

    def __init__(
        self, stype: str = "power", top_db: float | None = None, *, per_example: bool = False
    ) -> None:
        super().__init__()
        if stype not in ("power", "magnitude"):
            raise ValueError(f"stype must be 'power' or 'magnitude', got {stype!r}")
        if top_db is not None and top_db < 0:
            raise ValueError(f"top_db must be >= 0, got {top_db}")
        self.stype = stype
        self.top_db = top_db
        self.per_example = per_example
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.amin = 1e-10
        self.ref_value = 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _reference.amplitude_to_db(
            x, self.multiplier, self.amin, self.db_multiplier, self.top_db, self.per_example
        )

    def log_scale(self) -> F.LogScale:
        """The log this module applies, before its ``top_db`` floor."""
        return F.LogScale(self.multiplier, self.amin, 0.0, self.multiplier * self.db_multiplier)

    def floor(self, x_db: torch.Tensor) -> torch.Tensor:
        """The ``top_db`` floor alone, on values already in dB."""
        if self.top_db is None:
            return x_db
        return _reference.top_db_floor(x_db, self.top_db, self.per_example)


def _log_of(amplitude_to_db, natural_log):
    """MFCC's and LFCC's log: ``log(x + 1e-6)``, or the dB of ``amplitude_to_db``."""
    if natural_log:
        return F.LogScale(1.0, 0.0, 1e-6, 0.0, math.e)
    return amplitude_to_db.log_scale()


class MFCC(torch.nn.Module):
    """Mel-frequency cepstral coefficients.

    Mirrors ``torchaudio.transforms.MFCC``: MelSpectrogram (``melkwargs``), then dB with
    top_db 80 (or ``log(x + 1e-6)`` with ``log_mels``), then a DCT-II.

    Shape:
        ``(..., time)`` -> ``(..., n_mfcc, frames)``.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mfcc: int = 40,
        dct_type: int = 2,
        norm: str | None = "ortho",
        log_mels: bool = False,
        melkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if dct_type != 2:
            raise ValueError(f"only dct_type 2 is supported, got {dct_type}")
        self.sample_rate = sample_rate
        self.n_mfcc = n_mfcc
        self.dct_type = dct_type
        self.norm = norm
        self.top_db = 80.0
        self.amplitude_to_DB = AmplitudeToDB("power", self.top_db)
        self.MelSpectrogram = MelSpectrogram(sample_rate=sample_rate, **(melkwargs or {}))
        if n_mfcc > self.MelSpectrogram.n_mels:
            raise ValueError(
                f"n_mfcc ({n_mfcc}) cannot exceed the mel bands ({self.MelSpectrogram.n_mels})"
            )
        self.register_buffer("dct_mat", F.create_dct(n_mfcc, self.MelSpectrogram.n_mels, norm))
        self.log_mels = log_mels

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        mel = self.MelSpectrogram.spectrogram.project(
            waveform, self.MelSpectrogram.mel_scale.fb, _log_of(self.amplitude_to_DB, self.log_mels)
        )
        if not self.log_mels:
            mel = self.amplitude_to_DB.floor(mel)
        return torch.matmul(mel.transpose(-1, -2), self.dct_mat).transpose(-1, -2)


class LFCC(torch.nn.Module):
    """Linear-frequency cepstral coefficients.

    Mirrors ``torchaudio.transforms.LFCC``: Spectrogram (``speckwargs``), a linear
    triangular filterbank, dB with top_db 80 (or ``log(x + 1e-6)`` with ``log_lf``), a
    DCT-II.

    Shape:
        ``(..., time)`` -> ``(..., n_lfcc, frames)``.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_filter: int = 128,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_lfcc: int = 40,
        dct_type: int = 2,
        norm: str | None = "ortho",
        log_lf: bool = False,
        speckwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if dct_type != 2:
            raise ValueError(f"only dct_type 2 is supported, got {dct_type}")
        self.sample_rate = sample_rate
        self.f_min = f_min
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.n_filter = n_filter
        self.n_lfcc = n_lfcc
        self.dct_type = dct_type
        self.norm = norm
        self.log_lf = log_lf
        self.top_db = 80.0
        self.amplitude_to_DB = AmplitudeToDB("power", self.top_db)
        self.Spectrogram = Spectrogram(**(speckwargs or {}))
        if n_lfcc > self.Spectrogram.n_fft:
            raise ValueError(f"n_lfcc ({n_lfcc}) cannot exceed n_fft ({self.Spectrogram.n_fft})")
        filter_mat = F.linear_fbanks(
            self.Spectrogram.n_fft // 2 + 1, f_min, self.f_max, n_filter, sample_rate
        )
        self.register_buffer("filter_mat", filter_mat)
        self.register_buffer("dct_mat", F.create_dct(n_lfcc, n_filter, norm))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        specgram = self.Spectrogram.project(
            waveform, self.filter_mat, _log_of(self.amplitude_to_DB, self.log_lf)
        )
        if not self.log_lf:
            specgram = self.amplitude_to_DB.floor(specgram)
        return torch.matmul(specgram.transpose(-1, -2), self.dct_mat).transpose(-1, -2)


class GriffinLim(torch.nn.Module):
    """Waveform from a magnitude spectrogram by (fast) Griffin-Lim.

    Mirrors ``torchaudio.transforms.GriffinLim``; see
    :func:`tritaudio.functional.griffinlim`.

    Shape:
        ``(..., n_fft // 2 + 1, frames)`` -> ``(..., time)``.
    """

    def __init__(
        self,
        n_fft: int = 400,
        n_iter: int = 32,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn=torch.hann_window,
        power: float = 2.0,
        wkwargs: dict | None = None,
        momentum: float = 0.99,
        length: int | None = None,
        rand_init: bool = True,
    ) -> None:
        super().__init__()
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        _init_stft(self, n_fft, win_length, hop_length, window_fn, wkwargs)
        self.n_iter = n_iter
        self.length = length
        self.power = power
        self.momentum = momentum
        self.rand_init = rand_init

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        return F.griffinlim(
            specgram, self.window, self.n_fft, self.hop_length, self.win_length, self.power,
            self.n_iter, self.momentum, self.length, self.rand_init,
        )  # fmt: skip


class TimeStretch(torch.nn.Module):
    """Stretch a complex spectrogram in time without changing its pitch.

    Mirrors ``torchaudio.transforms.TimeStretch``; see
    :func:`tritaudio.functional.phase_vocoder`. ``phase_advance``, ``(n_freq, 1)``, is a
    buffer. For a waveform in and out, see :class:`TimeStretchWaveform`.

    Args:
        hop_length: the STFT's hop (default ``n_fft // 2`` with ``n_fft = 2 * (n_freq - 1)``).
        n_freq: frequency bins of the spectrograms it will get.
        fixed_rate: the speed-up factor used when ``forward`` gets none, > 0, or None.

    Shape:
        ``forward(complex_specgrams (..., n_freq, frames), overriding_rate=None)`` ->
        ``(..., n_freq, ceil(frames / rate))``.
    """

    def __init__(
        self, hop_length: int | None = None, n_freq: int = 201, fixed_rate: float | None = None
    ) -> None:
        super().__init__()
        if isinstance(n_freq, bool) or not isinstance(n_freq, int) or n_freq < 1:
            raise ValueError(f"n_freq must be a positive int, got {n_freq!r}")
        if fixed_rate is not None:
            F._check_positive_real("fixed_rate", fixed_rate)
        self.fixed_rate = fixed_rate
        self.n_freq = n_freq
        n_fft = (n_freq - 1) * 2
        hop_length = hop_length if hop_length is not None else n_fft // 2
        advance = torch.linspace(0, math.pi * hop_length, n_freq)[..., None]
        self.register_buffer("phase_advance", advance)

    def forward(
        self, complex_specgrams: torch.Tensor, overriding_rate: float | None = None
    ) -> torch.Tensor:
        F._check_complex_spectrogram(complex_specgrams)
        if complex_specgrams.shape[-2] != self.n_freq:
            raise ValueError(
                f"TimeStretch(n_freq={self.n_freq}) got a spectrogram with "
                f"{complex_specgrams.shape[-2]} frequency bins, shape "
                f"{tuple(complex_specgrams.shape)}"
            )
        if overriding_rate is None:
            if self.fixed_rate is None:
                raise ValueError("TimeStretch has no fixed_rate: pass a rate to forward")
            overriding_rate = self.fixed_rate
        return F.phase_vocoder(complex_specgrams, overriding_rate, self.phase_advance)


class TimeStretchWaveform(torch.nn.Module):
    """Stretch a waveform in time by ``1 / rate`` without changing its pitch.

    Beyond torchaudio (its TimeStretch takes spectrograms); see
    :func:`tritaudio.functional.time_stretch`. The window is a buffer.

    Args:
        fixed_rate: the speed-up factor used when ``forward`` gets none, > 0, or None.
        n_fft: FFT size; win_length: default ``n_fft``; hop_length: default
            ``win_length // 4``; window_fn, wkwargs: the window, ``window_fn(win_length,
            **wkwargs)`` (Hann).

    Shape:
        ``forward(waveform (..., time), overriding_rate=None)`` ->
        ``(..., round(time / rate))``.
    """

    def __init__(
        self,
        fixed_rate: float | None = None,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn=torch.hann_window,
        wkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if fixed_rate is not None:
            F._check_positive_real("fixed_rate", fixed_rate)
        self.fixed_rate = fixed_rate
        win_length = win_length if win_length is not None else n_fft
        hop_length = hop_length if hop_length is not None else win_length // 4
        _init_stft(self, n_fft, win_length, hop_length, window_fn, wkwargs)

    def forward(self, waveform: torch.Tensor, overriding_rate: float | None = None) -> torch.Tensor:
        if overriding_rate is None:
            if self.fixed_rate is None:
                raise ValueError("TimeStretchWaveform has no fixed_rate: pass a rate to forward")
            overriding_rate = self.fixed_rate
        return F.time_stretch(
            waveform, overriding_rate, self.n_fft, self.win_length, self.hop_length, self.window
        )


class PitchShift(torch.nn.Module):
    """Shift the pitch of a waveform by ``n_steps`` steps, keeping its length.

    Mirrors ``torchaudio.transforms.PitchShift``; see
    :func:`tritaudio.functional.pitch_shift`. Unlike torchaudio's (a lazy module whose
    ``kernel`` parameter is a ``(sample_rate, 1, orig_freq + 2 * width)`` table, gcd-reduced,
    up to 1 GB), it keeps only the resampler's non-zero taps for the torch path, as a
    non-persistent buffer; a torchaudio checkpoint's ``kernel`` entry is ignored.

    Args:
        sample_rate: the waveform's rate in Hz.
        n_steps: the shift in steps (fractional steps work).
        bins_per_octave: steps per octave, > 0.
        n_fft: FFT size; win_length: default ``n_fft``; hop_length: default
            ``win_length // 4`` (torchaudio's functional form uses ``n_fft // 4``);
            window_fn, wkwargs: the window, ``window_fn(win_length, **wkwargs)``.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    """

    def __init__(
        self,
        sample_rate: int,
        n_steps: float,
        bins_per_octave: int = 12,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn=torch.hann_window,
        wkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.rates = F.pitch_shift_rates(sample_rate, n_steps, bins_per_octave)
        self.sample_rate = sample_rate
        self.n_steps = n_steps
        self.bins_per_octave = bins_per_octave
        self.orig_freq = self.rates.orig_freq
        self.gcd = math.gcd(self.orig_freq, int(sample_rate))
        win_length = win_length if win_length is not None else n_fft
        hop_length = hop_length if hop_length is not None else win_length // 4
        _init_stft(self, n_fft, win_length, hop_length, window_fn, wkwargs)
        self.resampler = Resample(self.orig_freq, sample_rate)
        self._register_load_state_dict_pre_hook(_drop_torchaudio_kernel)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        F._check_real_waveform(waveform)
        taps = None
        if self.resampler.filter is not None:
            taps = (self.resampler.kernel, self.resampler.first_input)
        return F.shift_pitch(
            waveform, self.rates, self.n_fft, self.win_length, self.hop_length, self.window,
            taps,
        )  # fmt: skip


from tritaudio.transforms.filtering import ComputeDeltas, Convolve, FFTConvolve  # noqa: E402, F401
