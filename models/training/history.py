"""Caller history for the `baseline` input (issue 14): per-clip speech statistics, and simulated calls.

A clip's statistics are the network's own `speech_stats` of the clip (per-band mean of the level-normalised
log-mel over the speech frames, then the speech-frame count): they depend on the fixed front-end only, so
they are computed once. A caller's history of H seconds is the same speaker's OTHER clips (any emotion,
never the clip itself) in a random order, whole clips until H seconds of audio, the last one counted in
proportion; its baseline is sum(count * mean) / sum(count) and sum(count), as serving accumulates it.
"""
from __future__ import annotations

import numpy as np
import torch

from model import N_MELS, speech_stats

WIDTH = N_MELS + 1


@torch.no_grad()
def clip_stats(front, waves: list[np.ndarray]) -> np.ndarray:
    """[len(waves), 65]: speech_stats of each whole clip (as the exported `stats` output gives it)."""
    out = np.zeros((len(waves), WIDTH), dtype=np.float32)
    for i, w in enumerate(waves):
        out[i] = speech_stats(front(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))[None]))[0].numpy()
    return out


def accumulate(stats: np.ndarray, seconds: np.ndarray, order: np.ndarray, h: float) -> np.ndarray:
    """The baseline after h seconds of the clips `order` (indices into stats/seconds), in that order."""
    b = np.zeros(WIDTH, dtype=np.float64)
    if h <= 0:
        return b.astype(np.float32)
    total, n, acc = np.zeros(N_MELS), 0.0, 0.0
    for k in order:
        frac = min(1.0, (h - acc) / max(seconds[k], 1e-6))
        c = stats[k, N_MELS] * frac
        total += stats[k, :N_MELS] * c
        n += c
        acc += seconds[k] * frac
        if acc >= h - 1e-9:
            break
    if n > 0:
        b[:N_MELS] = total / n
        b[N_MELS] = n
    return b.astype(np.float32)


def others_by_speaker(speakers: list[str]) -> list[np.ndarray]:
    """For each position, the positions of the same speaker's other clips."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(speakers):
        groups.setdefault(s, []).append(i)
    return [np.array([j for j in groups[s] if j != i], dtype=np.int64) for i, s in enumerate(speakers)]


def eval_baselines(stats: np.ndarray, seconds: np.ndarray, speakers: list[str], h: float, seed: int = 1) -> np.ndarray:
    """[N, 65]: each clip's baseline after h seconds of its speaker's other clips, in an order seeded by
    (seed, position), the same for every h (a longer history extends a shorter one)."""
    others = others_by_speaker(speakers)
    out = np.zeros((len(speakers), WIDTH), dtype=np.float32)
    for i, o in enumerate(others):
        order = np.random.default_rng([seed, i]).permutation(o)
        out[i] = accumulate(stats, seconds, order, h)
    return out


class TrainHistory:
    """Random histories for training examples: none with probability p0, else uniform in [lo, hi] seconds,
    from the same speed variant of the speaker's other training clips."""

    def __init__(self, stats: np.ndarray, seconds: np.ndarray, speakers: list[str], rng: np.random.Generator,
                 p0: float = 0.3, lo: float = 3.0, hi: float = 60.0):
        self.stats, self.seconds = stats, seconds  # [C, V, 65], [C, V]
        self.others = others_by_speaker(speakers)
        self.rng, self.p0, self.lo, self.hi = rng, p0, lo, hi

    def sample(self, idx: np.ndarray, variant: np.ndarray) -> torch.Tensor:
        out = np.zeros((len(idx), WIDTH), dtype=np.float32)
        for row, (i, v) in enumerate(zip(idx, variant)):
            if self.rng.random() < self.p0:
                continue
            h = self.rng.uniform(self.lo, self.hi)
            order = self.rng.permutation(self.others[i])
            out[row] = accumulate(self.stats[:, v], self.seconds[:, v], order, h)
        return torch.from_numpy(out)
