"""Per-op attribute records of the layer IR and their shape inference.

Each layer kind is one frozen dataclass; its fields are the op's attributes with every input-derived constant
(pads, target shapes, slice bounds, clip limits, resize sizes) already resolved by the frontend. ``infer`` maps
the input tensor types (activations and weights, in ``Layer.inputs`` order) to the output types.

The records live in three modules — :mod:`cnncc.ir.op_base` (registry, ``Op``, activations),
:mod:`cnncc.ir.op_compute` (conv family, pooling, normalisation) and :mod:`cnncc.ir.op_move` (elementwise, data
movement) — and are all re-exported here: ``from cnncc.ir import ops as O; O.Conv``.
"""

from __future__ import annotations

from cnncc.ir.op_base import (  # noqa: F401
    OPS,
    Activation,
    Clip,
    HardSigmoid,
    HardSwish,
    LeakyRelu,
    Op,
    Relu,
    Sigmoid,
    Tanh,
    _fail,
    broadcast_shapes,
    register,
)
from cnncc.ir.op_compute import (  # noqa: F401
    LRN,
    AveragePool,
    BatchNormalization,
    Conv,
    ConvTranspose,
    Gemm,
    GlobalAveragePool,
    GlobalMaxPool,
    Im2col,
    MatMul,
    MaxPool,
    _Pool,
    conv_out,
)
from cnncc.ir.op_move import (  # noqa: F401
    Add,
    Binary,
    Concat,
    Div,
    Flatten,
    Identity,
    Mul,
    Pad,
    ReduceMean,
    Reshape,
    Resize,
    Slice,
    Softmax,
    Split,
    Sub,
    Transpose,
    _axis,
)

__all__ = [
    'Activation',
    'Add',
    'AveragePool',
    'BatchNormalization',
    'Binary',
    'Clip',
    'Concat',
    'Conv',
    'ConvTranspose',
    'Div',
    'Flatten',
    'Gemm',
    'GlobalAveragePool',
    'GlobalMaxPool',
    'HardSigmoid',
    'HardSwish',
    'Identity',
    'Im2col',
    'LRN',
    'LeakyRelu',
    'MatMul',
    'MaxPool',
    'Mul',
    'OPS',
    'Op',
    'Pad',
    'ReduceMean',
    'Relu',
    'Reshape',
    'Resize',
    'Sigmoid',
    'Slice',
    'Softmax',
    'Split',
    'Sub',
    'Tanh',
    'Transpose',
    '_Pool',
    '_axis',
    '_fail',
    'broadcast_shapes',
    'conv_out',
    'register',
]
