"""A ResNet-18-shaped QDQ model in onnxruntime's quantize_static conventions (qdq_writer.py):
ImageNet layer shapes (1×3×224×224 → conv7×7/2(64) → maxpool3×3/2 → 4 stages of 2 basic blocks,
64/128/256/512 channels, 1×1/2 downsample convs → global average pool → Gemm(1000)), uint8
activations, per-channel int8 weights, batch norm folded, and residual adds whose two inputs have
different scales (checked).

Weights are seeded and random but plausible: He-normal convolutions (fan_out, as torchvision
initialises them), batch norm statistics measured on the calibration batch (so every folded layer
normalises its output, as a trained network's would), γ ∈ [0.5, 1] (γ ∈ [0.2, 0.5] on each block's
last batch norm so residual branches are smaller than the identity), β ~ N(0, 0.1). Images are
seeded smooth random fields, per channel roughly zero mean and unit variance like ImageNet inputs
after normalisation.

    python3 scripts/real-models/resnet18.py
"""
import numpy as np
import onnx
import torch
import torch.nn.functional as F

from common import OUT, save_input, seed_everything
from qdq_writer import QdqWriter

PRODUCER = 'vta-real-models (onnxruntime quantize_static QDQ conventions)'


def images(rs: np.random.RandomState, count: int, size: int = 224) -> np.ndarray:
    coarse = torch.from_numpy(rs.randn(count, 3, 7, 7).astype(np.float32))
    smooth = F.interpolate(coarse, size=(size, size), mode='bicubic', align_corners=False)
    fine = torch.from_numpy(0.3 * rs.randn(count, 3, size, size).astype(np.float32))
    x = smooth + fine
    x = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / x.std(dim=(0, 2, 3), keepdim=True)
    return x.numpy().astype(np.float32)


class Net:
    def __init__(self, w: QdqWriter, rs: np.random.RandomState):
        self.w = w
        self.rs = rs

    def conv_bn(self, x: str, cin: int, cout: int, k: int, stride: int, out: str, relu: bool, last: bool = False) -> str:
        rs = self.rs
        weight = (rs.randn(cout, cin, k, k) * np.sqrt(2.0 / (cout * k * k))).astype(np.float32)
        pad = k // 2
        raw = F.conv2d(self.w.values[x], torch.from_numpy(weight), None, stride, pad)
        mean = raw.mean(dim=(0, 2, 3)).double().numpy()
        var = raw.var(dim=(0, 2, 3), unbiased=False).double().numpy()
        gamma = rs.uniform(0.2, 0.5, cout) if last else rs.uniform(0.5, 1.0, cout)
        beta = rs.randn(cout) * 0.1
        scale = gamma / np.sqrt(var + 1e-5)
        wf = (weight * scale[:, None, None, None]).astype(np.float32)
        bf = (beta - mean * scale).astype(np.float32)
        return self.w.conv(x, wf, bf, out, stride=stride, pad=pad, relu=relu)

    def block(self, x: str, cin: int, cout: int, stride: int, name: str) -> str:
        h = self.conv_bn(x, cin, cout, 3, stride, f'{name}.relu1', relu=True)
        h = self.conv_bn(h, cout, cout, 3, 1, f'{name}.bn2', relu=False, last=True)
        identity = x
        if stride != 1 or cin != cout:
            identity = self.conv_bn(x, cin, cout, 1, stride, f'{name}.downsample', relu=False)
        return self.w.add(h, identity, f'{name}.relu2', relu=True)


def main() -> None:
    seed_everything(0)
    rs = np.random.RandomState(18)
    calib = images(rs, 4)
    example = images(np.random.RandomState(19), 2)
    w = QdqWriter(act='uint8', per_channel=True, producer=PRODUCER)
    net = Net(w, rs)
    x = w.input('input', calib)
    h = net.conv_bn(x, 3, 64, 7, 2, 'conv1.relu', relu=True)
    h = w.maxpool(h, 'maxpool', 3, 2, pad=1)
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for b in range(2):
            stride = 2 if stage > 1 and b == 0 else 1
            h = net.block(h, cin, cout, stride, f'layer{stage}.{b}')
            cin = cout
    g = w.global_average_pool(h, 'avgpool')
    f = w.flatten(g, 'flatten')
    bound = 1 / np.sqrt(512)
    fc_w = rs.uniform(-bound, bound, (1000, 512)).astype(np.float32)
    fc_b = rs.uniform(-bound, bound, 1000).astype(np.float32)
    y = w.gemm(f, fc_w, fc_b, 'fc')
    w.output(y, 'logits')
    m = w.model('ort-resnet18-u8-pc')
    adds = [n for n in m.graph.node if n.op_type == 'Add']
    for n in adds:
        a, b = (w.qparams[i.replace('_DequantizeLinear_Output', '')][0] for i in n.input)
        assert a != b, f'{n.name}: both inputs have scale {a}'
    onnx.save(m, OUT / 'ort-resnet18-u8-pc.onnx')
    save_input('ort-resnet18-u8-pc', example)
    print(f'ort-resnet18-u8-pc: written, {len(adds)} residual adds with different input scales')


if __name__ == '__main__':
    main()
