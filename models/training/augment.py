"""Telephone-channel augmentation on batches of 8 kHz waveforms, plus SpecAugment and mixup.

Every function takes and returns float tensors [N, T] (or [N, M, frames] for spectrograms) and a
torch.Generator, so a run is reproducible from its seed.
"""
from __future__ import annotations

import math

import torch

FRAME = 160  # 20 ms at 8 kHz: one RTP packet


def _u(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _pick(g: torch.Generator, n: int, p: float) -> torch.Tensor:
    return torch.rand(n, generator=g) < p


def gain(x: torch.Tensor, g: torch.Generator, lo_db: float = -15.0, hi_db: float = 6.0) -> torch.Tensor:
    k = 10 ** (_u(g, x.shape[0], lo_db, hi_db) / 20)
    return (x * k[:, None]).clamp(-1.0, 1.0)


def coloured_noise(n: int, t: int, g: torch.Generator) -> torch.Tensor:
    """White, pink or brown noise, unit RMS."""
    white = torch.randn(n, t, generator=g)
    spec = torch.fft.rfft(white)
    f = torch.arange(spec.shape[1]).clamp(min=1).float()
    slope = torch.randint(0, 3, (n, 1), generator=g).float()  # 0 white, 1 pink, 2 brown
    spec = spec / f[None, :] ** (slope / 2)
    noise = torch.fft.irfft(spec, n=t)
    return noise / noise.pow(2).mean(dim=1, keepdim=True).sqrt().clamp(min=1e-8)


def add_noise(x: torch.Tensor, g: torch.Generator, p: float, snr_lo: float = 10.0, snr_hi: float = 30.0,
              speech_rms: torch.Tensor | None = None) -> torch.Tensor:
    sel = _pick(g, x.shape[0], p)
    if not sel.any():
        return x
    rms = speech_rms if speech_rms is not None else x.pow(2).mean(dim=1).sqrt()
    snr = _u(g, x.shape[0], snr_lo, snr_hi)
    level = rms * 10 ** (-snr / 20) * sel
    return x + coloured_noise(*x.shape, g) * level[:, None]


def band_limit(x: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    """Random telephone band: high-pass 100-400 Hz, low-pass 3000-3800 Hz (smooth FFT mask)."""
    sel = _pick(g, x.shape[0], p)
    if not sel.any():
        return x
    spec = torch.fft.rfft(x)
    freqs = torch.linspace(0, 4000, spec.shape[1])
    hp = _u(g, x.shape[0], 100, 400)[:, None]
    lp = _u(g, x.shape[0], 3000, 3800)[:, None]
    mask = torch.sigmoid((freqs[None] - hp) / 30) * torch.sigmoid((lp - freqs[None]) / 60)
    mask = torch.where(sel[:, None], mask, torch.ones_like(mask))
    return torch.fft.irfft(spec * mask, n=x.shape[1])


def mulaw_round_trip(x: torch.Tensor) -> torch.Tensor:
    mu = 255.0
    y = torch.sign(x) * torch.log1p(mu * x.abs().clamp(max=1)) / math.log1p(mu)
    y = torch.round(y * 127) / 127
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu


def alaw_round_trip(x: torch.Tensor) -> torch.Tensor:
    a = 87.6
    ax = x.abs().clamp(max=1)
    small = ax < 1 / a
    y = torch.where(small, a * ax / (1 + math.log(a)), (1 + torch.log((a * ax).clamp(min=1e-12))) / (1 + math.log(a)))
    y = torch.round(y * 127) / 127
    big = y >= 1 / (1 + math.log(a))
    z = torch.where(big, torch.exp(y * (1 + math.log(a)) - 1) / a, y * (1 + math.log(a)) / a)
    return torch.sign(x) * z


def codec(x: torch.Tensor, g: torch.Generator, p_ulaw: float, p_alaw: float) -> torch.Tensor:
    r = torch.rand(x.shape[0], generator=g)
    out = x
    mu = r < p_ulaw
    al = (r >= p_ulaw) & (r < p_ulaw + p_alaw)
    if mu.any():
        out = torch.where(mu[:, None], mulaw_round_trip(x), out)
    if al.any():
        out = torch.where(al[:, None], alaw_round_trip(x), out)
    return out


def packet_loss(x: torch.Tensor, g: torch.Generator, p: float, max_rate: float = 0.08) -> torch.Tensor:
    """Zero whole 20 ms frames, as the product's jitter buffer conceals a lost RTP packet."""
    sel = _pick(g, x.shape[0], p)
    if not sel.any():
        return x
    frames = x.shape[1] // FRAME
    rate = _u(g, x.shape[0], 0.0, max_rate) * sel
    drop = torch.rand(x.shape[0], frames, generator=g) < rate[:, None]
    keep = (~drop).float().repeat_interleave(FRAME, dim=1)
    keep = torch.nn.functional.pad(keep, (0, x.shape[1] - keep.shape[1]), value=1.0)
    return x * keep


def spec_augment(m: torch.Tensor, g: torch.Generator, n_time: int = 2, max_time: int = 25,
                 n_freq: int = 2, max_freq: int = 8) -> torch.Tensor:
    n, bins, frames = m.shape
    fill = m.amin(dim=(1, 2), keepdim=True)
    mask = torch.zeros_like(m, dtype=torch.bool)
    t_idx = torch.arange(frames)[None, None, :]
    f_idx = torch.arange(bins)[None, :, None]
    for _ in range(n_time):
        w = torch.randint(0, max_time + 1, (n, 1, 1), generator=g)
        s = (torch.rand(n, 1, 1, generator=g) * (frames - w).clamp(min=1)).long()
        mask |= (t_idx >= s) & (t_idx < s + w)
    for _ in range(n_freq):
        w = torch.randint(0, max_freq + 1, (n, 1, 1), generator=g)
        s = (torch.rand(n, 1, 1, generator=g) * (bins - w).clamp(min=1)).long()
        mask |= (f_idx >= s) & (f_idx < s + w)
    return torch.where(mask, fill.expand_as(m), m)


def speed_variants(wave: torch.Tensor, factors: tuple[float, ...]) -> list[torch.Tensor]:
    """Speed perturbation by resampling (tempo and pitch change together, as in Kaldi's recipe)."""
    import torchaudio.functional as AF
    out = []
    for f in factors:
        if f == 1.0:
            out.append(wave)
        else:
            out.append(AF.resample(wave, orig_freq=int(round(8000 * f)), new_freq=8000))
    return out
