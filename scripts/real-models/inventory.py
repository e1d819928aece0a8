"""Facts about every model in models/real/ (read back from the .onnx files, not from the scripts'
intentions), as Markdown for INVENTORY.md, plus the libonnx-testdata quantized-operator node tests.

    python3 scripts/real-models/inventory.py [refusals.txt] [node-test dir] > models/real/INVENTORY.md

refusals.txt (optional): lines `NAME<TAB>what vta run printed` (its placement line), merged into the table.
"""
import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from common import OUT

TYPE = {1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64'}
NODE_TESTS = Path('/usr/share/libonnx-testdata/data/node')  # where Debian puts them; argv[2] overrides
HERE = Path(__file__).resolve().parent


def value_info(v) -> str:
    t = v.type.tensor_type
    dims = [d.dim_value if d.HasField('dim_value') else d.dim_param for d in t.shape.dim]
    return f'{v.name}: {TYPE.get(t.elem_type, t.elem_type)} {dims}'


def is_pow2(x: float) -> bool:
    return x > 0 and math.log2(x) == round(math.log2(x))


def facts(path: Path) -> dict:
    m = onnx.load(path)
    g = m.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consts = {}
    for n in g.node:  # torch writes some parameters as Constant nodes
        if n.op_type == 'Constant':
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    known = {**inits, **consts}
    ops = Counter(f'{n.domain + "." if n.domain else ""}{n.op_type}' for n in g.node if n.op_type != 'Constant')
    act_zps, act_scales, w_info, w_dtypes = set(), [], set(), set()
    producer = {o: n for n in g.node for o in n.output}

    def is_weight(name: str) -> bool:
        return name in known

    w_scales: list[float] = []
    add_ratios: list[str] = []

    def scalar(name: str):
        v = known.get(name)
        return None if v is None or v.size != 1 else v.reshape(())

    def note_act(si: str, zi: str | None) -> None:
        s = scalar(si)
        if s is not None:
            act_scales.append(float(s))
        z = scalar(zi) if zi else None
        if z is not None:
            act_zps.add(f'{z.dtype} {int(z)}')

    def note_weight(w: str, s: str, z: str, axis: str) -> None:
        q, sc, zp = known[w], known[s], known.get(z)
        w_scales.extend(float(v) for v in np.ravel(sc))
        w_info.add(f'per-channel ({axis})' if sc.size > 1 else 'per-tensor')
        nz = zp is not None and np.any(zp)
        w_dtypes.add(str(q.dtype) + (' with non-zero zero points' if nz else ''))

    dq_scale = {n.output[0]: n.input[1] for n in g.node if n.op_type == 'DequantizeLinear'}
    for n in g.node:
        i = list(n.input)
        if n.op_type in ('QuantizeLinear', 'DequantizeLinear') and len(i) >= 2:
            axis = next((a.i for a in n.attribute if a.name == 'axis'), 1)
            if n.op_type == 'DequantizeLinear' and i[0] in known:
                if known[i[0]].dtype != np.int32:  # int32 is a bias
                    note_weight(i[0], i[1], i[2] if len(i) > 2 else '', f'axis {axis}')
                continue
            note_act(i[1], i[2] if len(i) > 2 else None)
        elif n.op_type == 'Add' and all(x in dq_scale for x in i):
            a, b = (scalar(dq_scale[x]) for x in i)
            if a is not None and b is not None:
                add_ratios.append(f'{float(a) / float(b):.4g}')
        elif n.op_type in ('QLinearConv', 'QLinearMatMul'):
            note_act(i[1], i[2])
            note_act(i[6], i[7])
            note_weight(i[3], i[4], i[5], 'axis 0' if n.op_type == 'QLinearConv' else 'per column of B')
        elif n.op_type == 'QLinearAdd':
            for si, zi in ((1, 2), (4, 5), (6, 7)):
                note_act(i[si], i[zi])
            a, b = scalar(i[1]), scalar(i[4])
            add_ratios.append(f'{float(a) / float(b):.4g}')
        elif n.op_type == 'QLinearGlobalAveragePool':
            note_act(i[1], i[2])
            note_act(i[3], i[4])
    pow2 = all(is_pow2(s) for s in act_scales) if act_scales else None
    opset = {o.domain or 'ai.onnx': o.version for o in m.opset_import}
    return {
        'producer': f'{m.producer_name} {m.producer_version}'.strip(),
        'opset': ', '.join(f'{d} {v}' for d, v in opset.items()),
        'ops': ', '.join(f'{k}×{v}' for k, v in sorted(ops.items())),
        'act_zps': ', '.join(sorted(act_zps)) or '-',
        'weights': ', '.join(sorted(w_dtypes)) + ' ' + ', '.join(sorted(w_info)),
        'scales': f'{len(set(act_scales))} distinct activation scales, '
                  + ('all powers of two' if pow2 else 'not all powers of two' if pow2 is False else '-')
                  + '; weight scales ' + ('all powers of two' if w_scales and all(is_pow2(x) for x in w_scales)
                                          else 'not all powers of two')
                  + ('; Add input scale ratios (first/second) ' + ', '.join(add_ratios) if add_ratios else ''),
        'inputs': '; '.join(value_info(v) for v in g.input if v.name not in inits),
        'outputs': '; '.join(value_info(v) for v in g.output),
        'size': path.stat().st_size,
    }


def _pb(path: Path) -> np.ndarray:
    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(t)


def _describe(name: str, a: np.ndarray) -> str:
    value = f' = {a.ravel().tolist()}' if a.size <= 4 else ''
    return f'`{name}` {a.dtype}{list(a.shape)}{value}'


def node_tests(root: Path) -> list[str]:
    """One table row per quantized-operator node test: input 0 is the data, every other input a
    parameter (scales, zero points, and the weight operand of Conv/MatMul forms)."""
    rows = []
    for d in sorted(root.glob('test_*')):
        name = d.name
        if not any(k in name for k in ('qlinear', 'integer', 'quantizelinear')):
            continue
        m = onnx.load(d / 'model.onnx')
        data = d / 'test_data_set_0'
        ins = [(v.name, _pb(data / f'input_{i}.pb')) for i, v in enumerate(m.graph.input)]
        outs = [(v.name, _pb(data / f'output_{i}.pb')) for i, v in enumerate(m.graph.output)]
        ops = sorted({n.op_type for n in m.graph.node})
        op = ops[0] if len(ops) == 1 else f'{len(m.graph.node)} nodes (expanded)'
        attrs = ', '.join(f'{a.name}={helper.get_attribute_value(a)}' for a in m.graph.node[0].attribute) \
            if len(ops) == 1 else ''
        params = '; '.join(_describe(n, a) for n, a in ins[1:]) or '-'
        counted = 'dynamicquantizelinear' not in name
        rows.append(f'| {name}{"" if counted else " (not among the 11)"} | {op} {attrs} | {m.opset_import[0].version} | '
                    f'{_describe(*ins[0])} | {params} | {"; ".join(_describe(n, a) for n, a in outs)} |')
    return rows


def main() -> None:
    refusals = {}
    if len(sys.argv) > 1:
        for line in Path(sys.argv[1]).read_text().splitlines():
            if '\t' in line:
                k, v = line.split('\t', 1)
                refusals[k] = v.strip()
    notes = {}
    for f in ('torch-export-notes.json', 'ort-qdq-notes.json'):
        if (OUT / f).exists():
            j = json.loads((OUT / f).read_text())
            notes.update(j.get('models', j))
    print((HERE / 'inventory-preamble.md').read_text())
    print('## Models\n')
    for p in sorted(OUT.glob('*.onnx')):
        f = facts(p)
        name = p.stem
        print(f'### {name}\n')
        print(f'- file: `{p.name}` ({f["size"]} bytes), input `{name}.input.npy`')
        print(f'- producer: {f["producer"]}; opset: {f["opset"]}')
        print(f'- ops: {f["ops"]}')
        print(f'- activation zero points: {f["act_zps"]}')
        print(f'- weights: {f["weights"]}')
        print(f'- scales: {f["scales"]}')
        print(f'- inputs: {f["inputs"]}')
        print(f'- outputs: {f["outputs"]}')
        if name in notes and 'labels' in notes[name]:
            n = notes[name]
            acc = n.get('quantized_test_accuracy_torch')
            extra = f'; torch int8 test accuracy {acc:.4f}' if acc is not None else ''
            print(f'- labels of the committed input: {n["labels"]}; float test accuracy '
                  f'{n["float_test_accuracy"]:.4f}{extra} ({n["data"]})')
        if name in refusals:
            print(f'- `vta run`: `{refusals[name]}`')
        print()
    torch_notes = json.loads((OUT / 'torch-export-notes.json').read_text())
    print('## What torch.onnx.export refused\n')
    for name, r in torch_notes['refused'].items():
        print(f'- {name} (fusion {r["fusion"]}): `{r["error"]}`')
    print()
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else NODE_TESTS
    if root.exists():
        print((HERE / 'inventory-node-tests.md').read_text())
        print('| test | op | opset | data (input 0) | parameters (inputs 1..) | expected outputs |')
        print('|---|---|---|---|---|---|')
        for r in node_tests(root):
            print(r)


if __name__ == '__main__':
    main()
