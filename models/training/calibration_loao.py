"""Which calibration carries over to a new voice? For each trained candidate and each calibration mode,
fits the calibration on 7 of the 8 validation actors and scores the 8th, for every actor in turn, and
prints the pooled held-out figures. Validation actors only: it can inform the choice of `--calibration`
without touching the test actors.

    /usr/bin/python3 models/training/calibration_loao.py models/candidates/e2 models/candidates/g3 ...
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import load_audio, load_split, read_manifest, split_indices  # noqa: E402
from train import fit_calibration, load_network, logits_of, metrics  # noqa: E402

MODES = ("temperature", "nll")


def main() -> None:
    torch.set_num_threads(2)
    clips = read_manifest()
    split = load_split(clips)
    waves = load_audio(clips)
    val = split_indices(clips, split, ("val",))["val"]
    actors = np.array([clips[i].actor for i in val])
    labels = torch.tensor([clips[i].label for i in val])
    for folder in (Path(f) for f in sys.argv[1:]):
        net = load_network(folder)
        logits = logits_of(net, [waves[i] for i in val])
        for mode in MODES:
            probs = torch.zeros(len(val), logits.shape[1])
            for actor in np.unique(actors):
                held_out = torch.from_numpy(actors == actor)
                t, bias = fit_calibration(logits[~held_out], labels[~held_out], mode)
                probs[held_out] = torch.softmax(logits[held_out] / t + bias, dim=1)
            m = metrics(probs.numpy(), labels.numpy())
            print(f"{folder.name:<8} {mode:<12} held-out actor: accuracy {m['accuracy']:.4f} macro-F1 {m['macroF1']:.4f} "
                  f"ECE {m['ece']:.4f} NLL {m['nll']:.4f}", flush=True)


if __name__ == "__main__":
    main()
