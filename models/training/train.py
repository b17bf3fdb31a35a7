"""Train, calibrate, evaluate and export the ser-ari emotion model.

    /usr/bin/python3 models/training/train.py --smoke    # a few steps end to end; writes ser-cnn-smoke.*

The command that reproduces models/ser-cnn.onnx + .json is recorded in that card (`command`); the
defaults below are an older, smaller recipe, kept so that saved runs which predate an option still load.

Reads ../shared/data/crema-d-8k, splits by actor (split.json), trains on the train actors with
telephone-channel augmentation, picks the epoch by validation accuracy, fits a temperature and class bias on the
validation actors, evaluates on the test actors (clean, A-law, 5% packet loss, 20 dB SNR noise),
and exports the ONNX graph with its card.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

sys.path.insert(0, str(Path(__file__).resolve().parent))
import augment as A  # noqa: E402
from data import CACHE, LABELS, REPO, SAMPLE_RATE, check_split, load_audio, load_split, read_manifest, split_indices, train_subset  # noqa: E402
from history import TrainHistory, clip_stats, eval_baselines  # noqa: E402
from model import N_MELS, EmotionNet, Ensemble, Exported, LogMel, speech_stats  # noqa: E402
from onnx_init import freeze_bn, load_onnx_weights  # noqa: E402

SPEEDS = (0.95, 1.0, 1.05)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="ser-cnn")
    p.add_argument("--out", default=str(REPO / "models"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--stem", default="16,32,32", help="2-D stem channels; the last three convs are strided")
    p.add_argument("--ch", type=int, default=128, help="channels of the 1-D trunk")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--n-fft", type=int, default=256, help="STFT window (samples at 8 kHz); hop stays 10 ms")
    p.add_argument("--cmn", action="store_true",
                   help="add a second input channel: the log-mel minus its per-band mean over the clip's speech")
    p.add_argument("--dilations", default="1,2,3", help="dilations of the 1-D residual blocks, one block each")
    p.add_argument("--vtlp", type=float, default=0.0,
                   help="vocal tract length perturbation: warp each example's frequency axis by a factor drawn "
                        "from [1 - vtlp, 1 + vtlp] (0: off); new voice shapes from the training actors")
    p.add_argument("--ema", type=float, default=0.0,
                   help="keep an exponential moving average of the weights with this per-step decay (0: off) and "
                        "select and ship the averaged network")
    p.add_argument("--mixup", type=float, default=0.5, help="probability of mixup per batch")
    p.add_argument("--calibration", choices=("temperature", "nll", "balanced"), default="temperature",
                   help="temperature: one temperature by validation likelihood, decisions unchanged; nll: temperature + "
                        "class bias by validation likelihood; balanced: class bias chosen for the best mean per-class "
                        "recall on the validation actors, then the temperature by likelihood")
    p.add_argument("--from-weights", default=None,
                   help="skip training: calibrate, evaluate and export the members saved in this .pt")
    p.add_argument("--history-log", default=None,
                   help="with --from-weights from a run that did not store its history: that run's log")
    p.add_argument("--members", type=int, default=1, help="networks trained from different seeds, logits averaged")
    p.add_argument("--crop", type=float, default=3.0, help="training window in seconds (the serving window)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-actors", type=int, default=0,
                   help="train on only this many of the train actors (a learning-curve point; 0: all of them)")
    p.add_argument("--val-in-train", action="store_true",
                   help="learning-curve point only: train on the validation actors too, so the epoch choice and "
                        "calibration are fitted on training voices and only the test figures mean anything")
    p.add_argument("--no-aug", default="", help="comma list of augmentations to switch off (ablation): "
                   "gain,noise,band,codec,loss,speed,vtlp,specaug,mixup")
    p.add_argument("--smoke", action="store_true", help="a few steps only, to check the pipeline")
    p.add_argument("--baseline", action="store_true",
                   help="issue 14: a second input `baseline` [N, 65] (the caller's earlier speech: per-band speech-frame "
                        "mean of the log-mel and the speech-frame count) joins the clip's own speech in the CMN channel's "
                        "mean, and a second output `stats` [N, 65] gives this window's; training simulates calls")
    p.add_argument("--baseline-mode", choices=("cmn", "channel"), default="cmn",
                   help="with --baseline: cmn = the history joins the CMN channel's mean; channel = a third input "
                        "channel (log-mel minus the history-and-clip mean) beside the two clip-only ones")
    p.add_argument("--hist-p0", type=float, default=0.3, help="with --baseline: share of examples with no history")
    p.add_argument("--hist-max", type=float, default=60.0, help="with --baseline: longest history (s), uniform from 3 s")
    p.add_argument("--hist-channel", type=int, default=1,
                   help="with --baseline: 1 = the history's statistics get the example's channel (the log-mel offset "
                        "its augmentation caused on its own speech frames), as a call's history shares its line")
    p.add_argument("--select-h", type=float, default=30.0,
                   help="with --baseline: epochs are chosen by the mean validation accuracy at H = 0 and this H")
    p.add_argument("--init-onnx", default=None,
                   help="start from this ONNX model's weights (same architecture; folded BatchNorms stay frozen)")
    return p


def parse_args() -> argparse.Namespace:
    p = parser()
    args = p.parse_args()
    if (args.train_actors or args.val_in_train) and Path(args.out).resolve() == (REPO / "models").resolve():
        p.error("a learning-curve run must not replace the shipped model: give --out, e.g. models/learning-curve/lc26")
    return args


class Batcher:
    """Random fixed-length crops; clips shorter than the crop sit at a random offset in low-level noise,
    as a short utterance does inside a serving window."""

    def __init__(self, waves: list[list[np.ndarray]], labels: np.ndarray, crop: int, rng: np.random.Generator):
        self.waves, self.labels, self.crop, self.rng = waves, labels, crop, rng

    def batch(self, idx: np.ndarray, use_speed: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
        x = np.zeros((len(idx), self.crop), dtype=np.float32)
        active = np.zeros((len(idx), self.crop), dtype=np.float32)
        chosen = np.zeros(len(idx), dtype=np.int64)
        for row, i in enumerate(idx):
            variants = self.waves[i]
            chosen[row] = self.rng.integers(len(variants)) if use_speed else len(variants) // 2
            w = variants[chosen[row]]
            floor = 10 ** (self.rng.uniform(-70, -50) / 20)
            x[row] = self.rng.standard_normal(self.crop).astype(np.float32) * floor
            if len(w) >= self.crop:
                s = self.rng.integers(len(w) - self.crop + 1)
                x[row] = w[s:s + self.crop]
                active[row] = 1
            else:
                s = self.rng.integers(self.crop - len(w) + 1)
                x[row, s:s + len(w)] = w
                active[row, s:s + len(w)] = 1
        return torch.from_numpy(x), torch.from_numpy(active), torch.from_numpy(self.labels[idx]), chosen


def augment_batch(x: torch.Tensor, active: torch.Tensor, g: torch.Generator, off: set[str]) -> torch.Tensor:
    if "gain" not in off:
        x = A.gain(x, g)
    if "band" not in off:
        x = A.band_limit(x, g, p=0.5)
    if "noise" not in off:
        speech_rms = ((x * x * active).sum(1) / active.sum(1).clamp(min=1)).sqrt()
        x = A.add_noise(x, g, p=0.5, speech_rms=speech_rms)
    if "loss" not in off:
        x = A.packet_loss(x, g, p=0.3)
    if "codec" not in off:
        x = A.codec(x.clamp(-1, 1), g, p_ulaw=0.5, p_alaw=0.3)
    return x.clamp(-1, 1)


def train_member(args, batcher: Batcher, val_waves, y_val, off: set[str], seed: int,
                 history: TrainHistory | None = None, val_baselines: dict | None = None):
    """One network from scratch (or from --init-onnx); returns it with the weights of its best validation epoch.
    With a baseline network, `history` draws each example's simulated call and `val_baselines` {H: [N, 65]}
    are the validation clips' histories; the epoch is chosen by the mean validation accuracy over them."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    net = build_net(vars(args))
    if args.init_onnx:
        load_onnx_weights(net, Path(args.init_onnx))
        log(f"initialised from {args.init_onnx} (folded BatchNorms frozen)")
    log(f"parameters {sum(p.numel() for p in net.parameters())}")
    val_baselines = val_baselines or {0: None}

    def val_accuracy(model) -> tuple[float, dict]:
        per = {h: float((logits_of(model, val_waves, b).argmax(1).numpy() == y_val).mean()) for h, b in val_baselines.items()}
        return float(np.mean(list(per.values()))), per
    ema = None
    if args.ema > 0:
        decay = args.ema
        ema = torch.optim.swa_utils.AveragedModel(
            net, avg_fn=lambda avg, new, n: decay * avg + (1 - decay) * new, use_buffers=True)
    n_train = len(batcher.labels)
    steps_per_epoch = 5 if args.smoke else n_train // args.batch
    epochs = 1 if args.smoke else args.epochs
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps_per_epoch * epochs, pct_start=0.15)
    best = (-1.0, -1, None)
    epochs_log = []
    for epoch in range(epochs):
        net.train()
        if args.init_onnx:
            freeze_bn(net)
        order = rng.permutation(n_train)
        t0, loss_sum, n = time.time(), 0.0, 0
        for step in range(steps_per_epoch):
            idx = order[step * args.batch:(step + 1) * args.batch]
            x, active, y, variant = batcher.batch(idx, use_speed="speed" not in off)
            clean = x
            x = augment_batch(x, active, g, off)
            base = history.sample(idx, variant) if history is not None else None
            target = F.one_hot(y, len(LABELS)).float() * 0.95 + 0.05 / len(LABELS)
            warp = None
            if args.vtlp > 0 and "vtlp" not in off:
                warp = 1 + (torch.rand(len(idx), generator=g) * 2 - 1) * args.vtlp
            feats = net.features(x, warp)
            if base is not None and args.hist_channel:
                # the call's line: the history was heard through the same channel as this example
                with torch.no_grad():
                    offset = speech_stats(feats)[:, :N_MELS] - speech_stats(net.features(clean, warp))[:, :N_MELS]
                base = base.clone()
                base[:, :N_MELS] += offset * (base[:, N_MELS:] > 0)
            if "specaug" not in off:
                feats = A.spec_augment(feats, g)
            if "mixup" not in off and torch.rand(1, generator=g).item() < args.mixup:
                lam = float(rng.beta(0.4, 0.4))
                perm = torch.randperm(len(idx), generator=g)
                feats = lam * feats + (1 - lam) * feats[perm]
                target = lam * target + (1 - lam) * target[perm]
                if base is not None:
                    base = lam * base + (1 - lam) * base[perm]
            loss = torch.sum(-target * F.log_softmax(net.classify(feats, base), dim=1), dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(net)
            loss_sum += float(loss) * len(idx)
            n += len(idx)
        # the raw weights are only logged: at the history the epochs are chosen by (or H 0), not at every H
        raw_acc = float((logits_of(net, val_waves, val_baselines[max(val_baselines)]).argmax(1).numpy() == y_val).mean())
        chosen = net if ema is None else ema.module
        val_acc, per_h = (raw_acc, None) if ema is None else val_accuracy(chosen)
        epochs_log.append({"epoch": epoch + 1, "trainLoss": loss_sum / n, "valAccuracy": val_acc, "seconds": time.time() - t0}
                          | ({} if ema is None else {"valAccuracyRaw": raw_acc})
                          | ({} if per_h is None or len(per_h) < 2 else {"valAccuracyByHistory": {str(k): v for k, v in per_h.items()}}))
        log(f"epoch {epoch + 1}/{epochs} loss {loss_sum / n:.4f} val acc {val_acc:.4f}"
            + ("" if ema is None else f" (raw weights {raw_acc:.4f})")
            + ("" if per_h is None or len(per_h) < 2 else " by H " + " ".join(f"{k:g}:{v:.4f}" for k, v in per_h.items()))
            + f" ({time.time() - t0:.0f} s)")
        if val_acc > best[0]:
            best = (val_acc, epoch + 1, copy.deepcopy(chosen.state_dict()))
    net.load_state_dict(best[2])
    return net.eval(), best[:2], epochs_log


@torch.no_grad()
def logits_of(net: torch.nn.Module, waves: list[np.ndarray], baselines: np.ndarray | None = None) -> torch.Tensor:
    """Whole clips, one at a time (each its own length), as `ser-ari analyze` sees a short recording;
    with `baselines` [N, 65], each clip with its caller history (baseline networks only)."""
    net.eval()
    if baselines is None:
        return torch.cat([net(torch.from_numpy(w)[None]) for w in waves])
    return torch.cat([net(torch.from_numpy(w)[None], torch.from_numpy(b)[None]) for w, b in zip(waves, baselines)])


def metrics(probs: np.ndarray, labels: np.ndarray) -> dict:
    pred = probs.argmax(1)
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=range(len(LABELS)), zero_division=0)
    return {
        "accuracy": float((pred == labels).mean()),
        "macroF1": float(f1_score(labels, pred, average="macro")),
        "ece": expected_calibration_error(probs, labels),
        "nll": float(-np.log(probs[np.arange(len(labels)), labels].clip(1e-12)).mean()),
        "perClass": {LABELS[k]: {"precision": float(p[k]), "recall": float(r[k]), "f1": float(f[k]),
                                 "support": int(s[k])} for k in range(len(LABELS))},
        "confusion": confusion_matrix(labels, pred, labels=range(len(LABELS))).tolist(),
    }


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs((pred[m] == labels[m]).mean() - conf[m].mean())
    return float(ece)


