"""Issue 14: a model's figures with the caller's own earlier speech as history (the `baseline` input).

    /usr/bin/python3 models/training/measure_baseline.py MODEL [MODEL ...] [--json out.json] [--threads 1]

MODEL is a training run's folder (its ser-cnn.pt: members, temperature, class bias) or an ONNX file of the
shipped architecture (weights loaded by onnx_init; its calibration from the file). A model without the
`baseline` input is measured as it is (its figures are the same at every H), and also with its weights in a
baseline network ("+hist-cmn": the history joins the CMN channel's mean, no retraining).

Sets: the CREMA-D test actors of split.json at H = 0, 10, 30, 60 s, and each xcorpus-8k corpus at H = 0
and 30 s (evaluation only). Whole clips, one at a time. History: the same speaker's other clips of the set
(any emotion, or with --same-emotion only the clip's own; never the clip itself), whole clips in an order seeded by (1, clip position) until H seconds
of audio, the last clip counted in proportion (history.py). Reported: accuracy (argmax over the six labels),
macro-F1 over the labels the set has, per-class recall, ECE (15 bins).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score, recall_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DEFAULT_DATA, LABELS, check_split, load_audio, load_split, read_manifest, read_ulaw_wav, split_indices  # noqa: E402
from history import clip_stats, eval_baselines  # noqa: E402
from model import EmotionNet, Ensemble, LogMel  # noqa: E402
from onnx_init import load_onnx_weights  # noqa: E402
from train import expected_calibration_error, load_members  # noqa: E402

XCORPUS = DEFAULT_DATA.parent / "xcorpus-8k"
SHIPPED_ARCH = dict(ch=128, dropout=0.1, stem=(16, 32, 32), n_fft=384, cmn=True, dilations=(1, 2, 4, 8))


class Calibrated(torch.nn.Module):
    def __init__(self, net, temperature: float, bias: torch.Tensor, baseline: bool):
        super().__init__()
        self.net, self.t, self.bias, self.baseline = net.eval(), temperature, bias.float(), baseline

    @torch.no_grad()
    def probs(self, waves: list[np.ndarray], bases: np.ndarray) -> np.ndarray:
        out = []
        for w, b in zip(waves, bases):
            x = torch.from_numpy(w)[None]
            logits = self.net(x, torch.from_numpy(b)[None]) if self.baseline else self.net(x)
            out.append(torch.softmax(logits / self.t + self.bias, dim=1)[0].numpy())
        return np.stack(out)


def load_models(spec: str) -> list[tuple[str, Calibrated, int]]:
    p = Path(spec)
    if p.suffix == ".onnx":
        out = []
        for baseline in (False, True):
            net = EmotionNet(len(LABELS), baseline=baseline, **SHIPPED_ARCH)
            cal = load_onnx_weights(net, p)
            out.append((p.stem + ("+hist-cmn" if baseline else ""), Calibrated(net, cal["temperature"], cal["bias"], baseline), 384))
        return out
    saved = torch.load(p / "ser-cnn.pt")
    members, _, a = load_members(p / "ser-cnn.pt")
    bias = saved["bias"] if isinstance(saved["bias"], torch.Tensor) else torch.tensor(saved["bias"])
    return [(p.name, Calibrated(Ensemble(members), float(saved["temperature"]), bias, bool(a.get("baseline"))), a["n_fft"])]


def figures(probs: np.ndarray, y: np.ndarray) -> dict:
    pred = probs.argmax(1)
    present = sorted(set(y.tolist()))
    rec = recall_score(y, pred, labels=present, average=None, zero_division=0)
    return {"accuracy": float((pred == y).mean()), "macroF1": float(f1_score(y, pred, labels=present, average="macro")),
            "ece": expected_calibration_error(probs, y), "recall": {LABELS[k]: float(r) for k, r in zip(present, rec)},
            "clips": int(len(y))}


def mean_history(secs: np.ndarray, speakers: list[str], h: float) -> float:
    """The history the clips get on average: H, or all of the speaker's other clips when they are shorter."""
    total: dict[str, float] = {}
    for s, d in zip(speakers, secs):
        total[s] = total.get(s, 0.0) + float(d)
    return float(np.mean([min(h, total[s] - d) for s, d in zip(speakers, secs)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--json", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--crema-h", default="0,10,30,60")
    ap.add_argument("--xcorpus-h", default="0,30")
    ap.add_argument("--same-emotion", action="store_true",
                    help="history from the speaker's other clips of the clip's own emotion only: a caller in one state "
                         "all call, the worst case for any baseline")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    clips = read_manifest()
    split = load_split(clips)
    check_split(split, clips)
    waves = load_audio(clips)
    test = split_indices(clips, split)["test"]
    sets = {"crema-d test": ([waves[i] for i in test], np.array([clips[i].label for i in test]), [clips[i].actor for i in test])}
    with open(XCORPUS / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for corpus in ("emodb", "emovo", "nemo", "ased"):
        rs = [r for r in rows if r["corpus"] == corpus and r["emotion"] in LABELS]
        sets[corpus] = ([read_ulaw_wav(XCORPUS / r["file"]) for r in rs], np.array([LABELS.index(r["emotion"]) for r in rs]),
                        [r["speaker"] for r in rs])
    hs = {name: [float(h) for h in (args.crema_h if name == "crema-d test" else args.xcorpus_h).split(",")] for name in sets}

    results = {}
    stats_cache: dict[tuple[str, int], np.ndarray] = {}
    for spec in args.models:
        for name, model, n_fft in load_models(spec):
            res = results.setdefault(name, {})
            for set_name, (ws, y, speakers) in sets.items():
                if (set_name, n_fft) not in stats_cache:
                    stats_cache[(set_name, n_fft)] = clip_stats(LogMel(n_fft), ws)
                st = stats_cache[(set_name, n_fft)]
                secs = np.array([len(w) / 8000 for w in ws])
                callers = [f"{s}|{label}" for s, label in zip(speakers, y)] if args.same_emotion else speakers
                for h in hs[set_name] if model.baseline else [0.0]:
                    bases = eval_baselines(st, secs, callers, h, seed=1) if h > 0 else np.zeros((len(ws), st.shape[1]), np.float32)
                    m = figures(model.probs(ws, bases), y)
                    m["meanHistorySeconds"] = mean_history(secs, callers, h)
                    res.setdefault(set_name, {})[f"{h:g}"] = m
                    print(f"{name:28s} {set_name:13s} H {h:>3g}: acc {m['accuracy']*100:5.1f} F1 {m['macroF1']:.3f} "
                          f"ECE {m['ece']:.3f} hist {m['meanHistorySeconds']:4.1f}s recall " + "/".join(f"{v:.2f}" for v in m["recall"].values()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
