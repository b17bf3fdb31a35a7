"""CREMA-D 8 kHz mu-law: manifest, exclusions, the actor split and a decoded cache.

Audio is read from ../shared/data (never copied into the repository); the decoded
float32 cache lives in models/training/cache/ (git-ignored).
"""
from __future__ import annotations

import csv
import json
import os
import random
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
SAMPLE_RATE = 8000
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_DATA = (REPO / ".." / "shared" / "data" / "crema-d-8k").resolve()
CACHE = HERE / "cache"
SPLIT_FILE = HERE / "split.json"

# From the data folder's README: one all-silent clip, and three byte-identical pairs whose two
# labels cannot both be right. Both clips of each pair are left out, since we cannot tell which is.
EXCLUDED = {
    "1076_MTI_SAD_XX.wav",
    "1006_TIE_HAP_XX.wav", "1006_TIE_NEU_XX.wav",
    "1013_WSI_DIS_XX.wav", "1013_WSI_SAD_XX.wav",
    "1017_IWW_ANG_XX.wav", "1017_IWW_FEA_XX.wav",
}


@dataclass(frozen=True)
class Clip:
    file: str
    actor: str
    sentence: str
    label: int
    level: str
    sex: str
    age: int


def read_manifest(data_dir: Path = DEFAULT_DATA) -> list[Clip]:
    clips = []
    with open(data_dir / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["file"] in EXCLUDED:
                continue
            clips.append(Clip(row["file"], row["actor"], row["sentence"], LABELS.index(row["emotion"]),
                              row["level"], row["sex"], int(row["age"])))
    return clips


def ulaw_table() -> np.ndarray:
    """ITU-T G.711 mu-law decode table, as float32 in [-1, 1] (value / 32768)."""
    out = np.zeros(256, dtype=np.float32)
    for code in range(256):
        u = ~code & 0xFF
        t = ((u & 0x0F) << 3) + 0x84
        t <<= (u & 0x70) >> 4
        out[code] = ((0x84 - t) if (u & 0x80) else (t - 0x84)) / 32768.0
    return out


ULAW = ulaw_table()


def read_ulaw_wav(path: Path) -> np.ndarray:
    buf = path.read_bytes()
    if buf[:4] != b"RIFF" or buf[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(buf):
        cid, size = buf[pos:pos + 4], struct.unpack("<I", buf[pos + 4:pos + 8])[0]
        body = buf[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHI", body[:8])
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or data is None or fmt[0] != 7 or fmt[1] != 1 or fmt[2] != SAMPLE_RATE:
        raise ValueError(f"{path}: expected mono 8 kHz mu-law, got fmt={fmt}")
    return ULAW[np.frombuffer(data, dtype=np.uint8)]


def load_audio(clips: list[Clip], data_dir: Path = DEFAULT_DATA) -> list[np.ndarray]:
    """Decoded clips, cached as one concatenated float32 array plus offsets."""
    CACHE.mkdir(exist_ok=True)
    cache = CACHE / "audio.npz"
    names = np.array([c.file for c in clips])
    if cache.exists():
        z = np.load(cache)
        if len(z["names"]) == len(names) and (z["names"] == names).all():
            flat, offs = z["flat"], z["offsets"]
            return [flat[offs[i]:offs[i + 1]] for i in range(len(clips))]
    waves = [read_ulaw_wav(data_dir / "clips" / c.file) for c in clips]
    offs = np.cumsum([0] + [len(w) for w in waves])
    np.savez(cache, names=names, flat=np.concatenate(waves), offsets=offs)
    return waves


def make_split(clips: list[Clip], seed: int = 20261124, n_test_per_sex: int = 7, n_val_per_sex: int = 4) -> dict:
    """Speaker-independent split stratified by sex and age: within each sex, actors sorted by age
    are cut into consecutive strata and one test (then one validation) actor is drawn per stratum."""
    rng = random.Random(seed)
    actors = {}
    for c in clips:
        actors[c.actor] = (c.sex, c.age)
    split = {"test": [], "val": [], "train": []}
    for sex in ("Female", "Male"):
        ids = sorted((a for a, (s, _) in actors.items() if s == sex), key=lambda a: (actors[a][1], a))
        for part, n in (("test", n_test_per_sex), ("val", n_val_per_sex)):
            strata = np.array_split(np.array(ids), n)
            chosen = [rng.choice(list(s)) for s in strata]
            split[part] += chosen
            ids = [a for a in ids if a not in chosen]
        split["train"] += ids
    for part in split:
        split[part] = sorted(split[part])
    split["seed"] = seed
    split["method"] = ("by actor; within each sex, actors sorted by age, cut into equal strata, "
                       "one test actor then one validation actor drawn per stratum")
    split["demographics"] = {part: [{"actor": a, "sex": actors[a][0], "age": actors[a][1]} for a in split[part]]
                             for part in ("test", "val")}
    return split


def load_split(clips: list[Clip]) -> dict:
    if SPLIT_FILE.exists():
        return json.loads(SPLIT_FILE.read_text())
    split = make_split(clips)
    SPLIT_FILE.write_text(json.dumps(split, indent=2) + "\n")
    return split


def split_indices(clips: list[Clip], split: dict, parts: tuple[str, ...] = ("train", "val", "test")) -> dict[str, np.ndarray]:
    """The indices into `clips` of each part's clips."""
    actors = {p: set(split[p]) for p in parts}
    return {p: np.array([i for i, c in enumerate(clips) if c.actor in actors[p]]) for p in parts}


def train_subset(clips: list[Clip], train_actors: list[str], n: int) -> list[str]:
    """n of the train actors for a learning curve: each sex in proportion, evenly spaced by age so a
    smaller set spans the same ages; deterministic, so two runs with the same n train on the same voices."""
    who = {c.actor: (c.sex, c.age) for c in clips}
    chosen: list[str] = []
    for sex in sorted({who[a][0] for a in train_actors}):
        same = sorted((a for a in train_actors if who[a][0] == sex), key=lambda a: (who[a][1], a))
        k = round(n * len(same) / len(train_actors))
        chosen += [same[int(j * len(same) / k)] for j in range(k)] if k else []
    return sorted(chosen)


def check_split(split: dict, clips: list[Clip]) -> None:
    parts = [set(split[p]) for p in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2]), "actor in two parts"
    assert set().union(*parts) == {c.actor for c in clips}, "split does not cover every actor"


if __name__ == "__main__":
    cl = read_manifest()
    sp = load_split(cl)
    check_split(sp, cl)
    for p, idx in split_indices(cl, sp).items():
        print(p, len(sp[p]), "actors", len(idx), "clips")
    os.makedirs(CACHE, exist_ok=True)
    print(len(load_audio(cl)), "clips decoded")
