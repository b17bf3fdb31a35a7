"""Join single-network runs into one ensemble checkpoint for `train.py --from-weights`.

    /usr/bin/python3 models/training/merge_members.py OUT.pt RUN_SEED1.pt RUN_SEED1001.pt ...

Member k of `train.py --members N --seed S` is trained exactly as `train.py --members 1 --seed S+1000k`
(each member reseeds torch and numpy from its own seed), so networks trained one run at a time, in the
background between other work, join into the ensemble that `--members N --seed S` would have built.
"""
import sys
from pathlib import Path

import torch


def main() -> None:
    out, *runs = sys.argv[1:]
    saved = [torch.load(r) for r in runs]
    base = saved[0]["args"]
    for s, r in zip(saved, runs):
        for key in ("stem", "ch", "dropout", "mixup", "epochs", "batch", "lr", "crop", "no_aug"):
            if s["args"][key] != base[key]:
                raise SystemExit(f"{r}: {key} = {s['args'][key]!r} differs from {runs[0]}: {base[key]!r}")
    seeds = [s["args"]["seed"] for s in saved]
    expected = [seeds[0] + 1000 * k for k in range(len(saved))]
    if seeds != expected:
        raise SystemExit(f"seeds {seeds} are not those of one --members run ({expected})")
    merged = {
        "members": [m for s in saved for m in s["members"]],
        "histories": [h for s in saved for h in s["histories"]],
        "args": base | {"members": len(saved)},
    }
    torch.save(merged, out)
    print(f"wrote {out}: {len(merged['members'])} members, seeds {seeds}")


if __name__ == "__main__":
    main()
