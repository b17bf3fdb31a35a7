"""The emotion classifier, front-end included, so that the ONNX graph takes raw 8 kHz audio.

    audio [N, T] -> STFT as a fixed-weight Conv1d (Hann, n_fft 256 or as given, hop 80 = 10 ms; only the
         bins the mel bands use) -> power -> 64 log-mel bands (60-3900 Hz) -> minus the loudest
         (smoothed) frame level: gain invariant, spectral tilt kept
      -> optionally (cmn) a second channel: the same minus each band's mean over the speech frames
      -> 2-D stem: strided 3x3 convs (64 mel x T  ->  8 x T/2, 32 channels)
      -> 1-D trunk over time: 256 -> 128 channels, one dilated residual block per dilation
      -> attentive statistics pooling (weighted mean + std) -> linear -> logits / temperature + class bias
      -> softmax
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio

SAMPLE_RATE = 8000
N_FFT = 256
HOP = 80
N_MELS = 64
F_MIN = 60.0
F_MAX = 3900.0


class LogMel(nn.Module):
    def __init__(self, n_fft: int = N_FFT) -> None:
        super().__init__()
        self.n_fft = n_fft
        n = torch.arange(n_fft, dtype=torch.float64)
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / n_fft)  # periodic Hann
        # Only the bins the mel bands use: above F_MAX the filters are zero.
        fb = torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, F_MIN, F_MAX, N_MELS, SAMPLE_RATE,
                                                   norm="slaney", mel_scale="slaney")
        used = int(fb.sum(dim=1).nonzero().max()) + 1
        k = torch.arange(used, dtype=torch.float64)[:, None]
        phase = 2 * math.pi * k * n[None, :] / n_fft
        kernel = torch.cat([torch.cos(phase) * window, -torch.sin(phase) * window])  # [2F, n_fft]
        self.register_buffer("dft", kernel.float()[:, None, :])
        self.register_buffer("mel", fb[:used].T.contiguous())  # [M, F]
        self.bins = used

    def forward(self, audio: torch.Tensor, warp: torch.Tensor | None = None) -> torch.Tensor:
        spec = F.conv1d(audio[:, None, :], self.dft, stride=HOP)  # [N, 2F, frames]
        nf = self.bins
        power = spec[:, :nf] ** 2 + spec[:, nf:] ** 2
        if warp is not None:
            power = warp_frequency(power, warp)
        mel = torch.matmul(self.mel, power)  # [N, M, frames]
        logmel = torch.log(mel + 1e-6)
        level = F.avg_pool1d(logmel.mean(dim=1, keepdim=True), 5, 1, 2, count_include_pad=False)
        return logmel - level.amax(dim=2, keepdim=True)


def warp_frequency(power: torch.Tensor, alpha: torch.Tensor, knee: float = 0.85) -> torch.Tensor:
    """Vocal tract length perturbation (Jaitly & Hinton 2013), for training only: each example's
    frequency axis scaled by its alpha (formants up for alpha > 1) below the knee, then mapped linearly
    so that the top bin stays the top bin. power [N, F, T], alpha [N]."""
    n_bins = power.shape[1]
    top = n_bins - 1
    k = torch.arange(n_bins, dtype=power.dtype)[None, :]  # output bins
    a = alpha[:, None].to(power.dtype)
    edge = knee * top * torch.minimum(a, torch.ones_like(a))  # output bin where the linear part ends
    low = k / a
    high = edge / a + (k - edge) * (top - edge / a) / (top - edge)
    src = torch.where(k <= edge, low, high).clamp(0, top)  # [N, F] source position of each output bin
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=top)
    frac = (src - lo)[:, :, None]
    gather = lambda idx: torch.gather(power, 1, idx[:, :, None].expand(-1, -1, power.shape[2]))  # noqa: E731
    return gather(lo) * (1 - frac) + gather(hi) * frac


def conv_bn(cin: int, cout: int, stride: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class ResBlock1d(nn.Module):
    def __init__(self, ch: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm1d(ch)
        self.conv2 = nn.Conv1d(ch, ch, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(ch)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(self.drop(y)))
        return F.relu(x + y)


class AttentiveStatsPool(nn.Module):
    def __init__(self, ch: int, hidden: int = 64) -> None:
        super().__init__()
        self.att = nn.Sequential(nn.Conv1d(ch, hidden, 1), nn.Tanh(), nn.Conv1d(hidden, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(self.att(x), dim=2)
        mean = (x * w).sum(dim=2)
        var = ((x * x) * w).sum(dim=2) - mean * mean
        return torch.cat([mean, torch.sqrt(var.clamp(min=1e-5))], dim=1)


def speech_weights(logmel: torch.Tensor) -> torch.Tensor:
    """Each frame's weight as speech [N, 1, T]: frames within about 20 dB of the loudest (smooth)."""
    level = logmel.mean(dim=1, keepdim=True)  # [N, 1, T], the loudest frame near 0 (LogMel)
    return torch.sigmoid(2.0 * (level + 5.0))


def speech_stats(logmel: torch.Tensor) -> torch.Tensor:
    """[N, M + 1]: each band's mean over the speech frames, then the speech-frame count (sum of the
    weights). What a caller's history accumulates: over several windows the history mean is
    sum(count * mean) / sum(count), the `baseline` input."""
    w = speech_weights(logmel)
    n = w.sum(dim=2)  # [N, 1]
    mean = (logmel * w).sum(dim=2) / n.clamp(min=1e-3)
    return torch.cat([mean, n], dim=1)


