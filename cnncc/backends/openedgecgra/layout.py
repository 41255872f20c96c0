"""Inter-layer layout conversions the host CPU does around a CGRA layer, costed as their own rows (device
``cpu``, bound ``host``): the copy of the input into a zero-padded CHW buffer, and the transposes of a
Gemm / MatMul whose activation is [positions, features] (the CGRA computes on features x positions).

Costs come from the CPU model (``host.COPY_WORD`` per word, plus clearing the padding border with
``host.ZERO_WORD``). A layer without padding and with CHW-native operands needs no conversion."""

from __future__ import annotations

from dataclasses import dataclass

from cnncc.backends.openedgecgra import host as H
from cnncc.backends.openedgecgra.layer import ConvLayer
from cnncc.ir import ops as O


@dataclass(frozen=True)
class Conversion:
    """One host conversion: what it is (``pad-input``, ``transpose-input``, ``transpose-output``), the words
    copied and the words cleared, and its CPU cost."""

    kind: str
    copy_words: int
    zero_words: int

    @property
    def cost(self) -> H.CpuCost:
        return H.host_work(0, 0, 0, self.copy_words, self.zero_words, 0)


def conversions(graph, layer, cl: ConvLayer) -> list[Conversion]:
    """The conversions around one CGRA layer (empty when its operands are already in the CGRA's layout)."""
    out: list[Conversion] = []
    op = layer.op
    p = cl.prob
    positions = p.OY * p.OX
    transposed_in = (isinstance(op, O.Gemm) or (isinstance(op, O.MatMul) and not graph.is_weight(layer.inputs[0])))
    if transposed_in and positions > 1:
        out.append(Conversion("transpose-input", cl.C * p.IY * p.IX, 0))
        out.append(Conversion("transpose-output", cl.K * positions, 0))
    if any(cl.pads):
        C, IY, IX = cl.in_shape
        padded = cl.C * p.IY * p.IX
        out.append(Conversion("pad-input", C * IY * IX, padded - C * IY * IX))
    return out
