"""Writes tests/data/torchaudio_api.json: torchaudio 2.11's public names (functional,
transforms, compliance.kaldi), the list the README's API table and tests/test_api.py hold
tritaudio to. Run with torchaudio 2.11 importable (its pure-Python parts suffice):

    PYTHONPATH=/path/to/torchaudio-2.11 python tests/data/make_torchaudio_api.py
"""

import inspect
import json
from pathlib import Path

import torchaudio
import torchaudio.compliance.kaldi as kaldi
import torchaudio.functional as F
import torchaudio.transforms as T


def _kaldi_names():
    return sorted(
        name
        for name, obj in vars(kaldi).items()
        if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == kaldi.__name__
    )


api = {
    "torchaudio_version": torchaudio.__version__,
    "functional": sorted(F.__all__),
    "transforms": sorted(T.__all__),
    "compliance.kaldi": _kaldi_names(),
}
out = Path(__file__).with_name("torchaudio_api.json")
out.write_text(json.dumps(api, indent=1) + "\n")
print(f"{out}: {', '.join(f'{k} {len(v)}' for k, v in api.items() if isinstance(v, list))}")