def fit_calibration(logits: torch.Tensor, labels: torch.Tensor, mode: str = "nll") -> tuple[float, torch.Tensor]:
    """Temperature (and per-class bias) fitted on the validation actors.

    temperature: temperature scaling (Guo et al. 2017): one scalar, the network's decisions unchanged.

    nll: both by likelihood (vector scaling with a shared scale, Guo et al. 2017): the temperature fixes
    over- or under-confidence, the bias a class the network under- or over-predicts on new voices.
    balanced: the bias maximises the mean per-class recall (a prior correction, so that no class is
    starved), then the temperature is fitted by likelihood with that bias held fixed.
    """
    if mode == "temperature":
        return fit_temperature(logits, labels), torch.zeros(logits.shape[1])
    if mode == "balanced":
        t0, _ = fit_calibration(logits, labels, "nll")
        bias = balanced_bias(logits / t0, labels)
        # bias was chosen on logits / t0: the temperature is fitted with it held fixed, and expressed on
        # logits / t it keeps the same decisions
        t = fit_temperature(logits + bias * t0, labels)
        return t, (bias * t0 / t).detach()
    log_t = torch.zeros(1, requires_grad=True)
    bias = torch.zeros(logits.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([log_t, bias], lr=1, max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.clamp(-3, 5).exp() + bias, labels) + 1e-3 * bias.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.clamp(-3, 5).exp()), (bias - bias.mean()).detach()


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature that maximises the validation likelihood of softmax(logits / T)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.clamp(-3, 5).exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.clamp(-3, 5).exp())


