"""Start a network from a shipped ONNX file's weights (fine-tuning without the original .pt).

torch.onnx.export folds each BatchNorm after a convolution into that convolution's weight and bias, so the
exported initializers are named `onnx::Conv_*` in graph order. They are loaded into the convolutions of an
EmotionNet of the same architecture, and each folded BatchNorm becomes the identity plus the folded bias
(running mean 0, running variance 1 - eps, scale 1): in eval mode the network computes what the ONNX
graph computes. Fine-tuning such a network must keep those BatchNorms in eval mode (`freeze_bn`), since
batch statistics would undo the folding. The not-folded tensors (input BatchNorm, attention pooling, head,
calibration) keep their names.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn

from model import EmotionNet


def conv_bn_pairs(net: EmotionNet) -> list[tuple[nn.Module, nn.Module]]:
    """The convolutions in the order the exporter folded them, each with its BatchNorm."""
    pairs = [(seq[0], seq[1]) for seq in net.stem]
    pairs.append((net.proj[0], net.proj[1]))
    for b in net.blocks:
        pairs += [(b.conv1, b.bn1), (b.conv2, b.bn2)]
    return pairs


def load_onnx_weights(net: EmotionNet, path: Path, prefix: str = "net.nets.0.") -> dict:
    """Fill `net` from the ONNX file; returns the calibration {temperature, bias} found there."""
    model = onnx.load(str(path))
    init = {i.name: torch.from_numpy(onnx.numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    # graph order of the folded convolutions: the order their weights are consumed by Conv nodes
    folded = []
    for node in model.graph.node:
        if node.op_type == "Conv" and len(node.input) >= 2 and node.input[1].startswith("onnx::Conv_"):
            folded.append((node.input[1], node.input[2] if len(node.input) > 2 else None))
    pairs = conv_bn_pairs(net)
    if len(folded) != len(pairs):
        raise ValueError(f"{path}: {len(folded)} folded convolutions, the network has {len(pairs)}")
    with torch.no_grad():
        for (wname, bname), (conv, bn) in zip(folded, pairs):
            w = init[wname]
            if conv is pairs[0][0] and w.shape[1] < conv.weight.shape[1]:
                # a network with more input channels (the history channel): the new ones start at zero weight,
                # so the network starts as the shipped one
                w = torch.cat([w, torch.zeros(w.shape[0], conv.weight.shape[1] - w.shape[1], *w.shape[2:])], dim=1)
            if w.shape != conv.weight.shape:
                raise ValueError(f"{wname}: shape {tuple(w.shape)} against {tuple(conv.weight.shape)}")
            conv.weight.copy_(w)
            bn.weight.fill_(1.0)
            bn.bias.copy_(init[bname] if bname else torch.zeros_like(bn.bias))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        state = net.state_dict()
        for k in state:
            if (prefix + k) in init and not k.startswith("logmel."):
                src = init[prefix + k]
                if k.startswith("input_norm.") and src.shape[0] < state[k].shape[0]:
                    # the history channel is normalised as the clip-only CMN channel (the last shipped one)
                    src = torch.cat([src, src[-1:].expand(state[k].shape[0] - src.shape[0])])
                    init[prefix + k] = src
                if state[k].shape != init[prefix + k].shape:
                    raise ValueError(f"{k}: shape mismatch")
                state[k].copy_(init[prefix + k])
    inv_t = float(init["inv_t"]) if "inv_t" in init else 1.0
    bias = init.get("bias", torch.zeros(6))
    return {"temperature": 1.0 / inv_t, "bias": bias.float()}


def freeze_bn(net: nn.Module) -> None:
    """BatchNorms to eval mode (running statistics), their scale and shift still trained."""
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
