"""LogMelSpectrogram (beyond torchaudio) with its Whisper and Kaldi-like presets."""

import math

import torch

from tritaudio import functional as F
from tritaudio.compliance.kaldi import get_mel_banks
from tritaudio.functional.logmel import _check_log_mel_options
from tritaudio.transforms.spectral import MelSpectrogram


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
        implementation: ``"auto"`` (default: ``"dft"`` for n_fft a multiple of 4 without a
            gradient, else ``"stft"``), ``"stft"`` (framing kernel, cuFFT, fused power / mel / log
            kernel) or ``"dft"`` (a single kernel from the waveform, the folded DFT on
            tensor cores).
        precision: the ``"dft"`` kernel's precision, ``"tf32x3"`` (default), ``"ieee"``,
            ``"tf32"``.

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
        implementation: str = "auto",
        precision: str = "tf32x3",
    ) -> None:
        super().__init__()
        self.mel_spectrogram = MelSpectrogram(
            sample_rate, n_fft, win_length, hop_length, f_min, f_max, pad, n_mels, window_fn,
            power, normalized, wkwargs, center, pad_mode, onesided, norm, mel_scale,
        )  # fmt: skip
        _check_log_mel_options(log, dynamic_range, implementation, precision)
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
        """Kaldi's filterbank features without their per-frame steps: 25 ms povey window in
        a 512-point FFT (at 16 kHz), 10 ms hop, Kaldi's frames ``1 + (L - 400) // 160``
        (snip_edges), Kaldi's triangular filters (in mel, from 20 Hz: get_mel_banks),
        ``ln(max(y, float32 eps))``. It equals
        ``compliance.kaldi.fbank(x, num_mel_bins=n_mels, remove_dc_offset=False,
        preemphasis_coefficient=0.0).T`` (dither 0); Kaldi's defaults also remove each
        frame's DC offset and pre-emphasise it, which only
        :func:`tritaudio.compliance.kaldi.fbank` (and ``fbank_batch``) do. ``kwargs``
        override any argument."""
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
        module = cls(**{**settings, **kwargs})
        mel = module.mel_spectrogram
        bins, _ = get_mel_banks(mel.n_mels, mel.n_fft, mel.sample_rate, mel.f_min,
                                mel.f_max or 0.0, 100.0, -500.0, 1.0)  # fmt: skip
        fb = mel.mel_scale.fb
        fb.copy_(torch.nn.functional.pad(bins, (0, 1)).t().to(fb.dtype))
        return module

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spectrogram = self.mel_spectrogram.spectrogram
        return F.log_mel_spectrogram(
            waveform, self.mel_spectrogram.mel_scale.fb, spectrogram.pad, spectrogram.window,
            spectrogram.n_fft, spectrogram.hop_length, spectrogram.win_length,
            spectrogram.power, spectrogram.normalized, spectrogram.center,
            spectrogram.pad_mode, self.log, self.dynamic_range, self.per_example,
            self.drop_last_frame, self.implementation, self.precision,
        )  # fmt: skip
