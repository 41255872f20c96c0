"""Cost model of the X-HEEP host CPU (cv32e20 / Ibex class, 2-stage pipeline, RV32IMC).

Assumptions (stated, not measured): ALU 1 cycle, load 2, store 2, MUL 3 (fast multiplier), taken branch 3,
not-taken branch 1, jump 2; the compiler keeps the convolution accumulator in a register and strength-reduces
the array indices (-O2). Costs are computed from explicit instruction lists of the loop bodies below, not
fitted: the plain 6-loop convolution on the paper's baseline layer comes out within ~15 % of the paper's
CPU-only 63.4 ms (see tests/openedgecgra/test_host.py).
"""

from __future__ import annotations

from dataclasses import dataclass

CYCLES = {"alu": 1, "lw": 2, "sw": 2, "mul": 3, "bt": 3, "bn": 1, "j": 2}


def _cost(body: tuple[str, ...]) -> tuple[int, int, int]:
    """(cycles, instructions, data accesses) of one pass over an instruction list."""
    return (sum(CYCLES[i] for i in body), len(body), sum(i in ("lw", "sw") for i in body))


#: innermost fx loop, per MAC: lw x, lw w, mul, add, addi px, addi pw, bne (taken)
CONV_FX = ("lw", "lw", "mul", "alu", "alu", "alu", "bt")
#: per fy iteration besides its fx loop: reset fx counter, step input row pointer, count, bne
CONV_FY = ("alu", "alu", "alu", "bt")
#: per output pixel (k, c, y, x): acc = 0, two pointer set-ups, fy counter, out += acc (lw add sw), x++, bne
CONV_X = ("alu", "alu", "alu", "alu", "lw", "alu", "sw", "alu", "alu", "bt")
#: per output row / input channel / output channel: pointer arithmetic (with a mul) and the loop branch
CONV_Y = ("alu", "alu", "mul", "alu", "alu", "bt")
CONV_C = ("alu", "alu", "mul", "alu", "alu", "bt")
CONV_K = ("alu", "alu", "mul", "alu", "alu", "bt")

#: one CGRA launch: 8 pointer writes (address arithmetic + sw each), kernel id, start, sleep (wfi),
#: interrupt entry (save 16 registers), PLIC claim and complete, handler flag, restore, mret, loop bookkeeping
LAUNCH = (("alu", "sw") * 8 + ("alu", "sw", "alu", "sw", "alu") + ("sw",) * 16 + ("lw", "sw", "alu", "sw")
          + ("lw",) * 16 + ("j", "alu", "alu", "alu", "bt"))
#: one kernel-memory entry (the kernel word of a kernel ID); the controller's configuration is CGRA-side cycles
RECONFIG = ("alu", "sw")
COPY_WORD = ("lw", "sw")              # unrolled copy (im2col, padding): load + store per word
ZERO_WORD = ("sw",)
POST_WORD = ("lw", "alu", "alu", "sw")  # bias add and/or activation per output word
PARAM_WORD = ("alu", "sw")
#: TFLite requantisation of one int32 accumulator: load, (bias add), 64-bit product (mul, mulh), nudge and
#: high-word extraction, rounding right shift (mask, remainder, threshold, add), zero point, clamp, store, loop
REQUANT_WORD = ("lw", "alu", "mul", "mul") + ("alu",) * 6 + ("alu",) * 5 + ("alu", "alu", "alu", "sw", "alu", "bt")
#: subtracting the input zero point while the input is copied into the CGRA buffer
ZP_WORD = ("lw", "alu", "sw", "alu", "bt")


@dataclass(frozen=True)
class CpuConvQuery:
    """A convolution run entirely on the host: K outputs, C/groups inputs per output, OY x OX, FY x FX."""

    K: int
    Cg: int
    OY: int
    OX: int
    FY: int
    FX: int


@dataclass(frozen=True)
class CpuCost:
    cycles: int
    instructions: int
    data_accesses: int

    def __add__(self, o: CpuCost) -> CpuCost:
        return CpuCost(self.cycles + o.cycles, self.instructions + o.instructions,
                       self.data_accesses + o.data_accesses)