def balanced_bias(logits: torch.Tensor, labels: torch.Tensor, rounds: int = 4) -> torch.Tensor:
    """Coordinate search over per-class offsets for the best mean recall (ties: the smaller offsets)."""
    k = logits.shape[1]
    bias = torch.zeros(k)
    grid = torch.linspace(-1.5, 1.5, 61)

    def mean_recall(b: torch.Tensor) -> float:
        pred = (logits + b).argmax(1)
        return float(torch.stack([(pred[labels == c] == c).float().mean() for c in range(k)]).mean())

    for _ in range(rounds):
        for c in range(k):
            best, best_v = mean_recall(bias), float(bias[c])
            for v in grid:
                trial = bias.clone()
                trial[c] = v
                r = mean_recall(trial)
                if r > best + 1e-9 or (abs(r - best) <= 1e-9 and abs(float(v)) < abs(best_v)):
                    best, best_v = r, float(v)
            bias[c] = best_v
    return bias - bias.mean()


def build_net(a: dict) -> EmotionNet:
    """The network an args dict (this run's, or a saved run's completed by saved_args) describes."""
    return EmotionNet(len(LABELS), ch=a["ch"], dropout=a["dropout"], stem=tuple(int(c) for c in a["stem"].split(",")),
                      n_fft=a["n_fft"], cmn=a["cmn"], dilations=tuple(int(d) for d in a["dilations"].split(",")),
                      baseline=a.get("baseline", False), baseline_mode=a.get("baseline_mode", "cmn"))