def utterance_normalised(logmel: torch.Tensor, baseline: torch.Tensor | None = None) -> torch.Tensor:
    """Each band minus its mean over the speech frames (frames within about 20 dB of the loudest):
    the long-term spectrum of this voice and this line, which is who is talking, not how.

    With `baseline` [N, M + 1] (the caller's earlier speech: per-band speech-frame mean, then the
    speech-frame count), the mean is over the history's speech frames and this window's together:
    (hist_mean * hist_n + sum of this window's weighted frames) / (hist_n + this window's count).
    A zero baseline (no history) gives exactly the clip-only mean."""
    w = speech_weights(logmel)
    total = (logmel * w).sum(dim=2, keepdim=True)
    count = w.sum(dim=2, keepdim=True)
    if baseline is not None:
        hist_n = baseline[:, N_MELS:N_MELS + 1, None].clamp(min=0)  # [N, 1, 1]
        total = total + baseline[:, :N_MELS, None] * hist_n
        count = count + hist_n
    return logmel - total / count.clamp(min=1e-3)


class EmotionNet(nn.Module):
    """Log-mel features in, logits out. `features` is separate so training can augment in between."""

    def __init__(self, n_classes: int = 6, ch: int = 128, dropout: float = 0.2,
                 stem: tuple[int, ...] = (16, 32, 32), n_fft: int = N_FFT, cmn: bool = False,
                 dilations: tuple[int, ...] = (1, 2, 3), baseline: bool = False, baseline_mode: str = "cmn") -> None:
        super().__init__()
        self.logmel = LogMel(n_fft)
        self.cmn = cmn or baseline
        # baseline (the `baseline` input, the caller's history): mode "cmn": the CMN channel's mean also takes
        # the history; mode "channel": a third channel, the log-mel minus the history-and-clip mean, beside
        # the two clip-only channels
        self.baseline = baseline
        self.baseline_mode = baseline_mode
        cmn = self.cmn
        inputs = (2 if cmn else 1) + (1 if baseline and baseline_mode == "channel" else 0)
        self.input_norm = nn.BatchNorm2d(inputs)
        # The last three stem convs each halve the mel axis (64 -> 8), the middle one of them also time.
        strides = [(1, 1)] * (len(stem) - 3) + [(2, 1), (2, 2), (2, 1)]
        chans = (inputs,) + tuple(stem)
        self.stem = nn.Sequential(*(conv_bn(chans[i], chans[i + 1], strides[i]) for i in range(len(stem))))
        self.proj = nn.Sequential(nn.Conv1d(stem[-1] * (N_MELS // 8), ch, 1, bias=False), nn.BatchNorm1d(ch), nn.ReLU())
        self.blocks = nn.Sequential(*(ResBlock1d(ch, d, dropout) for d in dilations))
        self.pool = AttentiveStatsPool(ch)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * ch, n_classes))

    def features(self, audio: torch.Tensor, warp: torch.Tensor | None = None) -> torch.Tensor:
        return self.logmel(audio, warp)

    def classify(self, logmel: torch.Tensor, baseline: torch.Tensor | None = None) -> torch.Tensor:
        x = logmel[:, None]
        if self.baseline and self.baseline_mode == "channel":
            x = torch.cat([x, utterance_normalised(logmel)[:, None], utterance_normalised(logmel, baseline)[:, None]], dim=1)
        elif self.cmn:
            x = torch.cat([x, utterance_normalised(logmel, baseline if self.baseline else None)[:, None]], dim=1)
        x = self.stem(self.input_norm(x))  # [N, C, M/8, T/2]
        x = x.flatten(1, 2)
        x = self.blocks(self.proj(x))
        return self.head(self.pool(x))

    def forward(self, audio: torch.Tensor, baseline: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.features(audio), baseline)


class Ensemble(nn.Module):
    """Networks trained from different seeds; their logits are averaged."""

    def __init__(self, nets: list[EmotionNet]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        return self.nets[0].features(audio)  # the front-end has no weights to learn: compute it once

    def classify(self, feats: torch.Tensor, baseline: torch.Tensor | None = None) -> torch.Tensor:
        if len(self.nets) == 1:
            return self.nets[0].classify(feats, baseline)
        return torch.stack([n.classify(feats, baseline) for n in self.nets]).mean(dim=0)

    def forward(self, audio: torch.Tensor, baseline: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.features(audio), baseline)


class Exported(nn.Module):
    """What ships: audio [N, T] -> calibrated probabilities [N, K]; with a baseline network,
    (audio [N, T], baseline [N, M + 1]) -> (probs [N, K], stats [N, M + 1]), stats being this window's
    speech_stats, which serving accumulates into the caller's next baseline."""

    def __init__(self, net: nn.Module, temperature: float, bias: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("inv_t", torch.tensor(1.0 / temperature))
        self.register_buffer("bias", bias.clone().float())

    def forward(self, audio: torch.Tensor, baseline: torch.Tensor | None = None):
        if baseline is None:
            return torch.softmax(self.net(audio) * self.inv_t + self.bias, dim=1)
        feats = self.net.features(audio)
        probs = torch.softmax(self.net.classify(feats, baseline) * self.inv_t + self.bias, dim=1)
        return probs, speech_stats(feats)
