"""Write tests/data/torchaudio-2.11-resample-lengths.pt: torchaudio 2.11's resampled lengths
(the real function's output shapes) and Speed lengths, for tests/test_resample_bounds.py.

    PYTHONPATH=/work/ta python tests/data/make_resample_fixtures.py
"""

from pathlib import Path

import torch
import torchaudio.functional as F
import torchaudio.transforms as T

# (orig, new, length): the two of issue 14 item 4, lengths around them, and odd cases.
CASES = [
    (44100, 16000, 425011),
    (11025, 16000, 47269),
    (44100, 16000, 441),
    (44100, 16000, 1),
    (22050, 16000, 100003),
    (48000, 44100, 96001),
    (16000, 48000, 16001),
    (16001, 16000, 160010),
    (8000, 11025, 30001),
    (3, 2, 7),
    (7, 1, 20),
    (1, 5, 3),
] + [(44100, 16000, n) for n in range(424900, 425100, 7)]
# A fixed set of lengths for a Speed transform (factor, orig_freq, lengths).
SPEED = [(0.9, 16000), (1.1, 16000), (1.05, 44100)]
SPEED_LENGTHS = torch.tensor([1, 999, 16001, 47269, 160001, 425011, 2**24 + 3])


def main():
    lengths = []
    for orig, new, n in CASES:
        out = F.resample(torch.zeros(1, n), orig, new)
        lengths.append(out.shape[-1])
    speed = []
    for factor, rate in SPEED:
        _, out_lengths = T.Speed(rate, factor)(torch.zeros(1, 10), SPEED_LENGTHS)
        speed.append(out_lengths)
    data = {
        "cases": torch.tensor(CASES),
        "lengths": torch.tensor(lengths),
        "speed": SPEED,
        "speed_lengths_in": SPEED_LENGTHS,
        "speed_lengths": torch.stack(speed),
    }
    torch.save(data, Path(__file__).parent / "torchaudio-2.11-resample-lengths.pt")


if __name__ == "__main__":
    main()
