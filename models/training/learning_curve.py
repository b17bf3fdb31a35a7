"""How does test accuracy grow with the number of training actors? Reads runs of one recipe trained on
fewer actors (`train.py --train-actors N`) and the full run, fits accuracy = a + b * log2(actors) by least
squares, and says how many actors that line would need for a target. A probe for the model card: an
extrapolation from a few points, one seed each, not a promise.

    /usr/bin/python3 models/training/learning_curve.py models/learning-curve/lc26 models/learning-curve/lc40 \\
        models/candidates/e2 --target 0.62
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import load_audio, load_split, read_manifest, split_indices  # noqa: E402
from train import load_network, logits_of  # noqa: E402


def fit_log2(actors: list[int], accuracy: list[float]) -> tuple[float, float]:
    """(a, b) of accuracy = a + b * log2(actors)."""
    b, a = np.polyfit(np.log2(actors), accuracy, 1)
    return float(a), float(b)


def actors_for(target: float, a: float, b: float) -> float:
    return math.inf if b <= 0 else 2 ** ((target - a) / b)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="folders holding ser-cnn.json and ser-cnn.pt")
    p.add_argument("--target", type=float, default=0.62)
    args = p.parse_args()
    torch.set_num_threads(1)
    clips = read_manifest()
    waves = load_audio(clips)
    labels = np.array([c.label for c in clips])
    split = load_split(clips)
    test = split_indices(clips, split, ("test",))["test"]
    every_non_test = len(split["train"]) + len(split["val"])
    rows = []
    for folder in map(Path, args.runs):
        card = json.loads((folder / "ser-cnn.json").read_text())
        pred = logits_of(load_network(folder), [waves[i] for i in test]).argmax(1).numpy()
        rows.append({"actors": len(card["split"]["train"]), "clips": card["trainingData"]["clips"]["train"],
                     "run": folder.name, "calibrated": card["metrics"]["test"]["accuracy"],
                     "macroF1": card["metrics"]["test"]["macroF1"], "argmax": float((pred == labels[test]).mean()),
                     # validation actors in training: the calibration saw these voices, so its figures are not comparable
                     "inSample": bool(set(card["split"]["train"]) & set(card["split"]["val"]))})
    rows.sort(key=lambda r: (r["actors"], r["run"]))
    print("| train actors | train clips | run | test accuracy (calibrated) | test macro-F1 | test accuracy (network's argmax) |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    for r in rows:
        mark = " *" if r["inSample"] else ""
        print(f"| {r['actors']} | {r['clips']:,} | {r['run']} | {r['calibrated']:.1%}{mark} | {r['macroF1']:.3f}{mark} | "
              f"{r['argmax']:.1%} |")
    if any(r["inSample"] for r in rows):
        print("* validation actors in training: the calibration was fitted on voices the network trained on, "
              "so these figures are left out of the calibrated fit")
    comparable = [r for r in rows if not r["inSample"]]
    for label, column, usable in (("calibrated", "calibrated", comparable), ("network's argmax", "argmax", rows)):
        a, b = fit_log2([r["actors"] for r in usable], [r[column] for r in usable])
        print(f"{label} ({len(usable)} runs): accuracy = {a:.3f} + {b:.4f} * log2(actors), {b * 100:.1f} points per "
              f"doubling; at {every_non_test} actors (train + validation) {a + b * math.log2(every_non_test):.1%}; "
              f"{args.target:.0%} would need {actors_for(args.target, a, b):.0f} actors")


if __name__ == "__main__":
    main()