def saved_args(saved: dict) -> dict:
    """A saved run's arguments; a run from before an option existed gets that option's default."""
    return vars(parser().parse_args([])) | saved["args"]


def load_members(path: Path, history_log: str | None = None) -> tuple[list[EmotionNet], list[dict], dict]:
    saved = torch.load(path)
    a = saved_args(saved)
    members = []
    for state in saved["members"]:
        net = build_net(a)
        # The front-end has no learned weights; older runs stored its DFT for every bin, ours only the used ones.
        fixed = {k: v for k, v in net.state_dict().items() if k.startswith("logmel.")}
        net.load_state_dict({k: v for k, v in state.items() if not k.startswith("logmel.")} | fixed)
        members.append(net.eval())
    histories = saved.get("histories") or histories_from_log(history_log, len(members), a["seed"])
    log(f"loaded {len(members)} member(s) from {path}")
    return members, histories, a


def load_network(folder: Path) -> Ensemble:
    """A trained run's network (all its members), uncalibrated, for the probes."""
    return Ensemble(load_members(folder / "ser-cnn.pt")[0]).eval()


def histories_from_log(log_path: str | None, n: int, seed: int) -> list[dict]:
    """Per-member epoch history recovered from a training log (runs before histories were saved)."""
    import re
    if not log_path:
        return [{"seed": seed + 1000 * k, "epochs": []} for k in range(n)]
    out, cur = [], []
    for line in Path(log_path).read_text().splitlines():
        m = re.search(r"epoch (\d+)/\d+ loss ([\d.]+) val acc ([\d.]+) \((\d+) s\)", line)
        if m:
            cur.append({"epoch": int(m[1]), "trainLoss": float(m[2]), "valAccuracy": float(m[3]), "seconds": int(m[4])})
        m = re.search(r"member (\d+)/\d+: best epoch (\d+) val acc ([\d.]+)", line)
        if m:
            k = int(m[1]) - 1
            out.append({"seed": seed + 1000 * k, "bestEpoch": int(m[2]), "bestValAccuracy": float(m[3]), "epochs": cur})
            cur = []
    return out


