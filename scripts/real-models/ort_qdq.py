"""QDQ models following onnxruntime's quantize_static conventions (see qdq_writer.py), from the
trained float MLP and residual CNN (batch norm folded): uint8 and int8 activations, per-tensor and
per-channel weights; an MLP in MatMul+Add form (per-channel axis 1); and two power-of-two models
(int8 symmetric, every scale 2^-n) where exact agreement with onnxruntime is expected.

    python3 scripts/real-models/ort_qdq.py
"""
import json

import numpy as np
import onnx

from common import OUT, calibration_batch, example_input, fold_bn, save_input, seed_everything, trained
from qdq_writer import QdqWriter

PRODUCER = 'vta-real-models (onnxruntime quantize_static QDQ conventions)'


def params(t) -> np.ndarray:
    return t.detach().numpy().astype(np.float32)


def build_mlp(w: QdqWriter, mlp, form: str) -> None:
    x = w.input('input', calibration_batch(True))
    layer = w.gemm if form == 'gemm' else w.matmul_add
    h = layer(x, params(mlp.fc1.weight), params(mlp.fc1.bias), 'fc1', relu=True)
    h = layer(h, params(mlp.fc2.weight), params(mlp.fc2.bias), 'fc2', relu=True)
    y = layer(h, params(mlp.fc3.weight), params(mlp.fc3.bias), 'fc3')
    w.output(y, 'logits')


def build_cnn(w: QdqWriter, cnn, pad_to: int = 28) -> None:
    calib = calibration_batch(False)
    if pad_to != 28:
        p = (pad_to - 28) // 2
        calib = np.pad(calib, ((0, 0), (0, 0), (p, p), (p, p)))
    x = w.input('input', calib)
    c1 = w.conv(x, *fold_bn(cnn.conv1, cnn.bn1), 'conv1', pad=1, relu=True)
    p = w.maxpool(c1, 'pool1', 2, 2)
    c2 = w.conv(p, *fold_bn(cnn.conv2, cnn.bn2), 'conv2', pad=1, relu=True)
    c3 = w.conv(c2, *fold_bn(cnn.conv3, cnn.bn3), 'conv3', pad=1)
    r = w.add(c3, p, 'res1', relu=True)
    c4 = w.conv(r, *fold_bn(cnn.conv4, cnn.bn4), 'conv4', stride=2, pad=1, relu=True)
    g = w.global_average_pool(c4, 'gap')
    f = w.flatten(g, 'flat')
    y = w.gemm(f, params(cnn.fc.weight), params(cnn.fc.bias), 'fc')
    w.output(y, 'logits')


def main() -> None:
    seed_everything(0)
    mlp, mlp_facts = trained('mlp')
    cnn, cnn_facts = trained('cnn')
    facts = {}
    jobs = []
    for act in ('uint8', 'int8'):
        a = 'u8' if act == 'uint8' else 'i8'
        for per_channel in (False, True):
            wq = 'pc' if per_channel else 'pt'
            jobs.append((f'ort-mlp-{a}-{wq}', 'mlp', dict(act=act, per_channel=per_channel), 'gemm'))
            jobs.append((f'ort-cnn-{a}-{wq}', 'cnn', dict(act=act, per_channel=per_channel), None))
    jobs.append(('ort-mlp-matmul-u8-pc', 'mlp', dict(act='uint8', per_channel=True), 'matmul'))
    jobs.append(('pow2-mlp', 'mlp', dict(act='int8', pow2=True), 'gemm'))
    jobs.append(('pow2-cnn', 'cnn', dict(act='int8', pow2=True), None))
    for name, kind, opts, form in jobs:
        w = QdqWriter(producer=PRODUCER, **opts)
        pad_to = 32 if name == 'pow2-cnn' else 28  # 32×32 (LeNet's padding): the pool averages 8×8 = 2^6
        if kind == 'mlp':
            build_mlp(w, mlp, form)
        else:
            build_cnn(w, cnn, pad_to)
        onnx.save(w.model(name), OUT / f'{name}.onnx')
        x, labels = example_input(kind == 'mlp', pad_to=pad_to)
        save_input(name, x)
        facts[name] = {**(mlp_facts if kind == 'mlp' else cnn_facts), 'labels': labels.tolist(), **opts,
                       'form': form or 'conv'}
        print(f'{name}: written')
    (OUT / 'ort-qdq-notes.json').write_text(json.dumps(facts, indent=2) + '\n')


if __name__ == '__main__':
    main()
