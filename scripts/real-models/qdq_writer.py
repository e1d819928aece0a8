"""Writes QDQ ONNX graphs the way onnxruntime's `quantize_static` does with its defaults
(QuantFormat.QDQ, MinMax calibration, activation_type QUInt8, weight_type QInt8), computing the
float values on a calibration batch as it goes so every activation gets its calibrated range.

The conventions followed (onnxruntime/python/tools/quantization: quant_utils.compute_scale_zp,
qdq_quantizer, operators/*):
- activations asymmetric: rmin = min(min, 0), rmax = max(max, 0), scale = (rmax - rmin) / (qmax - qmin),
  zero point = round(qmin - rmin / scale) (numpy round: half to even); uint8 0..255 or int8 -128..127;
- weights int8 symmetric, -127..127, scale = max|w| / 127, zero point 0, stored quantized as an
  initializer `W_quantized` followed by DequantizeLinear; per channel on axis 0 for Conv and for Gemm
  with transB = 1, axis 1 for MatMul;
- bias int32, scale = input scale × weight scale (per channel when the weight is), zero point 0,
  through DequantizeLinear (axis 0 when per channel);
- one QuantizeLinear → DequantizeLinear pair per quantized tensor, shared by all its consumers;
  names T_QuantizeLinear / T_QuantizeLinear_Output / T_DequantizeLinear_Output, T_scale, T_zero_point;
- Relu after Conv/Gemm is removed when activations are asymmetric: the producer's output is
  quantized with the Relu output's range (QDQRemovableActivation); with symmetric activations the
  Relu stays, with a Q/DQ pair on each side;
- MaxPool's output takes its input's scale and zero point (QDQMaxPool / QDQDirect8BitOp);
  GlobalAveragePool and Add are quantized generically (QDQOperatorBase): every input and the output
  get their own calibrated parameters, so an Add's two inputs have different scales;
- Flatten is not an operator the quantizer handles: it runs in float between a DQ and the next Q;
- the graph input and output stay float32 (Q at the input, DQ at the output).

Optional `pow2`: every scale rounded up to a power of two and activations symmetric int8 (zero
point 0), for models where exact agreement with onnxruntime is expected.
"""
import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

DTYPES = {'uint8': (TensorProto.UINT8, np.uint8, 0, 255), 'int8': (TensorProto.INT8, np.int8, -128, 127)}


def _pow2_at_least(x: float) -> float:
    return 2.0 ** math.ceil(math.log2(x)) if x > 0 else 1.0


