"""C sources written next to the generated host program (``-o DIR/cgra/``): the runtime that loads a part's
memory image and context memory, runs its launch plan through the CGRA's registers and post-processes the
output (``cnncc_cgra.h``/``.c``), and a native stub of the CGRA (``cgra_stub.c``: the register interface and a
functional model of the array with cnncc's simulator rules) so the program also runs on a workstation.

Register map (X-HEEP / HEEPsilon CGRA peripheral): KERNEL_ID at +0x04 (writing a non-zero ID starts a launch),
column c's read pointer at +0x08 + 8c and write pointer at +0x0C + 8c. Context memory: one bank per PE row of
``CNNCC_CMEM_BANK_WORDS`` words, then the kernel memory (one kernel word per ID). Addresses default to 0 and
must be set for the platform (``-DCNNCC_CGRA_REGS=...`` ``-DCNNCC_CGRA_CMEM=...``)."""

HEADER = r"""/* cnncc: host runtime for OpenEdgeCGRA launch plans (generated; see README.md) */
#ifndef CNNCC_CGRA_H
#define CNNCC_CGRA_H
#include <stdint.h>

#define CNNCC_CMEM_BANK_WORDS 128
#define CNNCC_KMEM_DEPTH 16
#define CNNCC_REG_KERNEL_ID 0x04
#define CNNCC_REG_RPTR(c) (0x08 + 8 * (c))
#define CNNCC_REG_WPTR(c) (0x0C + 8 * (c))

typedef struct { uint32_t addr, words, offset; } cnncc_region_t;          /* byte address, words, word offset */
typedef struct { uint32_t addr; int32_t value; } cnncc_word_t;           /* a word the host writes */
typedef struct { uint16_t bank, index; uint32_t word; } cnncc_imem_t;    /* one context-memory word */
typedef struct {
    uint8_t kernel_id, reconfigure, pre;          /* pre: 0 none, 1 parameter words, 2 im2col column */
    uint32_t rptr[4], wptr[4];
    uint32_t imem_first, imem_count;              /* context-memory writes before the launch */
    uint32_t param_first, param_count;            /* parameter words (pre 1) */
    int32_t g, y, x;                              /* im2col position (pre 2) */
} cnncc_launch_t;
typedef struct {                                  /* a conv group on a padded CHW input, as the CGRA runs it */
    int32_t C, K, IY, IX, OY, OX, FY, FX, SY, SX, DY, DX, groups;
} cnncc_geom_t;
typedef struct {
    cnncc_geom_t g;
    const int32_t *image; const cnncc_region_t *regions; uint32_t n_regions;
    const uint32_t *imem0;                        /* 4 banks x CNNCC_CMEM_BANK_WORDS, bank-major */
    uint32_t imem0_words;                         /* words of each bank loaded at the start (resident kernels) */
    const uint32_t *kmem0;                        /* CNNCC_KMEM_DEPTH kernel words, index = kernel ID */
    const cnncc_launch_t *launches; uint32_t n_launches;
    const cnncc_imem_t *imem; const cnncc_word_t *params;
    uint32_t in_addr, im2col_addr;                /* padded CHW input and im2col buffer (byte addresses) */
    uint32_t out_hwc;                             /* 0, or the HWC output the host converts to CHW */
    const uint32_t *out_planes;                   /* else: byte address of every output plane */
    const int32_t *host_bias;                     /* bias the host adds (NULL: none) */
    int32_t k0, k1, y0, y1;                       /* where the part's output lies in the layer output */
} cnncc_part_t;

extern volatile int cnncc_cgra_done;
int32_t *cnncc_sram(void);                        /* the data memory the CGRA addresses from byte 0 */
void cnncc_reg_write(uint32_t offset, uint32_t value);
void cnncc_cmem_write(uint32_t bank, uint32_t index, uint32_t word);
void cnncc_kmem_write(uint32_t id, uint32_t word);
void cnncc_wait(void);
/* run one part; its output goes to out (K x OY x OX of the whole layer, CHW) */
void cnncc_run_part(const cnncc_part_t *p, int32_t *out, int32_t layer_OY, int32_t layer_OX);
/* activation: 0 none, 1 relu, 2 clip(lo, hi); then compare with expected, returns mismatching words */
uint32_t cnncc_finish(int32_t *out, const int32_t *expected, uint32_t n, int act, int32_t lo, int32_t hi);
#endif
"""

