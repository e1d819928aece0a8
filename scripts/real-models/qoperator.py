"""QOperator-format variants of the residual CNN (what quantize_static writes with
QuantFormat.QOperator): the same calibrated parameters as the QDQ model (ort_qdq.build_cnn), with
every DQ → op → Q group replaced by one quantized operator:

    QuantizeLinear (float input) → QLinearConv ×2 → MaxPool (on uint8/int8, scale shared)
    → QLinearConv ×2 → com.microsoft QLinearAdd (residual, different input scales)
    → QLinearConv (stride 2) → com.microsoft QLinearGlobalAveragePool → Flatten (on uint8/int8)
    → QLinearMatMul (weights transposed, per-column scales when per channel)
    → com.microsoft QLinearAdd (bias, quantized as an activation with its own scale and zero point)
    → DequantizeLinear (float output)

The last layer is written as MatMul + Add (as a graph exported from a framework that has no Gemm
would have it) so that QLinearMatMul appears; the MatMul output's range is calibrated on the
same batch with the dequantized weights.

    python3 scripts/real-models/qoperator.py
"""
import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from common import OUT, example_input, save_input, seed_everything, trained
from ort_qdq import build_cnn
from qdq_writer import QdqWriter

PRODUCER = 'vta-real-models (onnxruntime quantize_static QOperator conventions)'
MS = 'com.microsoft'


def to_qoperator(w: QdqWriter, qdq: onnx.ModelProto) -> onnx.ModelProto:
    g = qdq.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    dq_of = {n.output[0]: n for n in g.node if n.op_type == 'DequantizeLinear'}
    q_of = {n.input[0]: n for n in g.node if n.op_type == 'QuantizeLinear'}
    graph_in = {v.name for v in g.input}
    graph_out = {v.name for v in g.output}
    nodes, extra = [], []

    def xin(name: str) -> list[str]:
        return list(dq_of[name].input)  # [quantized tensor, scale, zero point]

    def yout(tensor: str) -> tuple[str, list[str]]:
        q = q_of[tensor]
        return q.output[0], list(q.input[1:])

    for n in g.node:
        if n.op_type == 'QuantizeLinear':
            if n.input[0] in graph_in:
                nodes.append(n)
            continue
        if n.op_type == 'DequantizeLinear':
            if n.output[0] in graph_out:
                nodes.append(n)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == 'Conv':
            y, ys = yout(n.output[0])
            b = dq_of[n.input[2]].input[0]
            nodes.append(helper.make_node('QLinearConv', xin(n.input[0]) + xin(n.input[1]) + ys + [b], [y],
                                          name=n.name + '_quant', **attrs))
        elif n.op_type == 'Add':
            y, ys = yout(n.output[0])
            nodes.append(helper.make_node('QLinearAdd', xin(n.input[0]) + xin(n.input[1]) + ys, [y],
                                          name=n.name + '_quant', domain=MS))
        elif n.op_type in ('MaxPool', 'Flatten'):
            x = xin(n.input[0])
            y, ys = yout(n.output[0])
            for a, b in zip(x[1:], ys):  # these run on the integers: parameters must be shared
                assert np.array_equal(inits[a], inits[b]), (n.name, a, b)
            nodes.append(helper.make_node(n.op_type, [x[0]], [y], name=n.name + '_quant', **attrs))
        elif n.op_type == 'GlobalAveragePool':
            y, ys = yout(n.output[0])
            nodes.append(helper.make_node('QLinearGlobalAveragePool', xin(n.input[0]) + ys, [y],
                                          name=n.name + '_quant', domain=MS, channels_last=0))
        elif n.op_type == 'Gemm':
            x = xin(n.input[0])
            wq, ws, wz = xin(n.input[1])
            y, ys = yout(n.output[0])
            wt = np.ascontiguousarray(inits[wq].T)
            extra.append(numpy_helper.from_array(wt, wq + '_T'))
            # MatMul output range on the calibration batch, with the dequantized weights.
            wf = inits[wq].astype(np.float32) * (inits[ws].reshape(-1, 1) if inits[ws].ndim else inits[ws])
            mm = f'{n.output[0]}_matmul'
            w.values[mm] = w.values[n.input[0].replace('_DequantizeLinear_Output', '')] @ torch.from_numpy(wf.T)
            w.nodes, w.inits = [], []
            w.quantize(mm)
            bias_f = (inits[dq_of[n.input[2]].input[0]].astype(np.float64)
                      * inits[dq_of[n.input[2]].input[1]]).astype(np.float32)
            bname = f'{n.name}.bias_activation'
            w.values[bname] = torch.from_numpy(bias_f)
            w.quantize(bname)
            extra.extend(w.inits)
            bscale, bzp = w.qparams[bname]
            bq = np.clip(np.round(bias_f / bscale) + bzp.astype(np.int32), *((0, 255) if bzp.dtype == np.uint8 else (-128, 127)))
            extra.append(numpy_helper.from_array(bq.astype(bzp.dtype), bname + '_quantized'))
            mmq = f'{mm}_quantized'
            nodes.append(helper.make_node('QLinearMatMul', x + [wq + '_T', ws, wz, f'{mm}_scale', f'{mm}_zero_point'],
                                          [mmq], name=n.name + '_matmul_quant'))
            nodes.append(helper.make_node('QLinearAdd', [mmq, f'{mm}_scale', f'{mm}_zero_point', bname + '_quantized',
                                                         f'{bname}_scale', f'{bname}_zero_point'] + ys, [y],
                                          name=n.name + '_bias_quant', domain=MS))
        else:
            raise ValueError(f'no QOperator form for {n.op_type}')
    used = {i for n in nodes for i in n.input}
    keep = [i for i in list(g.initializer) + extra if i.name in used]
    graph = helper.make_graph(nodes, g.name, list(g.input), list(g.output), keep)
    m = helper.make_model(graph, producer_name=PRODUCER, producer_version='1',
                          opset_imports=[helper.make_opsetid('', 13), helper.make_opsetid(MS, 1)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def main() -> None:
    seed_everything(0)
    cnn, _ = trained('cnn')
    for name, act, per_channel in (('qop-cnn-u8-pc', 'uint8', True), ('qop-cnn-u8-pt', 'uint8', False),
                                   ('qop-cnn-i8-pc', 'int8', True)):
        w = QdqWriter(act=act, per_channel=per_channel, producer=PRODUCER)
        build_cnn(w, cnn)
        onnx.save(to_qoperator(w, w.model(name)), OUT / f'{name}.onnx')
        x, _ = example_input(False)
        save_input(name, x)
        print(f'{name}: written')


if __name__ == '__main__':
    main()