def degrade(waves: list[np.ndarray], kind: str, seed: int) -> list[np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for w in waves:
        x = torch.from_numpy(w)[None]
        if kind == "alaw":
            x = A.alaw_round_trip(x)
        elif kind == "loss5":
            frames = x.shape[1] // A.FRAME
            drop = torch.rand(1, frames, generator=g) < 0.05
            keep = F.pad((~drop).float().repeat_interleave(A.FRAME, 1), (0, x.shape[1] - frames * A.FRAME), value=1.0)
            x = x * keep
        elif kind == "snr20":
            # pink-ish noise at 20 dB below the clip's speech level (frames within 40 dB of its loudest)
            fr = x[0, :frames_len(x)].reshape(-1, A.FRAME)
            e = fr.pow(2).mean(1)
            speech = e[e > e.max() * 1e-4].mean().sqrt()
            noise = A.coloured_noise(1, x.shape[1], g)
            x = (x + noise * speech * 10 ** (-20 / 20)).clamp(-1, 1)
            x = A.mulaw_round_trip(x)
        out.append(x[0].numpy().astype(np.float32))
    return out


def frames_len(x: torch.Tensor) -> int:
    return (x.shape[1] // A.FRAME) * A.FRAME


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    off = {s for s in args.no_aug.split(",") if s}
    started = time.time()

    Path(args.out).mkdir(parents=True, exist_ok=True)
    clips = read_manifest()
    split = load_split(clips)
    check_split(split, clips)
    if args.train_actors:
        split = split | {"train": train_subset(clips, split["train"], args.train_actors)}
        log(f"learning-curve run: {len(split['train'])} train actors {split['train']}")
    if args.val_in_train:
        split = split | {"train": sorted(split["train"] + split["val"])}
        log(f"learning-curve run: validation actors in training too ({len(split['train'])} actors)")
    waves = load_audio(clips)
    labels = np.array([c.label for c in clips], dtype=np.int64)
    part = split_indices(clips, split)
    log(f"clips train {len(part['train'])} val {len(part['val'])} test {len(part['test'])}")

    speeds = SPEEDS if "speed" not in off else (1.0,)
    train_waves = [[v.numpy() for v in A.speed_variants(torch.from_numpy(waves[i]), speeds)] for i in part["train"]]
    log(f"speed variants ready ({time.time() - started:.0f} s)")
    crop = int(args.crop * SAMPLE_RATE)
    val_waves = [waves[i] for i in part["val"]]
    test_waves = [waves[i] for i in part["test"]]

    # Caller histories (--baseline): every clip's speech statistics, computed once by the fixed front-end
    hist_train, base_of = None, {}
    if args.baseline:
        front = LogMel(args.n_fft)
        cache = CACHE / f"stats-nfft{args.n_fft}-speeds{len(speeds)}-train{len(part['train'])}.npz"
        if cache.exists():
            z = np.load(cache)
            train_stats, all_stats = z["train"], z["all"]
        else:
            train_stats = np.stack([clip_stats(front, variants) for variants in train_waves])  # [C, V, 65]
            all_stats = clip_stats(front, waves)
            if not args.smoke and not args.train_actors and not args.val_in_train:
                np.savez(cache, train=train_stats, all=all_stats)
        train_secs = np.array([[len(v) / SAMPLE_RATE for v in variants] for variants in train_waves])
        all_secs = np.array([len(w) / SAMPLE_RATE for w in waves])
        train_speakers = [clips[i].actor for i in part["train"]]

        def base_of(p: str, h: float) -> np.ndarray | None:
            if h == 0:
                return np.zeros((len(part[p]), all_stats.shape[1]), dtype=np.float32)
            return eval_baselines(all_stats[part[p]], all_secs[part[p]], [clips[i].actor for i in part[p]], h, seed=1)
        log(f"clip statistics ready ({time.time() - started:.0f} s)")

    arch = vars(args)
    if args.from_weights:
        members, histories, arch = load_members(Path(args.from_weights), args.history_log)
    else:
        members, histories = [], []
        for k in range(args.members):
            seed = args.seed + 1000 * k
            torch.manual_seed(seed)
            batcher = Batcher(train_waves, labels[part["train"]], crop, np.random.default_rng(seed))
            hist_train = None if not args.baseline else TrainHistory(
                train_stats, train_secs, train_speakers, np.random.default_rng(seed + 2), p0=args.hist_p0, hi=args.hist_max)
            val_b = None if not args.baseline else {0: base_of("val", 0), args.select_h: base_of("val", args.select_h)}
            net, best, history = train_member(args, batcher, val_waves, labels[part["val"]], off, seed, hist_train, val_b)
            log(f"member {k + 1}/{args.members}: best epoch {best[1]} val acc {best[0]:.4f}")
            members.append(net)
            histories.append({"seed": seed, "bestEpoch": best[1], "bestValAccuracy": best[0], "epochs": history})
    net = Ensemble(members).eval()
    n_params = sum(p.numel() for p in net.parameters())
    epochs = histories[0]["epochs"][-1]["epoch"] if histories[0]["epochs"] else args.epochs
    val_logits = logits_of(net, val_waves)
    if args.baseline:
        # calibrated on the validation calls with no history and with select-h seconds of it, pooled
        cal_logits = torch.cat([val_logits, logits_of(net, val_waves, base_of("val", args.select_h))])
        cal_labels = np.concatenate([labels[part["val"]]] * 2)
        temperature, bias = fit_calibration(cal_logits, torch.from_numpy(cal_labels), args.calibration)
    else:
        temperature, bias = fit_calibration(val_logits, torch.from_numpy(labels[part["val"]]), args.calibration)
    val_acc = float((val_logits.argmax(1).numpy() == labels[part["val"]]).mean())
    log(f"ensemble of {len(members)}: val acc {val_acc:.4f}, temperature {temperature:.3f}, bias {bias.numpy().round(3)}")
    torch.save({"members": [m.state_dict() for m in members], "histories": histories, "temperature": temperature,
                "bias": bias, "args": vars(args)}, Path(args.out) / f"{args.name}.pt")

    def probs_of(ws: list[np.ndarray], bs: np.ndarray | None = None) -> np.ndarray:
        return torch.softmax(logits_of(net, ws, bs) / temperature + bias, dim=1).numpy()

    y_test = labels[part["test"]]
    test = metrics(probs_of(test_waves), y_test)
    val = metrics(torch.softmax(val_logits / temperature + bias, 1).numpy(), labels[part["val"]])
    uncal = metrics(torch.softmax(logits_of(net, test_waves), 1).numpy(), y_test)
    robustness = {}
    for kind in ("alaw", "loss5", "snr20"):
        m = metrics(probs_of(degrade(test_waves, kind, args.seed)), y_test)
        robustness[kind] = {"accuracy": m["accuracy"], "macroF1": m["macroF1"], "ece": m["ece"],
                            "drop": test["accuracy"] - m["accuracy"]}
    log(f"TEST acc {test['accuracy']:.4f} macroF1 {test['macroF1']:.4f} ece {test['ece']:.4f} "
        f"(uncalibrated ece {uncal['ece']:.4f}) robustness {json.dumps(robustness)}")
    by_history = {}
    if args.baseline:
        for h in (0, 10, 30, 60):
            for p, ws in (("val", val_waves), ("test", test_waves)):
                m = metrics(probs_of(ws, base_of(p, h)), labels[part[p]])
                by_history.setdefault(p, {})[str(h)] = m
                log(f"{p.upper()} H {h} acc {m['accuracy']:.4f} macroF1 {m['macroF1']:.4f} ece {m['ece']:.4f} "
                    f"min recall {min(c['recall'] for c in m['perClass'].values()):.3f}")

    out = Path(args.out)
    name = args.name + ("-smoke" if args.smoke else "")
    onnx_path = out / f"{name}.onnx"
    export(Exported(net, temperature, bias).eval(), onnx_path, args.baseline)
    parity = parity_fixture(Exported(net, temperature, bias).eval(), [clips[i].file for i in part["test"][::97]], test_waves[::97],
                            None if not args.baseline else base_of("test", 30)[::97])
    card = {
        "name": name,
        "version": 1,
        "labels": LABELS,
        "sampleRate": SAMPLE_RATE,
        "windowSeconds": 3.0,
        "hopSeconds": 1.0,
        "minSeconds": 0.5,
        "input": {"name": "audio", "type": "float32", "shape": ["batch", "samples"], "range": [-1, 1]},
        "output": {"name": "probs", "type": "float32", "shape": ["batch", len(LABELS)]},
        "architecture": describe(arch),
        "parameters": n_params,
        "fileBytes": onnx_path.stat().st_size,
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "temperature": temperature,
        "classBias": dict(zip(LABELS, bias.tolist())),
        "trainingData": {
            "corpus": "CREMA-D (Cao et al., IEEE Trans. Affective Computing 5(4), 2014), 8 kHz G.711 mu-law",
            "licence": "Open Database License (ODbL) v1.0; contents under DbCL v1.0. Attribution: the CREMA-D authors.",
            "clips": {p: int(len(part[p])) for p in part},
            "excluded": sorted(__import__("data").EXCLUDED),
        },
        "split": {p: split[p] for p in ("train", "val", "test")} | {"seed": split["seed"], "method": split["method"]},
        "training": {"seed": args.seed, "members": args.members, "epochs": epochs, "batch": args.batch, "lr": args.lr,
                     "mixup": args.mixup, "dropout": args.dropout, "calibration": args.calibration, "stem": arch["stem"], "trunkChannels": arch["ch"],
                     "nFft": arch["n_fft"], "utteranceNormalisedChannel": arch["cmn"], "dilations": arch["dilations"],
                     "ema": arch["ema"], "vtlp": arch["vtlp"],
                     "cropSeconds": args.crop, "augmentationsOff": sorted(off), "members_history": histories,
                     "seconds": round(time.time() - started), "torch": torch.__version__},
        "metrics": {"test": test, "val": val, "testUncalibratedEce": uncal["ece"], "robustness": robustness,
                    "evaluation": "held-out test actors, whole clips, 8 kHz mu-law as shipped in shared/data"
                                  + ("; test/val/robustness with no caller history (baseline zeros)" if args.baseline else "")}
                   | ({"byHistory": by_history, "historyProtocol": HISTORY_PROTOCOL} if args.baseline else {}),
        "command": reproduce_command(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if args.baseline:
        card["training"] |= {"baseline": True, "historyNoneShare": args.hist_p0, "historyMaxSeconds": args.hist_max,
                             "historyChannel": bool(args.hist_channel), "selectHistorySeconds": args.select_h,
                             "initOnnx": args.init_onnx,
                             "initOnnxSha256": hashlib.sha256(Path(args.init_onnx).read_bytes()).hexdigest() if args.init_onnx else None}
        card["baseline"] = BASELINE_CONTRACT
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / f"{name}.parity.json").write_text(json.dumps(parity) + "\n")
    log(f"wrote {onnx_path} ({card['fileBytes']} bytes) in {time.time() - started:.0f} s")


def describe(a: dict) -> str:
    dilations = a["dilations"]
    inputs = ("two input channels: that log-mel and the same minus its per-band mean over the clip's speech frames; "
              if a["cmn"] else "")
    return (f"fixed-weight Conv1d STFT (n_fft {a['n_fft']}, hop 80) + 64 log-mel (60-3900 Hz), level-normalised; {inputs}"
            f"3x3 Conv2d stem ({a['stem']}, last three strided: 64 mel -> 8); 1-D trunk {a['ch']} ch with "
            f"{len(dilations.split(','))} dilated residual blocks (dilations {dilations}); attentive statistics pooling; "
            "linear; softmax with a temperature and class bias fitted on the validation actors"
            + (f"; weights: exponential moving average (decay {a['ema']} per step)" if a["ema"] else ""))


HISTORY_PROTOCOL = ("H seconds of history: the same actor's other clips of the same part (any emotion, never the clip "
                    "itself), whole clips in an order seeded by (1, clip position), until H seconds of audio (the last "
                    "clip counted in proportion); baseline = the count-weighted mean of their `stats` and the summed count")

BASELINE_CONTRACT = {
    "input": {"name": "baseline", "type": "float32", "shape": ["batch", 65],
              "meaning": "the caller's earlier speech in this call: [0:64] per-band mean of the level-normalised log-mel "
                         "over the speech frames of the caller's earlier speech windows, [64] their speech-frame count "
                         "(10 ms frames, each counted once); all zeros = no history (the first window of a call, "
                         "or a clip on its own): then the model is the clip-only model"},
    "output": {"name": "stats", "type": "float32", "shape": ["batch", 65],
               "meaning": "this window's [0:64] per-band speech-frame mean and [64] speech-frame count (sum of the "
                          "frames' speech weights), independent of `baseline`"},
    "serving": ("per call: S = sum over the caller's earlier speech-gated windows of stats[64] * stats[0:64], "
                "C = sum of stats[64]; baseline = [S / C, C * hop / window] (each 10 ms frame is in window/hop = 3 "
                "overlapping windows; the count only weighs the history against the window's own speech); zeros "
                "while C = 0. Only windows that pass the speech gate are added, after they are scored; the window "
                "being scored is not in its own baseline."),
}


def export(model: torch.nn.Module, path: Path, baseline: bool = False) -> None:
    dummy = torch.zeros(2, 24000)
    if not baseline:
        torch.onnx.export(model, dummy, str(path), input_names=["audio"], output_names=["probs"], opset_version=17,
                          dynamic_axes={"audio": {0: "batch", 1: "samples"}, "probs": {0: "batch"}})
        return
    torch.onnx.export(model, (dummy, torch.zeros(2, N_MELS + 1)), str(path), input_names=["audio", "baseline"],
                      output_names=["probs", "stats"], opset_version=17,
                      dynamic_axes={"audio": {0: "batch", 1: "samples"}, "baseline": {0: "batch"},
                                    "probs": {0: "batch"}, "stats": {0: "batch"}})


@torch.no_grad()
def parity_fixture(model: torch.nn.Module, files: list[str], ws: list[np.ndarray], bs: np.ndarray | None = None) -> dict:
    """PyTorch's output on some test clips, for the TypeScript parity test against onnxruntime-node.
    A baseline model's fixture also gives each clip's 30 s history and the `stats` output."""
    g = torch.Generator().manual_seed(7)
    synthetic = (torch.rand(2, 24000, generator=g) * 2 - 1) * 0.3
    audio = torch.tensor([[round(v, 6) for v in synthetic[0, :4000].tolist()]])
    if bs is None:
        return {
            "clips": [{"file": f, "probs": model(torch.from_numpy(w)[None])[0].tolist()} for f, w in zip(files, ws)],
            "synthetic": {"seed": 7, "note": "uniform noise in [-0.3, 0.3], recomputed by the test from its values",
                          "audio": [round(v, 6) for v in synthetic[0, :4000].tolist()],
                          "probs": model(audio)[0].tolist()},
        }
    clips_out = []
    for f, w, b in zip(files, ws, bs):
        p0, st = model(torch.from_numpy(w)[None], torch.zeros(1, N_MELS + 1))
        p30, _ = model(torch.from_numpy(w)[None], torch.from_numpy(b)[None])
        clips_out.append({"file": f, "probs": p0[0].tolist(), "stats": st[0].tolist(),
                          "baseline": b.tolist(), "probsWithBaseline": p30[0].tolist()})
    ps, ss = model(audio, torch.zeros(1, N_MELS + 1))
    return {"clips": clips_out,
            "note": "probs: baseline zeros; probsWithBaseline: the clip with `baseline` (30 s of the actor's other test clips)",
            "synthetic": {"seed": 7, "note": "uniform noise in [-0.3, 0.3], recomputed by the test from its values; baseline zeros",
                          "audio": [round(v, 6) for v in synthetic[0, :4000].tolist()],
                          "probs": ps[0].tolist(), "stats": ss[0].tolist()}}


def reproduce_command() -> str:
    """The command that rebuilds this model from scratch in models/: --out (where candidates were tried)
    and --from-weights / --history-log (re-calibrating saved weights) are left out."""
    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a in ("--out", "--from-weights", "--history-log"):
            skip = True
        elif not a.startswith(("--out=", "--from-weights=", "--history-log=")):
            args.append(a)
    return " ".join(["/usr/bin/python3 models/training/train.py", *args])


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


if __name__ == "__main__":
    main()
