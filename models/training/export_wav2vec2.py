"""Export a wav2vec2-base-sized emotion classifier (random weights) for timing only.

    /usr/bin/python3 models/training/export_wav2vec2.py models/bench/wav2vec2-base.onnx

The original study's best approach fine-tuned wav2vec2-base (94.4M parameters). `npm run bench:model`
times it against our model through onnxruntime-node; the weights do not matter for timing, and the
378 MB file is generated here on demand, never committed.
"""
import sys
from pathlib import Path

import torch
import torchaudio


class Classifier(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = torchaudio.models.wav2vec2_base(aux_num_out=6)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        logits, _ = self.encoder(audio)
        return torch.softmax(logits.mean(dim=1), dim=1)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "models/bench/wav2vec2-base.onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = Classifier().eval()
    params = sum(p.numel() for p in model.parameters())
    torch.onnx.export(model, torch.zeros(1, 48000), str(out), input_names=["audio"], output_names=["probs"],
                      opset_version=14, dynamic_axes={"audio": {0: "batch", 1: "samples"}, "probs": {0: "batch"}})
    print(f"wrote {out} ({out.stat().st_size} bytes, {params} parameters)")


if __name__ == "__main__":
    main()
