"""Triton kernels and their launchers (installed as ``tritaudio.kernels``)."""
