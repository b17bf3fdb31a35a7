"""Choose the model to ship among trained candidates, by validation only, and install it in models/.

    /usr/bin/python3 models/training/select.py models/candidates/e1 models/candidates/e2 ...

Each candidate is a train.py output folder (<name>.onnx, .json, .parity.json). The ranking is the one
the previous model was chosen by: the highest macro-F1 on the validation actors after calibration
(what ships is the calibrated model); ties go to the smaller network. The test figures never rank: they
are an acceptance gate, pass or fail against the fixed targets in GATE, and the best-ranked candidate that
passes ships. Calibration is gated because the hang-up rules compare these probabilities to thresholds,
and a calibration fitted on 8 validation actors can fail to carry over to new voices. The winner's files
are copied to --out, and its card gains a `selection` record of every candidate.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

CRITERION = ("highest validation macro-F1 after calibration, ties: fewer parameters; among candidates that pass "
             "the acceptance gate on the test actors")
GATE = {
    "test ECE <= 0.05": lambda r: r["test"]["ece"] <= 0.05,
    "every test class recall >= 0.40": lambda r: r["test"]["minRecall"] >= 0.40,
    "A-law, 5% loss, 20 dB SNR each cost <= 3 points": lambda r: r["test"]["worstRobustnessDrop"] <= 0.03,
    "ONNX file <= 5 MB": lambda r: r["fileBytes"] <= 5e6,
}


def summary(folder: Path, name: str) -> dict:
    card = json.loads((folder / f"{name}.json").read_text())
    v, t = card["metrics"]["val"], card["metrics"]["test"]
    return {
        "candidate": folder.name,
        "command": card["command"],
        "parameters": card["parameters"],
        "fileBytes": card["fileBytes"],
        "val": {"accuracy": v["accuracy"], "macroF1": v["macroF1"], "ece": v["ece"]},
        "test": {"accuracy": t["accuracy"], "macroF1": t["macroF1"], "ece": t["ece"],
                 "minRecall": min(c["recall"] for c in t["perClass"].values()),
                 "worstRobustnessDrop": max(t["accuracy"] - r["accuracy"] for r in card["metrics"]["robustness"].values())},
    }


def gate_failures(row: dict) -> list[str]:
    return [target for target, passes in GATE.items() if not passes(row)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("candidates", nargs="+")
    p.add_argument("--name", default="ser-cnn")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent))
    args = p.parse_args()
    folders = [Path(c) for c in args.candidates]
    rows = [summary(f, args.name) for f in folders]
    for r in rows:
        r["gateFailures"] = gate_failures(r)
    passing = [i for i, r in enumerate(rows) if not r["gateFailures"]]
    if not passing:
        raise SystemExit("no candidate passes the acceptance gate; nothing installed")
    best = max(passing, key=lambda i: (rows[i]["val"]["macroF1"], -rows[i]["parameters"]))
    out = Path(args.out)
    for ext in ("onnx", "parity.json"):
        shutil.copyfile(folders[best] / f"{args.name}.{ext}", out / f"{args.name}.{ext}")
    card = json.loads((folders[best] / f"{args.name}.json").read_text())
    card["selection"] = {"criterion": CRITERION, "gate": list(GATE), "chosen": rows[best]["candidate"], "candidates": rows}
    (out / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    for r in rows:
        mark = "*" if r is rows[best] else " "
        print(f"{mark} {r['candidate']:<8} val macro-F1 {r['val']['macroF1']:.3f} acc {r['val']['accuracy']:.3f} | "
              f"test acc {r['test']['accuracy']:.3f} macro-F1 {r['test']['macroF1']:.3f} ece {r['test']['ece']:.3f}"
              + (f" | fails: {'; '.join(r['gateFailures'])}" if r["gateFailures"] else ""))


if __name__ == "__main__":
    main()