RUNTIME = r"""/* cnncc: host runtime for OpenEdgeCGRA launch plans (generated; see README.md) */
#include "cnncc_cgra.h"

#ifndef CNNCC_STUB
#ifndef CNNCC_CGRA_REGS
#define CNNCC_CGRA_REGS 0u          /* set to the CGRA peripheral base of the platform */
#endif
#ifndef CNNCC_CGRA_CMEM
#define CNNCC_CGRA_CMEM 0u          /* set to the CGRA context-memory base of the platform */
#endif
volatile int cnncc_cgra_done;
/* the image is addressed from CGRA bus address 0: link the program so that the image's range is free */
int32_t *cnncc_sram(void) { return (int32_t *)0; }
void cnncc_reg_write(uint32_t offset, uint32_t value) {
    *(volatile uint32_t *)(CNNCC_CGRA_REGS + offset) = value;
}
void cnncc_cmem_write(uint32_t bank, uint32_t index, uint32_t word) {
    ((volatile uint32_t *)CNNCC_CGRA_CMEM)[bank * CNNCC_CMEM_BANK_WORDS + index] = word;
}
void cnncc_kmem_write(uint32_t id, uint32_t word) {
    ((volatile uint32_t *)CNNCC_CGRA_CMEM)[4 * CNNCC_CMEM_BANK_WORDS + id] = word;
}
/* the CGRA interrupt handler sets cnncc_cgra_done (register it on the platform's CGRA interrupt line) */
void cnncc_wait(void) { while (!cnncc_cgra_done) { __asm__ volatile("wfi"); } }
#endif

static void im2col(const cnncc_part_t *p, const cnncc_launch_t *l, int32_t *m) {
    const cnncc_geom_t *g = &p->g;
    int32_t *in = m + p->in_addr / 4, *buf = m + p->im2col_addr / 4, i = 0;
    for (int32_t fy = 0; fy < g->FY; fy++)
        for (int32_t fx = 0; fx < g->FX; fx++)
            for (int32_t c = 0; c < g->C; c++)
                buf[i++] = in[(l->g * g->C + c) * g->IY * g->IX + (l->y * g->SY + fy * g->DY) * g->IX
                              + l->x * g->SX + fx * g->DX];
}

void cnncc_run_part(const cnncc_part_t *p, int32_t *out, int32_t layer_OY, int32_t layer_OX) {
    int32_t *m = cnncc_sram();
    const cnncc_geom_t *g = &p->g;
    for (uint32_t r = 0; r < p->n_regions; r++)
        for (uint32_t w = 0; w < p->regions[r].words; w++)
            m[p->regions[r].addr / 4 + w] = p->image[p->regions[r].offset + w];
    for (uint32_t b = 0; b < 4; b++)
        for (uint32_t w = 0; w < p->imem0_words; w++) cnncc_cmem_write(b, w, p->imem0[b * CNNCC_CMEM_BANK_WORDS + w]);
    for (uint32_t k = 1; k < CNNCC_KMEM_DEPTH; k++)
        if (p->kmem0[k]) cnncc_kmem_write(k, p->kmem0[k]);
    for (uint32_t i = 0; i < p->n_launches; i++) {
        const cnncc_launch_t *l = &p->launches[i];
        for (uint32_t j = 0; j < l->imem_count; j++) {
            const cnncc_imem_t *e = &p->imem[l->imem_first + j];
            if (e->bank == 0xFFFF) cnncc_kmem_write(e->index, e->word);
            else cnncc_cmem_write(e->bank, e->index, e->word);
        }
        if (l->pre == 1)
            for (uint32_t j = 0; j < l->param_count; j++)
                m[p->params[l->param_first + j].addr / 4] = p->params[l->param_first + j].value;
        if (l->pre == 2) im2col(p, l, m);
        for (int c = 0; c < 4; c++) {
            cnncc_reg_write(CNNCC_REG_RPTR(c), l->rptr[c]);
            cnncc_reg_write(CNNCC_REG_WPTR(c), l->wptr[c]);
        }
        cnncc_cgra_done = 0;
        cnncc_reg_write(CNNCC_REG_KERNEL_ID, l->kernel_id);
        cnncc_wait();
    }
    int32_t K = g->K * g->groups, P = g->OY * g->OX;
    for (int32_t k = 0; k < K; k++)
        for (int32_t q = 0; q < P; q++) {
            int32_t v = p->out_hwc ? m[p->out_hwc / 4 + q * K + k] : m[p->out_planes[k] / 4 + q];
            if (p->host_bias) v = (int32_t)((uint32_t)v + (uint32_t)p->host_bias[k]);
            int32_t y = q / g->OX + p->y0, x = q % g->OX;
            out[((p->k0 + k) * layer_OY + y) * layer_OX + x] = v;
        }
    (void)layer_OX;
}

uint32_t cnncc_finish(int32_t *out, const int32_t *expected, uint32_t n, int act, int32_t lo, int32_t hi) {
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t v = out[i];
        if (act == 1 && v < 0) v = 0;
        if (act == 2) v = v < lo ? lo : (v > hi ? hi : v);
        out[i] = v;
        bad += v != expected[i];
    }
    return bad;
}
"""