def _times(body, n: int, taken_last: bool = True) -> CpuCost:
    c, i, d = _cost(body)
    cost = CpuCost(c * n, i * n, d * n)
    if n and body[-1] == "bt" and not taken_last:
        cost = CpuCost(cost.cycles - (CYCLES["bt"] - CYCLES["bn"]), cost.instructions, cost.data_accesses)
    return cost


def _loop(body, iters: int, outer: int) -> CpuCost:
    """``outer`` executions of a loop of ``iters`` iterations; the last iteration's branch falls through."""
    c, i, d = _cost(body)
    cyc = (c * iters - (CYCLES["bt"] - CYCLES["bn"])) * outer if iters else 0
    return CpuCost(cyc, i * iters * outer, d * iters * outer)


def conv_cpu(q: CpuConvQuery) -> CpuCost:
    """Cycles of the plain 6-loop C convolution (loop order k, c, y, x, fy, fx) on the host."""
    kc = q.K * q.Cg
    px = kc * q.OY * q.OX
    return (_loop(CONV_FX, q.FX, px * q.FY) + _loop(CONV_FY, q.FY, px) + _loop(CONV_X, q.OX, kc * q.OY)
            + _loop(CONV_Y, q.OY, kc) + _loop(CONV_C, q.Cg, q.K) + _loop(CONV_K, q.K, 1))


def quant_host(requant_words: int, zp_words: int) -> CpuCost:
    """Host cost of a quantised layer's extra steps: the input zero point subtracted (``zp_words`` input words)
    and every output accumulator requantised (``requant_words``)."""
    return _times(REQUANT_WORD, requant_words) + _times(ZP_WORD, zp_words)


def host_work(launches: int, kmem_writes: int, param_stores: int, copy_words: int, zero_words: int,
              post_words: int, imem_words: int = 0) -> CpuCost:
    """CPU cost of a launch plan's host-side work (see ``kernels.common.HostWork``): launches, kernel-memory
    writes, parameter words, copies (incl. instruction words written into the context memory), zeroing and
    post-processing."""
    return (_times(LAUNCH, launches) + _times(RECONFIG, kmem_writes) + _times(PARAM_WORD, param_stores)
            + _times(COPY_WORD, copy_words + imem_words) + _times(ZERO_WORD, zero_words)
            + _times(POST_WORD, post_words))


ELEMWISE = ("lw", "alu", "sw", "alu", "bt")            # unary op per element (load, op, store, index, loop)
BINARY = ("lw", "lw", "alu", "sw", "alu", "alu", "bt")  # binary op per element
WINDOW = ("lw", "alu", "alu", "bt")                     # pooling: per window element (load, max/add, index)
VIEW_OPS = {"Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze", "Dropout"}
BINARY_OPS = {"Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu"}  # PRelu: x and its slope per element
#: cycles per element of ops with no cheap integer form on the host (software exp / divide), an estimate
TRANSCENDENTAL_CYCLES = 40


def other_layer_cpu(graph, layer) -> CpuCost:
    """Host cost of a layer the CGRA does not run (pooling, element-wise, data movement, ...)."""
    from cnncc.ir.loopnest import POOL

    kind = layer.kind
    out_elems = sum(graph.type_of(t).numel for t in layer.outputs)
    if kind in VIEW_OPS:
        return CpuCost(0, 0, 0)
    nest = graph.loop_nest(layer)
    if nest is not None and nest.kind == POOL:
        return _times(WINDOW, nest.window_ops) + _times(("sw", "alu", "alu", "bt"), out_elems)
    if nest is not None and nest.macs:
        q = CpuConvQuery(nest.K, nest.c_per_group, nest.OY, nest.OX, nest.FY, nest.FX)
        return conv_cpu(q)
    if kind in BINARY_OPS:
        return _times(BINARY, out_elems)
    if kind in ("Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "BatchNormalization") or \
            (kind == "Pow" and layer.op.exponent == 2.0):  # x·x: one multiply per element
        return _times(ELEMWISE, out_elems)
    if kind in ("Sigmoid", "Tanh", "Softmax", "LRN", "ReduceMean", "Pow", "Sqrt"):  # Sqrt, other Pow: software
        return CpuCost(TRANSCENDENTAL_CYCLES * out_elems, 10 * out_elems, 2 * out_elems)
    return _times(COPY_WORD + ("alu", "bt"), out_elems)
