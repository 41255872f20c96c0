"""The layer IR: typed tensors, per-op attribute records, layers and graphs, loop nests."""

from cnncc.ir.graph import Graph, Layer, WeightTable
from cnncc.ir.loopnest import Intensities, LoopNest, intensities
from cnncc.ir.types import TensorType, tensor_type

__all__ = ["Graph", "Layer", "WeightTable", "TensorType", "tensor_type", "LoopNest", "Intensities", "intensities"]
