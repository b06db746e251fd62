"""The spectral family's transforms: Spectrogram, InverseSpectrogram, MelScale, MelSpectrogram,
AmplitudeToDB, MFCC, LFCC, GriffinLim; windows and filterbanks built once, as buffers.
"""

import math
import warnings

import torch

from tritaudio import _reference
from tritaudio import functional as F
from tritaudio._checks import check_stft_args
from tritaudio._common import LOW_PRECISION
from tritaudio.functional.spectral import _check_top_db


def _init_stft(module, n_fft, win_length, hop_length, window_fn, wkwargs):
    """torchaudio's STFT defaults on ``module``: win_length = n_fft, hop_length =
    win_length // 2, and the window as a buffer."""
    module.n_fft = n_fft
    module.win_length = win_length if win_length is not None else n_fft
    module.hop_length = hop_length if hop_length is not None else module.win_length // 2
    check_stft_args(n_fft, module.hop_length, module.win_length, None)
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
            raise ValueError(f"Require f_min: {f_min} <= f_max: {self.f_max}")
        fb = F.melscale_fbanks(n_stft, f_min, self.f_max, n_mels, sample_rate, norm, mel_scale)
        self.register_buffer("fb", fb)

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        # float16 / bfloat16 spectrograms are projected in float32 (beyond torchaudio);
        # float16's comes back in float32 (a band's sum can pass float16's 65504).
        compute = torch.float32 if specgram.dtype in LOW_PRECISION else None
        mel = torch.matmul(specgram.transpose(-1, -2).to(compute), self.fb)
        result = torch.float32 if specgram.dtype == torch.float16 else specgram.dtype
        return mel.transpose(-1, -2).to(result)


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
        _check_top_db(top_db)
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
        if waveform.dtype in LOW_PRECISION:  # beyond torchaudio: in float32, cast back
            return self(waveform.float()).to(waveform.dtype)
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
        if waveform.dtype in LOW_PRECISION:  # beyond torchaudio: in float32, cast back
            return self(waveform.float()).to(waveform.dtype)
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
