"""tritaudio: a drop-in, faster torchaudio whose hot paths are Triton kernels.

``tritaudio.load / save / info / stream`` read and write audio through libsndfile;
``tritaudio.functional`` mirrors ``torchaudio.functional``. Triton is imported only when a
kernel first runs.
"""

from tritaudio import functional, transforms
from tritaudio._backend import BACKENDS, backend_for, get_backend, use_backend
from tritaudio.io import AudioFileError, AudioMetaData, info, load, save, stream

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "AudioFileError",
    "AudioMetaData",
    "__version__",
    "backend_for",
    "functional",
    "get_backend",
    "info",
    "load",
    "save",
    "stream",
    "transforms",
    "use_backend",
]

from tritaudio import compliance  # mirrors torchaudio.compliance

__all__ += ["compliance"]