class QdqWriter:
    def __init__(self, act: str = 'uint8', per_channel: bool = False, pow2: bool = False, producer: str = ''):
        self.act = act
        self.per_channel = per_channel
        self.pow2 = pow2
        self.symmetric_act = pow2
        self.producer = producer
        self.nodes: list = []
        self.inits: list = []
        self.values: dict[str, torch.Tensor] = {}
        self.qparams: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.dq: dict[str, str] = {}
        self.inputs: list = []
        self.outputs: list = []
        self.count = 0

    # --- quantization parameters -------------------------------------------------------------

    def _act_params(self, value: torch.Tensor) -> tuple[np.float32, np.ndarray]:
        proto, npt, qmin, qmax = DTYPES[self.act]
        rmin = min(float(value.min()), 0.0)
        rmax = max(float(value.max()), 0.0)
        if self.symmetric_act:
            absmax = max(abs(rmin), abs(rmax))
            scale = _pow2_at_least(absmax / 127) if self.pow2 else absmax * 2 / (qmax - qmin)
            return np.float32(scale), np.array(0, dtype=npt)
        scale = np.float32((rmax - rmin) / (qmax - qmin)) if rmax > rmin else np.float32(1.0)
        zp = np.clip(np.round(qmin - rmin / np.float64(scale)), qmin, qmax)
        return scale, np.array(zp, dtype=npt)

    def _weight_params(self, w: np.ndarray, axis: int | None) -> np.ndarray:
        if axis is None:
            absmax = np.array(np.abs(w).max(), dtype=np.float64)
        else:
            other = tuple(i for i in range(w.ndim) if i != axis)
            absmax = np.abs(w).max(axis=other).astype(np.float64)
        if self.pow2:
            return np.vectorize(lambda a: _pow2_at_least(a / 127))(absmax).astype(np.float32)
        return np.where(absmax > 0, absmax / 127, 1.0).astype(np.float32)

    # --- initializers and Q/DQ nodes -----------------------------------------------------------

    def _init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def _dq_node(self, q: str, scale: str, zp: str, out: str, axis: int | None) -> None:
        kw = {'axis': axis} if axis is not None else {}
        self.nodes.append(helper.make_node('DequantizeLinear', [q, scale, zp], [out], name=out.replace('_Output', ''), **kw))

    def quantize(self, tensor: str, share_from: str | None = None) -> str:
        """Q → DQ pair for activation `tensor` (once); returns the DQ output consumers use."""
        if tensor in self.dq:
            return self.dq[tensor]
        if share_from is not None:
            scale, zp = self.qparams[share_from]
        else:
            scale, zp = self._act_params(self.values[tensor])
        self.qparams[tensor] = (scale, zp)
        s = self._init(f'{tensor}_scale', np.array(scale, dtype=np.float32))
        z = self._init(f'{tensor}_zero_point', zp)
        q = f'{tensor}_QuantizeLinear_Output'
        self.nodes.append(helper.make_node('QuantizeLinear', [tensor, s, z], [q], name=f'{tensor}_QuantizeLinear'))
        dq = f'{tensor}_DequantizeLinear_Output'
        self._dq_node(q, s, z, dq, None)
        self.dq[tensor] = dq
        return dq

    def weight(self, name: str, w: np.ndarray, axis: int) -> tuple[str, np.ndarray]:
        """int8 symmetric weight → DQ; per channel along `axis` when per_channel."""
        ax = axis if self.per_channel else None
        scale = self._weight_params(w, ax)
        shape = [1] * w.ndim
        if ax is not None:
            shape[ax] = -1
        q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        self._init(f'{name}_quantized', q)
        self._init(f'{name}_scale', scale)
        self._init(f'{name}_zero_point', np.zeros(scale.shape, dtype=np.int8))
        out = f'{name}_DequantizeLinear_Output'
        self._dq_node(f'{name}_quantized', f'{name}_scale', f'{name}_zero_point', out, ax)
        return out, scale

    def bias(self, name: str, b: np.ndarray, input_tensor: str, w_scale: np.ndarray) -> str:
        scale = (np.float32(self.qparams[input_tensor][0]) * w_scale).astype(np.float32)
        q = np.round(b.astype(np.float64) / scale.astype(np.float64)).astype(np.int32)
        self._init(f'{name}_quantized', q)
        self._init(f'{name}_quantized_scale', scale)
        self._init(f'{name}_quantized_zero_point', np.zeros(scale.shape, dtype=np.int32))
        out = f'{name}_quantized_DequantizeLinear_Output'
        self._dq_node(f'{name}_quantized', f'{name}_quantized_scale', f'{name}_quantized_zero_point', out,
                      0 if scale.ndim == 1 else None)
        return out

    # --- layers (float value computed alongside) ----------------------------------------------

    def _name(self, op: str) -> str:
        self.count += 1
        return f'{op}_{self.count}'

    def input(self, name: str, value: np.ndarray) -> str:
        shape = [1, *value.shape[1:]]
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        self.values[name] = torch.from_numpy(value)
        return name

    def _relu_after(self, out: str, relu: bool) -> str:
        """Relu after a producer whose float output `out` is set: removed (asymmetric) or kept."""
        if not relu:
            return out
        if not self.symmetric_act:
            self.values[out] = torch.relu(self.values[out])
            return out
        pre = self.quantize(out)
        post = f'{out}_relu'
        self.values[post] = torch.relu(self.values[out])
        self.nodes.append(helper.make_node('Relu', [pre], [post], name=self._name('Relu')))
        return post

    def conv(self, x: str, w: np.ndarray, b: np.ndarray, out: str, stride: int = 1, pad: int = 0,
             relu: bool = False) -> str:
        xq = self.quantize(x)
        name = self._name('Conv')
        wq, ws = self.weight(f'{name}.weight', w, 0)
        bq = self.bias(f'{name}.bias', b, x, ws)
        k = w.shape[2]
        self.nodes.append(helper.make_node('Conv', [xq, wq, bq], [out], name=name, kernel_shape=[k, k],
                                           strides=[stride, stride], pads=[pad] * 4, dilations=[1, 1], group=1))
        self.values[out] = F.conv2d(self.values[x], torch.from_numpy(w), torch.from_numpy(b), stride, pad)
        return self._relu_after(out, relu)

    def gemm(self, x: str, w: np.ndarray, b: np.ndarray, out: str, relu: bool = False) -> str:
        """Gemm(transB=1), w of shape [out, in] (torch's Linear)."""
        xq = self.quantize(x)
        name = self._name('Gemm')
        wq, ws = self.weight(f'{name}.weight', w, 0)
        bq = self.bias(f'{name}.bias', b, x, ws)
        self.nodes.append(helper.make_node('Gemm', [xq, wq, bq], [out], name=name, alpha=1.0, beta=1.0, transB=1))
        self.values[out] = F.linear(self.values[x], torch.from_numpy(w), torch.from_numpy(b))
        return self._relu_after(out, relu)

    def matmul_add(self, x: str, w: np.ndarray, b: np.ndarray, out: str, relu: bool = False) -> str:
        """MatMul(x, W[in, out]) then Add(bias), as a TF or hand-written float graph has them. The
        quantizer treats the Add generically: the bias initializer becomes an int8 symmetric weight
        (per tensor) and the MatMul output gets its own Q/DQ."""
        xq = self.quantize(x)
        name = self._name('MatMul')
        wt = np.ascontiguousarray(w.T)
        wq, _ = self.weight(f'{name}.weight', wt, 1)
        mm = f'{out}_matmul'
        self.nodes.append(helper.make_node('MatMul', [xq, wq], [mm], name=name))
        self.values[mm] = self.values[x] @ torch.from_numpy(wt)
        mmq = self.quantize(mm)
        saved = self.per_channel
        self.per_channel = False
        bq, _ = self.weight(f'{name}.bias', b.astype(np.float32), 0)
        self.per_channel = saved
        self.nodes.append(helper.make_node('Add', [mmq, bq], [out], name=self._name('Add')))
        self.values[out] = self.values[mm] + torch.from_numpy(b)
        return self._relu_after(out, relu)

    def add(self, a: str, b: str, out: str, relu: bool = False) -> str:
        aq, bq = self.quantize(a), self.quantize(b)
        self.nodes.append(helper.make_node('Add', [aq, bq], [out], name=self._name('Add')))
        self.values[out] = self.values[a] + self.values[b]
        if relu and not self.symmetric_act:
            # Add then Relu: the quantizer removes the Relu and quantizes the Add output with its range.
            self.values[out] = torch.relu(self.values[out])
            return out
        return self._relu_after(out, relu)

    def maxpool(self, x: str, out: str, k: int, stride: int, pad: int = 0) -> str:
        xq = self.quantize(x)
        self.nodes.append(helper.make_node('MaxPool', [xq], [out], name=self._name('MaxPool'),
                                           kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4))
        self.values[out] = F.max_pool2d(self.values[x], k, stride, pad)
        self.quantize(out, share_from=x)
        return out

    def global_average_pool(self, x: str, out: str) -> str:
        xq = self.quantize(x)
        self.nodes.append(helper.make_node('GlobalAveragePool', [xq], [out], name=self._name('GlobalAveragePool')))
        self.values[out] = self.values[x].mean(dim=(2, 3), keepdim=True)
        return out

    def flatten(self, x: str, out: str) -> str:
        xq = self.quantize(x)
        self.nodes.append(helper.make_node('Flatten', [xq], [out], name=self._name('Flatten'), axis=1))
        self.values[out] = torch.flatten(self.values[x], 1)
        return out

    def output(self, tensor: str, name: str) -> None:
        """The graph output: `tensor` quantized, then dequantized into float32 output `name`."""
        dq = self.quantize(tensor)
        for n in self.nodes:
            n.output[:] = [name if o == dq else o for o in n.output]
        shape = [1, *self.values[tensor].shape[1:]]
        self.outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))

    def model(self, graph_name: str, opset: int = 13) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(graph, producer_name=self.producer, producer_version='1',
                              opset_imports=[helper.make_opsetid('', opset)])
        m.ir_version = 7
        onnx.checker.check_model(m)
        return m
