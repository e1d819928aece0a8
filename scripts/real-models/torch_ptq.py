"""torch's own post-training quantization (torch.ao.quantization, eager mode) of the trained MLP and
residual CNN, exported by torch.onnx.export: what a torch user gets, written by torch's tools.

Backends: qnnpack (per-tensor weights) and onednn (per-channel weights; Debian's torch has no fbgemm),
both with uint8 activations. The CNN is exported with batch norm folded by
torch's fusion; the unfused form (quantized BatchNorm2d) is tried too and, if the exporter refuses
it, the exact error is written to models/real/torch-export-notes.json.

    python3 scripts/real-models/torch_ptq.py
"""
import copy
import io
import json
import traceback
import warnings

import numpy as np
import torch

from common import OUT, accuracy, calibration_batch, example_input, save_input, seed_everything, split_digits, trained

OPSET = 13  # per-channel weights need opset 13 (DequantizeLinear axis)


def quantize_fx(model, backend: str, flatten: bool):
    """FX graph mode: the whole forward is traced; QuantStub/DeQuantStub stay as observers' anchors."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = backend
    example = torch.from_numpy(calibration_batch(flatten)[:1])
    m = prepare_fx(copy.deepcopy(model).eval(), get_default_qconfig_mapping(backend), (example,))
    with torch.no_grad():
        m(torch.from_numpy(calibration_batch(flatten)))
    return convert_fx(m)


def quantize(model, backend: str, fuse, flatten: bool):
    if fuse == 'fx':
        return quantize_fx(model, backend, flatten)
    torch.backends.quantized.engine = backend
    m = copy.deepcopy(model).eval()
    if fuse:
        m = torch.ao.quantization.fuse_modules(m, fuse)
    m.qconfig = torch.ao.quantization.get_default_qconfig(backend)
    torch.ao.quantization.prepare(m, inplace=True)
    with torch.no_grad():
        m(torch.from_numpy(calibration_batch(flatten)))
    torch.ao.quantization.convert(m, inplace=True)
    return m


def export(m, name: str, flatten: bool) -> dict:
    x, labels = example_input(flatten)
    one = torch.from_numpy(x[:1])
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(m, one, buf, opset_version=OPSET, input_names=['input'], output_names=['logits'],
                          do_constant_folding=True)
    (OUT / f'{name}.onnx').write_bytes(buf.getvalue())
    save_input(name, x)
    return {'labels': labels.tolist()}


def main() -> None:
    seed_everything(0)
    OUT.mkdir(parents=True, exist_ok=True)
    notes: dict = {'torch': torch.__version__, 'opset': OPSET, 'engines': torch.backends.quantized.supported_engines,
                   'models': {}, 'refused': {}}
    _, (xte, yte), _ = split_digits()
    mlp, mlp_facts = trained('mlp')
    cnn, cnn_facts = trained('cnn')
    cnn_fuse = [['conv1', 'bn1', 'relu1'], ['conv2', 'bn2', 'relu2'], ['conv3', 'bn3'], ['conv4', 'bn4', 'relu4']]
    cnn_fuse_bn = [['conv1', 'bn1'], ['conv2', 'bn2'], ['conv3', 'bn3'], ['conv4', 'bn4']]
    mlp_fuse = [['fc1', 'relu1'], ['fc2', 'relu2']]
    jobs = []
    # fbgemm is not in Debian's torch build (engines: qnnpack, onednn); onednn is its x86 successor.
    for backend in ('qnnpack', 'onednn'):
        # Linear+ReLU fused (quantized::linear_relu) is what a user tries first; the exporter refuses it.
        jobs.append((f'torch-mlp-{backend}-fused-relu', mlp, backend, mlp_fuse, True, mlp_facts))
        jobs.append((f'torch-mlp-{backend}', mlp, backend, [], True, mlp_facts))
        jobs.append((f'torch-cnn-{backend}', cnn, backend, cnn_fuse, False, cnn_facts))
        # Batch norm folded into the conv, ReLU left as its own op on the quantized tensor.
        jobs.append((f'torch-cnn-{backend}-relu-unfused', cnn, backend, cnn_fuse_bn, False, cnn_facts))
        # Batch norm left as its own quantized op (nothing fused).
        jobs.append((f'torch-cnn-{backend}-unfused', cnn, backend, [], False, cnn_facts))
        # FX graph mode (fuses conv+bn+relu itself).
        jobs.append((f'torch-cnn-{backend}-fx', cnn, backend, 'fx', False, cnn_facts))
        jobs.append((f'torch-mlp-{backend}-fx', mlp, backend, 'fx', True, mlp_facts))
    for name, model, backend, fuse, flatten, facts in jobs:
        try:
            q = quantize(model, backend, fuse, flatten)
            acc = accuracy(q, xte, yte, flatten)
            info = export(q, name, flatten)
            notes['models'][name] = {'backend': backend, 'fusion': fuse, **facts,
                                     'quantized_test_accuracy_torch': acc, **info}
            print(f'{name}: written (torch int8 accuracy {acc:.4f}, float {facts["float_test_accuracy"]:.4f})')
        except Exception as e:  # the exporter's refusal is a finding: record it exactly
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            notes['refused'][name] = {'backend': backend, 'fusion': fuse, 'error': last}
            print(f'{name}: REFUSED: {last}')
    (OUT / 'torch-export-notes.json').write_text(json.dumps(notes, indent=2) + '\n')


if __name__ == '__main__':
    main()
