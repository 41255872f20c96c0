"""The README written to ``-o DIR/cgra/README.md``: the layout of every CGRA artefact."""

README = """# cnncc OpenEdgeCGRA artefacts

Everything a host needs to run each CGRA layer on X-HEEP/HEEPsilon (or its RTL simulation) and check it.
All data is seeded: `numpy.random.default_rng(seed)` draws integers in -8..8, first every weight tensor of the
layer (in the layer's input order), then its activation input — the same data `--check` uses; `seed` is in
`network.json` and in the report (`inputs.target.params.check_seed`, or `--seed`).

## Folders
* `network.json` — the seed, the SRAM geometry and, per CGRA layer, its folder, mapping, number of parts and the
  C function that runs it. Layers the CGRA does not run (pooling, element-wise, ...) are not in the C program.
* `<layer>/` (or `<layer>/part<j>/` for a layer split to fit the SRAM; parts run one after another):
  * `plan.json` — the mapping, the padded geometry of one conv group (`C K IY IX OY OX FY FX SY SX DY DX`),
    `memory_image` (the regions of `memory.bin`: name, byte address, words, word offset in the file), the input,
    im2col and output addresses, and `launches`: per launch its kernel, `kernel_id`, `reconfigure` (the ID
    differs from the previous launch: the controller configures the kernel, 4·(n+1) cycles), its kernel word,
    the four read and write pointers (byte addresses, written to the CGRA's registers), how many context-memory
    words and which kernel-memory words the host writes before it, and `host_pre` (parameter words to store, or
    the im2col column to build: for fy, fx, c: `buf[(fy·FX+fx)·C+c] = in[(g·C+c)·IY·IX + (y·SY+fy·DY)·IX +
    x·SX+fx·DX]`). `host_post`: `hwc-to-chw` (OP mappings store 16 outputs of a position side by side) and
    `bias-add` (`host_bias`); the activation is applied by the host after all parts.
  * `memory.bin` — the SRAM image before the first launch, little-endian int32, the regions of `memory_image`
    concatenated: the zero-padded CHW input, the weights as the mapping uses them (streams per column, or
    none when they are kernel immediates), outputs preloaded with the bias (conv-wp) or zero, buffers.
  * `cmem.hex` — the context memory at the start in the layout the controller reads: 4 banks (one per PE row) of
    128 words, bank-major (line 128·r + w is word w of bank r; a kernel of n instructions starting at word s has
    column c's instruction t at word s + c·n + t), then the 16 kernel-memory words (line 512 + ID = the kernel
    word [column mask 4][start 7][n-1 5] of that ID; 0 = unused). Kernels that do not stay resident are written
    by the host before the launch that needs them (`plan.json` counts them; `src/layer_*.c` lists every word).
  * `kernels/*.csv`, `kernels/*.out.sat` — every kernel in the ESL-CGRA simulator's CSV and SAT-MapIt syntax.
  * `input.bin` (the seeded activation input, the layer's own shape, int32) and `expected.bin` (the reference
    interpreter's output on it, in the CGRA's K × OY × OX order, int32) — at the layer level.
* `src/` — the generated C host program: `main.c` runs every layer function and prints `PASS`/`FAIL`;
  `layer_<name>.c` holds each part's image, context memory, launch table, context-memory writes and parameter
  words, and the expected output; `cnncc_cgra.c/.h` is the runtime (image load, context-memory and kernel-memory
  writes, per launch: host pre-step, the four read/write pointers at +0x08+8c / +0x0C+8c, the `KERNEL_ID` write at
  +0x04, wait for the end-of-kernel interrupt; then HWC→CHW, bias, activation and the comparison).
  `make native` builds it against `cgra_stub.c` (a functional model of the CGRA behind the same register
  interface); `make riscv` compiles it for the cv32e20 host (RV32IMC, picolibc). On the platform define
  `CNNCC_CGRA_REGS` and `CNNCC_CGRA_CMEM` (peripheral and context-memory bases), route the CGRA interrupt to a
  handler that sets `cnncc_cgra_done = 1`, and link the program so that the image's byte range (CGRA bus
  addresses, from 0) is free: the kernels hold absolute addresses.
"""
