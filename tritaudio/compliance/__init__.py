"""Mirrors ``torchaudio.compliance``: Kaldi-compatible features in :mod:`.kaldi`."""

from tritaudio.compliance import kaldi

__all__ = ["kaldi"]
