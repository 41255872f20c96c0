"""From an IR layer to the CGRA's view of it: a grouped convolution on a CHW input (batch 1), integer weights,
and the functional reference data layout. Gemm / MatMul become 1x1 convolutions over their positions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnncc.backends.openedgecgra.kernels.common import ConvProblem, NotApplicable
from cnncc.ir import ops as O
from cnncc.ir.loopnest import CONV, DEPTHWISE, FC, MATMUL

CGRA_KINDS = (CONV, DEPTHWISE, FC, MATMUL)


@dataclass(frozen=True)
class ConvLayer:
    """A layer as the CGRA runs it. ``prob`` is one group (padded input); W: [K, C/groups, FY, FX] int64."""

    name: str
    prob: ConvProblem
    groups: int
    pads: tuple[int, int, int, int]
    in_shape: tuple[int, int, int]      # unpadded (C, IY, IX)
    W: np.ndarray
    bias: np.ndarray | None
    act: object
    kind: str
    quantised: bool                     # weights were float and were scaled to int8 for costing
    requant: bool = False               # quantised activations: the CGRA computes int32 accumulators, the host
                                        # requantises (multiplier, shift, zero point, clamp incl. the activation)
    in_zp: int = 0                      # input zero point (quantised activations; the host subtracts it)

    @property
    def macs(self) -> int:
        return self.prob.macs * self.groups

    @property
    def K(self) -> int:
        return self.prob.K * self.groups

    @property
    def C(self) -> int:
        return self.prob.C * self.groups


def _requant(graph, layer) -> tuple[bool, int]:
    """(the layer reads and writes quantised activations, so the host requantises its output; the input's zero
    point)."""
    qi, qo = graph.type_of(layer.inputs[0]).quant, graph.type_of(layer.outputs[0]).quant
    if qi is None or qo is None:
        return False, 0
    return True, int(qi.zero_point[0])


def _intw(a: np.ndarray) -> tuple[np.ndarray, bool]:
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int64), False
    m = float(np.max(np.abs(a))) if a.size else 0.0
    return (np.round(a / m * 127) if m > 0 else np.zeros_like(a)).astype(np.int64), True


def conv_layer(graph, layer, weights: dict | None = None) -> ConvLayer:
    """The ConvLayer of a Conv / Gemm / MatMul layer; ``weights`` overrides the graph's weight arrays (the
    functional check passes integer ones). Raises NotApplicable for anything else."""
    nest = graph.loop_nest(layer)
    if nest is None or nest.kind not in CGRA_KINDS:
        raise NotApplicable(f"{layer.kind} has no multiply-accumulate loop nest the CGRA maps")
    wsrc = weights if weights is not None else graph.weights
    op = layer.op
    act = getattr(op, "act", None)
    if isinstance(op, O.Conv):
        W, q = _intw(wsrc[layer.inputs[1]])
        bias = _intw(wsrc[layer.inputs[2]])[0] if len(layer.inputs) > 2 else None
        p = nest.pads
        C, IY, IX = graph.type_of(layer.inputs[0]).shape[1:]
        g = nest.groups
        prob = ConvProblem(C // g, nest.K // g, IY + p[0] + p[2], IX + p[1] + p[3], nest.OY, nest.OX, nest.FY,
                           nest.FX, nest.SY, nest.SX, nest.DY, nest.DX)
        return ConvLayer(layer.name, prob, g, tuple(p), (C, IY, IX), W, bias, act, nest.kind, q,
                         *_requant(graph, layer))
    if isinstance(op, O.Gemm):
        if op.alpha != 1.0 or (len(layer.inputs) > 2 and op.beta != 1.0):
            raise NotApplicable("Gemm with alpha/beta != 1")
        if not graph.is_weight(layer.inputs[1]):
            raise NotApplicable("Gemm with a non-constant B")
        B, q = _intw(wsrc[layer.inputs[1]])
        Wm = B if op.trans_b else B.T                      # [N, R]
        bias = _intw(wsrc[layer.inputs[2]])[0].reshape(-1) if len(layer.inputs) > 2 else None
        if bias is not None and bias.size != Wm.shape[0]:
            raise NotApplicable("Gemm bias that is not per output")
    elif isinstance(op, O.MatMul):
        a, b = layer.inputs[0], layer.inputs[1]
        if graph.is_weight(b) and not graph.is_weight(a) and len(graph.type_of(b).shape) == 2:
            B, q = _intw(wsrc[b])
            Wm = B.T
        elif graph.is_weight(a) and not graph.is_weight(b) and len(graph.type_of(a).shape) == 2:
            Wm, q = _intw(wsrc[a])
        else:
            raise NotApplicable("MatMul without a 2-D constant operand")
        bias = None
    else:
        raise NotApplicable(f"{layer.kind} is not mapped")
    K, R = Wm.shape
    P = nest.OX
    prob = ConvProblem(R, K, 1, P, 1, P)
    return ConvLayer(layer.name, prob, 1, (0, 0, 0, 0), (R, 1, P), Wm.reshape(K, R, 1, 1), bias, act, nest.kind, q,
                     *_requant(graph, layer))


def to_chw(graph, layer, x: np.ndarray) -> np.ndarray:
    """The layer's activation input as the CGRA's (C, IY, IX) array."""
    op = layer.op
    if isinstance(op, O.Conv):
        return np.asarray(x)[0]
    if isinstance(op, O.Gemm):
        A = np.asarray(x)
        A = A.T if op.trans_a else A                      # [M, R]
        return A.T.reshape(A.shape[1], 1, A.shape[0])
    a = layer.inputs[0]
    if graph.is_weight(a):                                 # W[K,R] . X[R,P]
        X = np.asarray(x).reshape(-1, np.asarray(x).shape[-1])
        return X.reshape(X.shape[0], 1, X.shape[1])
    X = np.asarray(x).reshape(-1, np.asarray(x).shape[-1])   # X[P,R] . W[R,K]
    return X.T.reshape(X.shape[1], 1, X.shape[0])


def from_chw(graph, layer, y: np.ndarray) -> np.ndarray:
    """The CGRA's (K, OY, OX) result in the layer's output shape."""
    shape = graph.type_of(layer.outputs[0]).shape
    op = layer.op
    if isinstance(op, O.Conv):
        return y.reshape(shape)
    if isinstance(op, O.MatMul) and graph.is_weight(layer.inputs[0]):
        return y.reshape(shape)
    return y.reshape(y.shape[0], -1).T.reshape(shape)


def apply_act(act, y: np.ndarray) -> np.ndarray:
    """The host applies a fused activation (integer semantics: ReLU and Clip only)."""
    if act is None:
        return y
    if isinstance(act, O.Relu):
        return np.maximum(y, 0)
    if isinstance(act, O.Clip):
        lo = -np.inf if act.lo == -np.inf else np.ceil(act.lo)
        hi = np.inf if act.hi == np.inf else np.floor(act.hi)
        return np.clip(y, lo, hi).astype(y.dtype)
    raise NotApplicable(f"fused activation {act.kind} has no integer host implementation")
