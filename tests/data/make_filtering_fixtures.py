"""Write tests/data/filtering-torchaudio-2.11.pt: torchaudio 2.11's outputs for the
filtering family on small fixed inputs.

Run with torchaudio's pure-Python package importable (its C++ extension is not needed):
    PYTHONPATH=/work/ta python tests/data/make_filtering_fixtures.py

The file holds ``inputs`` (name -> tensor) and ``cases``, a list of dicts with ``api``
(the torchaudio.functional / transforms name), ``input`` (the first positional input's
name), ``args`` (further positional arguments: tensors by input name, as {"input": name}),
``kwargs`` and ``output``. Random draws (dither) start from ``torch.manual_seed(seed)``.
"""

from pathlib import Path

import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T

OUT = Path(__file__).with_name("filtering-torchaudio-2.11.pt")


def main():
    g = torch.Generator().manual_seed(2026)
    inputs = {
        "wave": 0.5 * torch.randn(2, 3, 129, generator=g),
        "stereo": 0.3 * torch.randn(2, 2, 301, generator=g),
        "mono": 0.4 * torch.randn(1, 300, generator=g),
        "spec": torch.randn(2, 5, 37, generator=g),
        "ir": torch.randn(1, 3, 21, generator=g),
        "a2": torch.tensor([1.0, -1.2, 0.5]),
        "b2": torch.tensor([0.3, 0.2, 0.1]),
        "a_bank": torch.tensor([[1.0, -0.9, 0.2], [2.0, -1.0, 0.3], [1.0, 0.5, 0.1]]),
        "b_bank": torch.tensor([[0.5, 0.1, 0.0], [1.0, 0.0, -1.0], [0.2, 0.2, 0.2]]),
        "a4": torch.tensor([1.0, -2.1, 1.9, -0.8, 0.15]),
        "b4": torch.tensor([0.1, 0.2, 0.3, 0.2, 0.1]),
    }
    cases = []

    def add(api, first, args=(), seed=None, **kwargs):
        module, name = api.split(".")
        call = [inputs[first]] + [inputs[a["input"]] if isinstance(a, dict) else a for a in args]
        call = [c.clone() if isinstance(c, torch.Tensor) else c for c in call]
        if seed is not None:
            torch.manual_seed(seed)
        if module == "functional":
            out = getattr(F, name)(*call, **kwargs)
        else:
            out = getattr(T, name)(**kwargs)(*call)
        cases.append(dict(api=api, input=first, args=list(args), kwargs=kwargs, seed=seed,
                          output=out))  # fmt: skip

    a2, b2 = {"input": "a2"}, {"input": "b2"}
    add("functional.lfilter", "wave", [a2, b2])
    add("functional.lfilter", "wave", [a2, b2], clamp=False)
    add("functional.lfilter", "wave", [{"input": "a_bank"}, {"input": "b_bank"}])
    add("functional.lfilter", "mono", [{"input": "a_bank"}, {"input": "b_bank"}], batching=False)
    add("functional.lfilter", "wave", [{"input": "a4"}, {"input": "b4"}], clamp=False)
    add("functional.filtfilt", "wave", [a2, b2])
    add("functional.filtfilt", "wave", [{"input": "a_bank"}, {"input": "b_bank"}], clamp=False)
    add("functional.biquad", "wave", [0.4, 0.2, 0.1, 1.1, -0.3, 0.2])
    for rate in (8000, 44100):
        add("functional.allpass_biquad", "wave", [rate, 1000.0], Q=0.9)
        add("functional.band_biquad", "wave", [rate, 1200.0])
        add("functional.band_biquad", "wave", [rate, 1200.0], Q=2.0, noise=True)
        add("functional.bandpass_biquad", "wave", [rate, 900.0])
        add("functional.bandpass_biquad", "wave", [rate, 900.0], const_skirt_gain=True)
        add("functional.bandreject_biquad", "wave", [rate, 700.0], Q=1.5)
        add("functional.bass_biquad", "wave", [rate, 6.0])
        add("functional.bass_biquad", "wave", [rate, -4.0, 300.0, 0.5])
        add("functional.equalizer_biquad", "wave", [rate, 2000.0, 5.0])
        add("functional.highpass_biquad", "wave", [rate, 300.0])
        add("functional.lowpass_biquad", "wave", [rate, 1500.0], Q=0.5)
        add("functional.treble_biquad", "wave", [rate, 3.0])
        add("functional.treble_biquad", "wave", [rate, -6.0, 2500.0, 1.2])
    for rate in (44100, 48000):
        add("functional.deemph_biquad", "wave", [rate])
    for rate in (44100, 48000, 88200, 96000):
        add("functional.riaa_biquad", "wave", [rate])
    add("functional.contrast", "wave")
    add("functional.contrast", "wave", [10.0])
    add("functional.dcshift", "wave", [0.3])
    add("functional.dcshift", "wave", [0.4, 0.05])
    add("functional.dcshift", "wave", [-0.5, 0.02])
    for density in ("TPDF", "RPDF", "GPDF"):
        for shaping in (False, True):
            add("functional.dither", "wave", [density, shaping], seed=7)
    add("functional.overdrive", "wave")
    add("functional.overdrive", "wave", [10.0, 50.0])
    add("functional.phaser", "stereo", [8000])
    add("functional.phaser", "stereo", [16000, 0.6, 0.8, 2.0, 0.5, 1.0, False])
    add("functional.flanger", "stereo", [8000])
    add("functional.flanger", "stereo", [16000, 2.0, 3.0, 20.0, 50.0, 1.0, 50.0, "triangular",
                                         "quadratic"])  # fmt: skip
    for mode in ("full", "valid", "same"):
        add("functional.convolve", "wave", [{"input": "ir"}, mode])
        add("functional.fftconvolve", "wave", [{"input": "ir"}, mode])
        add("functional.convolve", "ir", [{"input": "wave"}, mode])
        add("transforms.Convolve", "wave", [{"input": "ir"}], mode=mode)
        add("transforms.FFTConvolve", "ir", [{"input": "wave"}], mode=mode)
    add("functional.compute_deltas", "spec")
    add("functional.compute_deltas", "spec", [7, "constant"])
    add("functional.compute_deltas", "spec", [3, "reflect"])
    add("transforms.ComputeDeltas", "spec", win_length=9, mode="circular")
    torch.save(dict(torchaudio_version=torchaudio.__version__, inputs=inputs, cases=cases), OUT)
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
