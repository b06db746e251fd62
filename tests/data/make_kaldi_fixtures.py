"""Writes tests/data/kaldi-torchaudio-2.11.pt: torchaudio 2.11's compliance.kaldi outputs
on short clips over a grid of arguments, for tests/test_kaldi.py.

Run from the repository root with torchaudio's Python sources importable:
    PYTHONPATH=/work/ta python tests/data/make_kaldi_fixtures.py
"""

from pathlib import Path

import soundfile
import torch
import torchaudio
from torchaudio.compliance import kaldi

DATA = Path(__file__).parent

FBANK = [
    {},
    dict(num_mel_bins=80, use_energy=True),
    dict(use_energy=True, htk_compat=True, raw_energy=False),
    dict(snip_edges=False),
    dict(snip_edges=False, frame_length=20.0, frame_shift=12.5, use_energy=True),
    dict(snip_edges=False, frame_length=10.0, frame_shift=25.0),  # negative edge offset
    dict(window_type="hamming"),
    dict(window_type="hanning", use_energy=True, raw_energy=False),
    dict(window_type="rectangular"),
    dict(window_type="blackman", blackman_coeff=0.4),
    dict(round_to_power_of_two=False),
    dict(use_power=False),
    dict(use_log_fbank=False),
    dict(use_log_fbank=False, use_power=False, num_mel_bins=40),
    dict(low_freq=60.0, high_freq=-400.0),
    dict(low_freq=100.0, high_freq=7000.0, num_mel_bins=30),
    dict(vtln_warp=0.9),
    dict(vtln_warp=1.1, vtln_low=200.0, vtln_high=-800.0, num_mel_bins=40),
    dict(remove_dc_offset=False, preemphasis_coefficient=0.0),
    dict(preemphasis_coefficient=1.0, use_energy=True),
    dict(energy_floor=0.0, raw_energy=False, use_energy=True),
    dict(energy_floor=100.0, use_energy=True),
    dict(subtract_mean=True, use_energy=True),
    dict(sample_frequency=11025.0, snip_edges=False),  # odd window (275 samples)
    dict(sample_frequency=11025.0, round_to_power_of_two=False, frame_length=25.0 * 276 / 275.625),
    dict(min_duration=1.0),
    dict(channel=1, use_energy=True),
]
FBANK_8K = [
    dict(sample_frequency=8000.0, num_mel_bins=15),
    dict(sample_frequency=8000.0, snip_edges=False),
]
MFCC = [
    {},
    dict(use_energy=True),
    dict(htk_compat=True),
    dict(use_energy=True, htk_compat=True),
    dict(cepstral_lifter=0.0, num_ceps=23),
    dict(subtract_mean=True, snip_edges=False),
    dict(num_mel_bins=40, num_ceps=20, window_type="hamming", raw_energy=False, use_energy=True),
    dict(vtln_warp=0.95, low_freq=40.0, high_freq=-200.0),
]
SPECTROGRAM = [
    {},
    dict(snip_edges=False, subtract_mean=True),
    dict(raw_energy=False, energy_floor=0.0),
    dict(round_to_power_of_two=False, window_type="rectangular", preemphasis_coefficient=0.5),
]
MEL_BANKS = [
    (23, 512, 16000.0, 20.0, 0.0, 100.0, -500.0, 1.0),
    (40, 512, 16000.0, 20.0, -400.0, 100.0, -500.0, 0.9),
    (15, 256, 8000.0, 0.0, 3800.0, 200.0, 3000.0, 1.15),
    (80, 400, 16000.0, 64.0, 7600.0, 100.0, -500.0, 1.0),
]
VTLN = [(100.0, 7500.0, 20.0, 8000.0, 0.9), (200.0, 3000.0, 0.0, 4000.0, 1.2)]


def main():
    speech, rate = soundfile.read(DATA / "speech_en_16k.flac", dtype="float32")
    assert rate == 16000
    mono = torch.from_numpy(speech[8000:13600]).unsqueeze(0)  # 0.35 s
    stereo = torch.cat((mono, torch.from_numpy(speech[20000:25600]).unsqueeze(0)))
    narrow = torchaudio.functional.resample(mono, 16000, 8000)[:, :2401]
    signals = {"mono": mono, "stereo": stereo, "narrow": narrow}
    cases = []

    def add(api, function, signal, kwargs):
        out = function(signals[signal], **kwargs)
        cases.append(dict(api=api, signal=signal, kwargs=kwargs, out=out))

    for kwargs in FBANK:
        add("fbank", kaldi.fbank, "stereo" if "channel" in kwargs else "mono", kwargs)
    for kwargs in FBANK_8K:
        add("fbank", kaldi.fbank, "narrow", kwargs)
    for kwargs in MFCC:
        add("mfcc", kaldi.mfcc, "mono", kwargs)
    for kwargs in SPECTROGRAM:
        add("spectrogram", kaldi.spectrogram, "mono", kwargs)
    signals["mono64"] = mono.double()  # float64: agreement beyond float32 rounding
    add("fbank", kaldi.fbank, "mono64", dict(use_energy=True))
    add("spectrogram", kaldi.spectrogram, "mono64", dict(snip_edges=False))
    add("mfcc", kaldi.mfcc, "mono64", dict(use_energy=True, htk_compat=True))
    torch.manual_seed(0)  # dither: the draws of torch's global generator after this seed
    cases.append(
        dict(
            api="fbank",
            signal="mono",
            kwargs=dict(dither=1.0),
            seed=0,
            out=kaldi.fbank(mono, dither=1.0),
        )
    )
    banks = [dict(args=args, out=kaldi.get_mel_banks(*args)) for args in MEL_BANKS]
    freq = torch.linspace(0.0, 8000.0, 161)
    vtln = [dict(args=args, out=kaldi.vtln_warp_freq(*args, freq)) for args in VTLN]
    mel = torch.linspace(0.0, 3000.0, 61)
    scales = dict(
        freq=freq,
        mel_scale=kaldi.mel_scale(freq),
        mel=mel,
        inverse_mel_scale=kaldi.inverse_mel_scale(mel),
        vtln_warp_mel_freq=kaldi.vtln_warp_mel_freq(*VTLN[0], mel),
    )
    fixtures = dict(
        torchaudio=torchaudio.__version__,
        signals=signals,
        cases=cases,
        mel_banks=banks,
        vtln=vtln,
        scales=scales,
    )
    torch.save(fixtures, DATA / "kaldi-torchaudio-2.11.pt")
    print(f"{len(cases)} cases, torchaudio {torchaudio.__version__}")


if __name__ == "__main__":
    main()
