"""How much do the candidates disagree? Averages the log-probabilities of several trained candidates and
compares the average's accuracy with each candidate's on the validation and test actors (uncalibrated,
whole clips). A probe for the model card, not a way to choose: if the average of N networks is hardly
better than one, the gap to a target is not the variance between training runs.

    /usr/bin/python3 models/training/ensemble_probe.py models/candidates/e2 models/candidates/r1 ...
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import load_audio, load_split, read_manifest, split_indices  # noqa: E402
from train import load_network, logits_of  # noqa: E402


def main() -> None:
    folders = [Path(f) for f in sys.argv[1:]]
    torch.set_num_threads(1)
    clips = read_manifest()
    split = load_split(clips)
    waves = load_audio(clips)
    labels = np.array([c.label for c in clips])
    part = split_indices(clips, split, ("val", "test"))
    accuracy = lambda logp, p: float((logp.argmax(1) == labels[part[p]]).mean())  # noqa: E731
    total = {p: 0.0 for p in part}
    for folder in folders:
        net = load_network(folder)
        logp = {p: torch.log_softmax(logits_of(net, [waves[i] for i in part[p]]), 1).numpy() for p in part}
        for p in part:
            total[p] = total[p] + logp[p]
        print(f"{folder.name:<8} val {accuracy(logp['val'], 'val'):.4f} test {accuracy(logp['test'], 'test'):.4f}", flush=True)
    print(f"average of {len(folders)}: val {accuracy(total['val'], 'val'):.4f} test {accuracy(total['test'], 'test'):.4f}")


if __name__ == "__main__":
    main()