STUB = r"""/* cnncc: native stub of the OpenEdgeCGRA peripheral (registers, context memory, a functional model of the
 * 4x4 array with cnncc's simulator rules) so the generated host program runs on a workstation. */
#include <stdio.h>
#include <stdlib.h>
#include "cnncc_cgra.h"

#ifndef CNNCC_STUB_SRAM_BYTES
#define CNNCC_STUB_SRAM_BYTES (512 * 1024)
#endif
static int32_t sram[CNNCC_STUB_SRAM_BYTES / 4];
static uint32_t cmem[4][CNNCC_CMEM_BANK_WORDS], kmem[CNNCC_KMEM_DEPTH], regs[16];
volatile int cnncc_cgra_done;
uint32_t cnncc_stub_launches, cnncc_stub_reconfigs;
static uint32_t last_id, pe_conf[16][32];

int32_t *cnncc_sram(void) { return sram; }
void cnncc_cmem_write(uint32_t bank, uint32_t index, uint32_t word) { cmem[bank][index] = word; }
void cnncc_kmem_write(uint32_t id, uint32_t word) { kmem[id] = word; }
void cnncc_wait(void) { if (!cnncc_cgra_done) { fprintf(stderr, "stub: no launch ended\n"); exit(3); } }

static void fail(const char *what, uint32_t v) { fprintf(stderr, "stub: %s (%u)\n", what, v); exit(3); }
static uint32_t mem_index(uint32_t addr) {
    if (addr & 3 || addr >= CNNCC_STUB_SRAM_BYTES) fail("invalid byte address", addr);
    return addr >> 2;
}

static void run(uint32_t id) {
    uint32_t kw = kmem[id], n = (kw & 31) + 1, start = (kw >> 5) & 127;
    if (id != last_id) {                      /* the controller configures only when the ID changes */
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                for (uint32_t t = 0; t < n; t++) pe_conf[r * 4 + c][t] = cmem[r][start + c * n + t];
        cnncc_stub_reconfigs++;
    }
    last_id = id;
    cnncc_stub_launches++;
    int32_t rout[16] = {0}, reg[4][16] = {{0}}, r0[16], nrout[16], nreg[16], ndest[16];
    int wrote[16] = {0}, wr[16];
    uint32_t rptr[4], wptr[4], pc = 0, steps = 0;
    for (int c = 0; c < 4; c++) { rptr[c] = regs[(CNNCC_REG_RPTR(c)) / 4]; wptr[c] = regs[(CNNCC_REG_WPTR(c)) / 4]; }
    for (;;) {
        if (pc >= n) fail("ran past the last instruction", pc);
        if (++steps > 50000000u) fail("runaway kernel", steps);
        for (int i = 0; i < 16; i++) { r0[i] = rout[i]; wr[i] = 0; ndest[i] = -1; }
        int requests = 0, target = -1, ex = 0;
        for (int c = 0; c < 4; c++)
            for (int r = 0; r < 4; r++) {         /* column order, rows in order: the memory ports' order */
                int pe = r * 4 + c;
                uint32_t w = pe_conf[pe][pc];
                uint32_t sa = w >> 28, sb = (w >> 24) & 15, op = (w >> 19) & 31, dest = (w >> 17) & 3;
                uint32_t we = (w >> 16) & 1, fl = (w >> 13) & 7;
                int32_t imm = (int32_t)((w & 0x1FFF) ^ 0x1000) - 0x1000;
                int nb[6] = {0, pe, r * 4 + (c + 3) % 4, r * 4 + (c + 1) % 4, ((r + 3) % 4) * 4 + c,
                             ((r + 1) % 4) * 4 + c};
                int32_t v[2];
                uint32_t s2[2] = {sa, sb};
                for (int k = 0; k < 2; k++) {
                    uint32_t s = s2[k];
                    v[k] = s == 0 ? 0 : s == 10 ? imm : s >= 6 ? reg[s - 6][pe] : r0[nb[s]];
                }
                uint32_t a = (uint32_t)v[0], b = (uint32_t)v[1];
                int32_t out = 0;
                int has = 1;
                switch (op) {
                case 0: has = 0; break;
                case 1: out = (int32_t)(a + b); break;
                case 2: out = (int32_t)(a - b); break;
                case 3: out = (int32_t)(a * b); break;
                case 4: out = (int32_t)(uint32_t)(((int64_t)v[0] * v[1]) >> 15); break;
                case 5: out = (int32_t)(a << (b & 31)); break;
                case 6: out = (int32_t)(a >> (b & 31)); break;
                case 7: out = v[0] >> (b & 31); break;
                case 8: out = (int32_t)(a & b); break;
                case 9: out = (int32_t)(a | b); break;
                case 10: out = (int32_t)(a ^ b); break;
                case 11: out = (int32_t)~(a & b); break;
                case 12: out = (int32_t)~(a | b); break;
                case 13: out = (int32_t)~(a ^ b); break;
                case 14: case 15: {
                    int f = fl == 0 ? pe : nb[fl + 1];
                    int cond = wrote[f] && (op == 14 ? r0[f] < 0 : r0[f] == 0);
                    out = cond ? v[0] : v[1];
                    break;
                }
                case 16: case 17: case 18: case 19: {
                    int cond = op == 16 ? v[0] == v[1] : op == 17 ? v[0] != v[1] : op == 18 ? v[0] < v[1]
                                                                                           : v[0] >= v[1];
                    out = cond;
                    if (cond) { requests++; target = imm & 31; }
                    we = 0;
                    break;
                }
                case 20: out = (int32_t)(a + b); requests++; target = (int)((a + b) & 31); we = 0; break;
                case 21: out = sram[mem_index(rptr[c])]; rptr[c] += (uint32_t)imm; break;
                case 22: sram[mem_index(wptr[c])] = v[0]; wptr[c] += (uint32_t)imm; out = 0x5A5A5A5A; we = 0; break;
                case 23: out = sram[mem_index(b)]; break;
                case 24: sram[mem_index(b)] = v[0]; out = 0x5A5A5A5A; we = 0; break;
                case 25: has = 0; ex = 1; break;
                default: fail("invalid opcode", op);
                }
                if (has) { wr[pe] = 1; nrout[pe] = out; if (we) { ndest[pe] = (int)dest; nreg[pe] = out; } }
            }
        for (int i = 0; i < 16; i++) {
            if (!wr[i]) continue;
            rout[i] = nrout[i];
            wrote[i] = 1;
            if (ndest[i] >= 0) reg[ndest[i]][i] = nreg[i];
        }
        int taken = requests == 1;
        if (ex && !taken) break;
        pc = taken ? (uint32_t)target : pc + 1;
    }
    cnncc_cgra_done = 1;
}

void cnncc_reg_write(uint32_t offset, uint32_t value) {
    regs[offset / 4] = value;
    if (offset == CNNCC_REG_KERNEL_ID && value) run(value);
}
"""
