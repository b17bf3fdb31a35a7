"""Choose the model to ship among trained candidates, by validation only, and install it in models/.

    /usr/bin/python3 models/training/select.py models/candidates/e1 models/candidates/e2 ...

Each candidate is a train.py output folder (<name>.onnx, .json, .parity.json). The rule is the one
the previous model was chosen by: the highest macro-F1 on the validation actors after calibration
(what ships is the calibrated model); ties go to the smaller network. The test figures are recorded next to
it for the card, never used to choose. The winner's files are copied to --out, and its card gains a
`selection` record of every candidate.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

CRITERION = "highest validation macro-F1 after calibration; ties: fewer parameters"


def summary(folder: Path, name: str) -> dict:
    card = json.loads((folder / f"{name}.json").read_text())
    v, t = card["metrics"]["val"], card["metrics"]["test"]
    return {
        "candidate": folder.name,
        "command": card["command"],
        "parameters": card["parameters"],
        "val": {"accuracy": v["accuracy"], "macroF1": v["macroF1"], "ece": v["ece"]},
        "test": {"accuracy": t["accuracy"], "macroF1": t["macroF1"], "ece": t["ece"],
                 "minRecall": min(c["recall"] for c in t["perClass"].values())},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("candidates", nargs="+")
    p.add_argument("--name", default="ser-cnn")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent))
    args = p.parse_args()
    folders = [Path(c) for c in args.candidates]
    rows = [summary(f, args.name) for f in folders]
    best = max(range(len(rows)), key=lambda i: (rows[i]["val"]["macroF1"], -rows[i]["parameters"]))
    out = Path(args.out)
    for ext in ("onnx", "parity.json"):
        shutil.copyfile(folders[best] / f"{args.name}.{ext}", out / f"{args.name}.{ext}")
    card = json.loads((folders[best] / f"{args.name}.json").read_text())
    card["selection"] = {"criterion": CRITERION, "chosen": rows[best]["candidate"], "candidates": rows}
    (out / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    for r in rows:
        mark = "*" if r is rows[best] else " "
        print(f"{mark} {r['candidate']:<8} val macro-F1 {r['val']['macroF1']:.3f} acc {r['val']['accuracy']:.3f} | "
              f"test acc {r['test']['accuracy']:.3f} macro-F1 {r['test']['macroF1']:.3f} ece {r['test']['ece']:.3f}")


if __name__ == "__main__":
    main()
