"""Write tests/data/analysis-torchaudio-2.11.pt: torchaudio 2.11's outputs for the analysis
and beamforming families on small fixed inputs.

Run from the repository root with torchaudio's pure-Python sources importable:
    PYTHONPATH=/work/ta python tests/data/make_analysis_fixtures.py
The tests read only the .pt file (they never import torchaudio).
"""

from pathlib import Path

import soundfile
import torch
import torchaudio
import torchaudio.functional as TF
import torchaudio.transforms as TT

DATA = Path(__file__).parent


def clip(name, start, length):
    samples, _ = soundfile.read(DATA / name, dtype="float32", always_2d=True)
    return torch.from_numpy(samples[start : start + length].T.copy())


def analysis_cases(generator):
    speech = clip("speech_en_16k.flac", 8000, 24000)  # (1, 24000), 1.5 s
    chord = clip("chord_stereo_44k.wav", 0, 30000)  # (2, 30000)
    pink = clip("pink_noise_48k.wav", 0, 24000)  # (1, 24000)
    quiet = 1e-3 * torch.randn(1, 12000, generator=generator)
    vad_input = torch.cat([quiet, speech], dim=-1)  # 0.75 s of low noise, then speech
    mfcc = TT.MFCC(16000, n_mfcc=13)(speech[0]).T.contiguous()  # (frames, 13)
    mel = TT.MelSpectrogram(16000, n_fft=400, n_mels=40)(speech)  # (1, 40, frames)
    cases = {
        "speech": speech,
        "chord": chord,
        "pink": pink,
        "vad_input": vad_input,
        "mfcc": mfcc,
        "mel": mel,
        # int16 to keep the file small (the levels are below 256)
        "mu_law_encoding": TF.mu_law_encoding(speech[:, :4000], 256).short(),
        "mu_law_encoding_16": TF.mu_law_encoding(chord[:, :4000], 16).short(),
        "mu_law_decoding": TF.mu_law_decoding(torch.arange(256), 256),
        "pitch_speech": TF.detect_pitch_frequency(speech, 16000),
        "pitch_chord": TF.detect_pitch_frequency(chord, 44100, 0.02, 11, 60, 2000),
        "centroid_speech": TT.SpectralCentroid(16000)(speech),
        "centroid_chord": TT.SpectralCentroid(44100, n_fft=512, hop_length=128, pad=3)(chord),
        "loudness_speech": TF.loudness(speech, 16000),
        "loudness_chord": TF.loudness(chord, 44100),
        "loudness_pink": TF.loudness(pink, 48000),
        "inverse_mel": TT.InverseMelScale(201, n_mels=40, sample_rate=16000)(mel),
        "vad_speech": TF.vad(vad_input, 16000),
        "vad_speech_pre": TF.vad(vad_input, 16000, trigger_level=5.0, pre_trigger_time=0.1),
    }
    for center in (False, True):
        for norm_vars in (False, True):
            key = f"cmn_{int(center)}{int(norm_vars)}"
            cases[key] = TF.sliding_window_cmn(mfcc, 60, 20, center, norm_vars)
    return cases


def beamforming_cases(generator):
    channels, freq, time = 4, 9, 50

    def complex_randn(*shape):
        real = torch.randn(*shape, generator=generator, dtype=torch.float64)
        imag = torch.randn(*shape, generator=generator, dtype=torch.float64)
        return torch.complex(real, imag)

    specgram = complex_randn(2, channels, freq, time)
    mask_s = torch.rand(2, freq, time, generator=generator, dtype=torch.float64)
    mask_n = 1 - mask_s
    multi_mask = torch.rand(2, channels, freq, time, generator=generator, dtype=torch.float64)
    psd_s = TF.psd(specgram, mask_s)
    psd_n = TF.psd(specgram, mask_n)
    one_hot = torch.zeros(2, channels, dtype=torch.float64)
    one_hot[:, 1] = 1
    rtf = TF.rtf_power(psd_s, psd_n, 0)
    cases = {
        "specgram": specgram,
        "mask_s": mask_s,
        "mask_n": mask_n,
        "multi_mask": multi_mask,
        "psd_s": psd_s,
        "psd_n": psd_n,
        "psd_plain": TF.psd(specgram),
        "psd_unnormalized": TF.psd(specgram, mask_s, normalize=False),
        "psd_module_multi": TT.PSD(multi_mask=True)(specgram, multi_mask),
        "souden_int": TF.mvdr_weights_souden(psd_s, psd_n, 0),
        "souden_tensor": TF.mvdr_weights_souden(psd_s, psd_n, one_hot),
        "souden_no_loading": TF.mvdr_weights_souden(psd_s, psd_n, 2, diagonal_loading=False),
        "rtf_evd": TF.rtf_evd(psd_s),
        "rtf_power": rtf,
        "rtf_power_1": TF.rtf_power(psd_s, psd_n, one_hot, n_iter=1),
        "rtf_power_5": TF.rtf_power(psd_s, psd_n, 1, n_iter=5, diagonal_loading=False),
        "mvdr_rtf": TF.mvdr_weights_rtf(rtf, psd_n, 0),
        "mvdr_rtf_none": TF.mvdr_weights_rtf(rtf, psd_n),
        "mvdr_rtf_tensor": TF.mvdr_weights_rtf(rtf, psd_n, one_hot),
        "apply_beamforming": TF.apply_beamforming(TF.mvdr_weights_rtf(rtf, psd_n, 0), specgram),
        "souden_module": TT.SoudenMVDR()(specgram, psd_s, psd_n, 0),
        "rtf_module": TT.RTFMVDR()(specgram, rtf, psd_n, 0),
    }
    specgram32 = specgram.to(torch.complex64)
    for solution in ("ref_channel", "stv_evd", "stv_power"):
        module = TT.MVDR(ref_channel=1, solution=solution)
        cases[f"mvdr_{solution}"] = module(specgram32, mask_s.float(), mask_n.float())
    online = TT.MVDR(solution="ref_channel", online=True)
    cases["mvdr_online_1"] = online(specgram32, mask_s.float(), mask_n.float())
    cases["mvdr_online_2"] = online(specgram32.flip(-1), mask_n.float(), mask_s.float())
    return cases


def main():
    generator = torch.Generator().manual_seed(0)
    fixtures = {
        "torchaudio_version": torchaudio.__version__,
        "analysis": analysis_cases(generator),
        "beamforming": beamforming_cases(generator),
    }
    torch.save(fixtures, DATA / "analysis-torchaudio-2.11.pt")


if __name__ == "__main__":
    main()
