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
    """Spectrogram (power, magnitude or complex STFT) of a waveform.

    Mirrors ``torchaudio.transforms.Spectrogram``: the same arguments, defaults and numbers.
    On the Triton path the framing kernel writes the windowed frames in one pass (padding
    folded into its reads) and cuFFT transforms them.

    Args:
        n_fft: FFT size; ``n_fft // 2 + 1`` frequency bins when onesided. Default 400.
        win_length: window length, <= ``n_fft``; the window is zero-padded to ``n_fft`` on
            both sides. Default ``n_fft``.
        hop_length: samples between frames. Default ``win_length // 2``.
        pad: zeros added on both sides of the signal before anything else. Default 0.
        window_fn: builds the window, ``window_fn(win_length, **wkwargs)``. Default
            ``torch.hann_window``.
        power: 2 gives the power spectrogram, 1 the magnitude, any exponent > 0 that power of
            the magnitude, None the complex STFT. Default 2.
        normalized: False; True or ``"window"`` divides by the window's L2 norm;
            ``"frame_length"`` divides by ``sqrt(n_fft)``. Default False.
        wkwargs: keyword arguments of ``window_fn``. Default None.
        center: pad ``n_fft // 2`` samples on both sides with ``pad_mode`` so that frame
            ``t`` is centered at ``t * hop_length``. Default True.
        pad_mode: ``"reflect"``, ``"constant"``, ``"replicate"`` or ``"circular"``.
            Default ``"reflect"``.
        onesided: keep only the non-negative frequencies. Default True.
        return_complex: deprecated in torchaudio; accepted and ignored.

    Shape:
        ``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)`` (``n_fft`` bins when not
        onesided), ``frames = 1 + (time + 2 * pad) // hop_length`` when centered (even
    ``n_fft``); complex
        when ``power`` is None. float16 / bfloat16 inputs are computed in float32 (beyond
        torchaudio).

    Example:
        >>> import torch, tritaudio.transforms as T
        >>> T.Spectrogram(n_fft=400)(torch.randn(2, 16000)).shape
        torch.Size([2, 201, 81])
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
    """Waveform from a complex spectrogram by windowed overlap-add (inverse STFT).

    Mirrors ``torchaudio.transforms.InverseSpectrogram``; see
    :func:`tritaudio.functional.inverse_spectrogram`. On the Triton path an inverse FFT of
    each frame, then the overlap-add kernel, divided by the overlap-added squared window
    (as ``torch.istft``).

    Args:
        n_fft: FFT size; ``n_fft // 2 + 1`` frequency bins when onesided. Default 400.
        win_length: window length, <= ``n_fft``; the window is zero-padded to ``n_fft`` on
            both sides. Default ``n_fft``.
        hop_length: samples between frames. Default ``win_length // 2``.
        pad: zeros added on both sides of the signal before anything else. Default 0.
        window_fn: builds the window, ``window_fn(win_length, **wkwargs)``. Default
            ``torch.hann_window``.
        normalized: as in :class:`Spectrogram` (undone here). Default False.
        wkwargs: keyword arguments of ``window_fn``. Default None.
        center: whether the forward STFT was centered. Default True.
        pad_mode: accepted and unused, as in torchaudio.
        onesided: whether the spectrogram holds only the non-negative frequencies.
            Default True.

    Shape:
        ``forward(spectrogram, length=None)``: ``(..., n_fft // 2 + 1, frames)`` complex
        -> ``(..., time)``; ``time`` is ``length`` when given, else what the frames cover.
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

    Mirrors ``torchaudio.transforms.MelScale``: ``fb`` (a buffer, ``(n_stft, n_mels)``) is
    :func:`tritaudio.functional.melscale_fbanks`, and the output is ``fb`` applied along the
    frequency axis.

    Args:
        n_mels: number of mel bands. Default 128.
        sample_rate: the audio's rate in Hz. Default 16000.
        f_min: lowest frequency, Hz. Default 0.
        f_max: highest frequency, Hz. Default ``sample_rate // 2``.
        n_stft: frequency bins of the spectrogram, ``n_fft // 2 + 1``. Default 201.
        norm: None, or ``"slaney"`` to divide each triangle by its width (constant energy
            per band). Default None.
        mel_scale: ``"htk"`` or ``"slaney"``. Default ``"htk"``.

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
    """Mel spectrogram of a waveform: :class:`Spectrogram`, then :class:`MelScale`.

    Mirrors ``torchaudio.transforms.MelSpectrogram``: the same arguments, defaults and
    numbers (within 1e-4 of torchaudio 2.11, and of librosa for htk and slaney). On the
    Triton path the framing kernel, cuFFT, then one kernel from the complex STFT to the mel
    output (``|X|^power`` and the sparse filterbank projection): the power spectrogram is
    never stored. Differentiable; traceable by ``torch.compile(fullgraph=True)``.

    Args:
        sample_rate: the audio's rate in Hz. Default 16000.
        n_fft: FFT size; ``n_fft // 2 + 1`` frequency bins when onesided. Default 400.
        win_length: window length, <= ``n_fft``; the window is zero-padded to ``n_fft`` on
            both sides. Default ``n_fft``.
        hop_length: samples between frames. Default ``win_length // 2``.
        pad: zeros added on both sides of the signal before anything else. Default 0.
        window_fn: builds the window, ``window_fn(win_length, **wkwargs)``. Default
            ``torch.hann_window``.
        f_min: lowest frequency of the filterbank, Hz. Default 0.
        f_max: highest frequency, Hz. Default ``sample_rate // 2``.
        n_mels: number of mel bands. Default 128.
        power: exponent of the magnitude, > 0 (2: power, 1: magnitude). Default 2.
        normalized: as in :class:`Spectrogram`. Default False.
        wkwargs: keyword arguments of ``window_fn``. Default None.
        center: as in :class:`Spectrogram`. Default True.
        pad_mode: as in :class:`Spectrogram`. Default ``"reflect"``.
        onesided: deprecated in torchaudio; accepted and ignored (always onesided).
        norm: None or ``"slaney"``, as in :class:`MelScale`. Default None.
        mel_scale: ``"htk"`` or ``"slaney"``. Default ``"htk"``.

    Shape:
        ``(..., time)`` -> ``(..., n_mels, frames)``; float16 / bfloat16 inputs are computed in
        float32 (beyond torchaudio, which fails on them).

    Example:
        >>> import torch, tritaudio.transforms as T
        >>> T.MelSpectrogram(16000, n_fft=400, n_mels=80)(torch.randn(16000)).shape
        torch.Size([80, 81])
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
    """Mel-frequency cepstral coefficients of a waveform.

    Mirrors ``torchaudio.transforms.MFCC``: :class:`MelSpectrogram` (``melkwargs``), then dB
    of the power (``AmplitudeToDB("power", top_db=80)``) or ``log(mel + 1e-6)`` with
    ``log_mels``, then a DCT-II over the mel bands. On the Triton path the log runs inside the
    fused mel kernel.

    Args:
        sample_rate: the audio's rate in Hz. Default 16000.
        n_mfcc: coefficients kept, <= ``n_mels``. Default 40.
        dct_type: 2 (the only type torchaudio supports). Default 2.
        norm: the DCT's normalisation, None or ``"ortho"``. Default ``"ortho"``.
        log_mels: ``log(mel + 1e-6)`` instead of dB. Default False.
        melkwargs: keyword arguments of :class:`MelSpectrogram` (``n_fft``, ``n_mels``,
            ``hop_length``, ...). Default None (its defaults).

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
    """Linear-frequency cepstral coefficients of a waveform.

    Mirrors ``torchaudio.transforms.LFCC``: :class:`Spectrogram` (``speckwargs``), a
    triangular filterbank on a linear frequency scale
    (:func:`tritaudio.functional.linear_fbanks`), dB with ``top_db`` 80 (or
    ``log(x + 1e-6)`` with ``log_lf``), a DCT-II.

    Args:
        sample_rate: the audio's rate in Hz. Default 16000.
        n_filter: linear filters. Default 128.
        f_min: lowest frequency, Hz. Default 0.
        f_max: highest frequency, Hz. Default ``sample_rate // 2``.
        n_lfcc: coefficients kept, <= ``n_filter``. Default 40.
        dct_type: 2 (the only type torchaudio supports). Default 2.
        norm: the DCT's normalisation, None or ``"ortho"``. Default ``"ortho"``.
        log_lf: ``log(x + 1e-6)`` instead of dB. Default False.
        speckwargs: keyword arguments of :class:`Spectrogram`. Default None.

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
    """Waveform from a magnitude spectrogram, its phase estimated by (fast) Griffin-Lim.

    Mirrors ``torchaudio.transforms.GriffinLim``; see :func:`tritaudio.functional.griffinlim`.
    On the Triton path each iteration's STFT and inverse STFT run the framing and
    overlap-add kernels.

    Args:
        n_fft: FFT size. Default 400.
        n_iter: iterations. Default 32.
        win_length: window length, <= ``n_fft``; the window is zero-padded to ``n_fft`` on
            both sides. Default ``n_fft``.
        hop_length: samples between frames. Default ``win_length // 2``.
        window_fn: builds the window, ``window_fn(win_length, **wkwargs)``. Default
            ``torch.hann_window``.
        power: the exponent the magnitudes were raised to. Default 2.
        wkwargs: keyword arguments of ``window_fn``. Default None.
        momentum: fast Griffin-Lim's momentum, in [0, 1). Default 0.99.
        length: output length, or None (what the frames cover). Default None.
        rand_init: start from random phases (else zeros). Default True.

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
