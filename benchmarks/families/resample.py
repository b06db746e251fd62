"""Resampling between common rates with each library's ``transforms.Resample`` (its
filter built once, as for a user who resamples many batches: torchaudio's fastest use)."""

from benchmarks.cases import Case, Size, tritaudio_and_torchaudio

RATES = [(44100, 16000), (16000, 48000), (48000, 44100), (22050, 16000)]


def _case(orig, new):
    def build(library, size, device):
        return library.transforms.Resample(orig, new).to(device)

    return Case(
        "resample",
        f"Resample {orig / 1000:g} -> {new / 1000:g} kHz",
        tritaudio_and_torchaudio(build),
        sample_rate=orig,
        headline=Size(32, 10, orig),
    )


CASES = [_case(orig, new) for orig, new in RATES]
