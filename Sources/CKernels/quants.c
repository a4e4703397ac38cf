// The table of tensor types, and per type: dequantisation, activation quantisation and the
// quantised dot product, rounding the way llama.cpp's CPU backend (x86 build) does so that greedy
// continuations agree token for token.
//
// Exactness: dequantisation and Q8_K quantisation follow ggml-base (built without FMA, so every
// a*b+c there is two roundings: no contraction here either). Q8_0/Q8_1 quantisation follows
// ggml-cpu's AVX2 code. The dot products reproduce ggml-cpu's AVX2 kernels (which its AVX-512
// build also runs): integer sums land in eight 32-bit lanes, lane k holding what maddubs + madd
// leave there (the products of values 4k..4k+3 of every 32-value chunk, times that chunk's scale),
// each lane is accumulated with its own fma per block in block order, and the lanes are reduced in
// the AVX2 horizontal-sum order. The portable C code computes exactly those lane sums and float
// operations, so both paths give the same bits (CK_SIMD=0 or ck_set_simd_level(0) forces C).
#include "ckernels.h"
#include "internal.h"
#include "quants.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// No silent a*b+c fusion: every fused multiply-add below is written out as fmaf / _mm256_fmadd_ps.
#pragma STDC FP_CONTRACT OFF

const int8_t ck_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_all(void) { ck_init_tables(); }
#define CK_INIT() pthread_once(&init_once, init_all)

_Noreturn void ck_no_kernel(const char *what, int type) {
    const char *name = ck_type_name(type);
    if (name) fprintf(stderr, "ckernels: no %s kernel for tensor type %s (ggml type %d)\n", what, name, type);
    else fprintf(stderr, "ckernels: no %s kernel for unknown ggml type %d\n", what, type);
    abort();
}

static inline float bits_f32(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }

// ---------------------------------------------------------------- dequantisation (ggml-base's formulas)

static void dequant_f32(const void *vx, float *y, int n) { memcpy(y, vx, (size_t)n * 4); }

static void dequant_f16(const void *vx, float *y, int n) {
    const uint16_t *h = vx;
    for (int i = 0; i < n; i++) y[i] = h2f(h[i]);
}

static void dequant_bf16(const void *vx, float *y, int n) {
    const uint16_t *h = vx;
    for (int i = 0; i < n; i++) y[i] = bits_f32((uint32_t)h[i] << 16);
}

static void dequant_q4_0(const void *vx, float *y, int n) {
    const block_q4_0 *x = vx;
    for (int i = 0; i < n / 32; i++, y += 32) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((x[i].qs[j] & 15) - 8) * d;
            y[j + 16] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void dequant_q4_1(const void *vx, float *y, int n) {
    const block_q4_1 *x = vx;
    for (int i = 0; i < n / 32; i++, y += 32) {
        const float d = h2f(x[i].d), m = h2f(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(x[i].qs[j] & 15) * d + m;
            y[j + 16] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

// Bit e of qh is the fifth bit of value e (values 0..15: low nibbles, 16..31: high nibbles).
static inline uint32_t load_qh(const uint8_t *qh) { uint32_t v; memcpy(&v, qh, 4); return v; }

static void dequant_q5_0(const void *vx, float *y, int n) {
    const block_q5_0 *x = vx;
    for (int i = 0; i < n / 32; i++, y += 32) {
        const float d = h2f(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; j++) {
            const int q0 = (int)((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4)) - 16;
            const int q1 = (int)((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            y[j] = (float)q0 * d;
            y[j + 16] = (float)q1 * d;
        }
    }
}

static void dequant_q5_1(const void *vx, float *y, int n) {
    const block_q5_1 *x = vx;
    for (int i = 0; i < n / 32; i++, y += 32) {
        const float d = h2f(x[i].d), m = h2f(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; j++) {
            const int q0 = (int)((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4));
            const int q1 = (int)((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            y[j] = (float)q0 * d + m;
            y[j + 16] = (float)q1 * d + m;
        }
    }
}

static void dequant_q8_0(const void *vx, float *y, int n) {
    const block_q8_0 *x = vx;
    for (int i = 0; i < n / 32; i++, y += 32) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

static void dequant_q8_K(const void *vx, float *y, int n) {
    const block_q8_K *x = vx;
    for (int i = 0; i < n / 256; i++, y += 256) {
        for (int j = 0; j < 256; j++) y[j] = x[i].d * (float)x[i].qs[j];
    }
}

// Value e of a Q2_K super-block: 2 bits of qs[32*(e/128) + e%32] at shift 2*((e%128)/32);
// scale byte e/16: low nibble scale, high nibble min.
static void dequant_q2_K(const void *vx, float *y, int n) {
    const block_q2_K *x = vx;
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        for (int g = 0; g < 16; g++) {
            const uint8_t sc = x[i].scales[g];
            const float dl = d * (float)(sc & 15), ml = dmin * (float)(sc >> 4);
            for (int l = 0; l < 16; l++, y++) {
                const int e = g * 16 + l;
                const int q = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
                *y = dl * (float)q - ml;
            }
        }
    }
}

// The sixteen 6-bit scales of Q3_K (before subtracting 32).
static inline void q3_K_scales(const uint8_t s[12], int out[16]) {
    for (int g = 0; g < 16; g++) {
        const int low = g < 8 ? s[g] & 15 : s[g - 8] >> 4;
        const int high = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
        out[g] = low | (high << 4);
    }
}

// Value e of a Q3_K super-block: the Q2_K layout for the low 2 bits, minus 4 when bit
// (e/32) of hmask[e%32] is clear.
static void dequant_q3_K(const void *vx, float *y, int n) {
    const block_q3_K *x = vx;
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d);
        int sc[16];
        q3_K_scales(x[i].scales, sc);
        for (int g = 0; g < 16; g++) {
            const float dl = d * (float)(sc[g] - 32);
            for (int l = 0; l < 16; l++, y++) {
                const int e = g * 16 + l;
                const int low = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
                const int q = low - ((x[i].hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
                *y = dl * (float)q;
            }
        }
    }
}

// Scale and min of 32-value chunk j (0..7) of Q4_K / Q5_K: 6 bits each, packed in 12 bytes.
static inline void k4_scale_min(int j, const uint8_t q[12], int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void dequant_q4_K(const void *vx, float *y, int n) {
    const block_q4_K *x = vx;
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        for (int c = 0; c < 8; c++) {
            int sc, m;
            k4_scale_min(c, x[i].scales, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            const uint8_t *q = x[i].qs + 32 * (c / 2);
            for (int l = 0; l < 32; l++, y++) *y = dl * (float)(c % 2 ? q[l] >> 4 : q[l] & 15) - ml;
        }
    }
}

static void dequant_q5_K(const void *vx, float *y, int n) {
    const block_q5_K *x = vx;
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        for (int c = 0; c < 8; c++) {
            int sc, m;
            k4_scale_min(c, x[i].scales, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            const uint8_t *q = x[i].qs + 32 * (c / 2);
            for (int l = 0; l < 32; l++, y++) {
                const int v = (c % 2 ? q[l] >> 4 : q[l] & 15) + (((x[i].qh[l] >> c) & 1) << 4);
                *y = dl * (float)v - ml;
            }
        }
    }
}

// Value e of a Q6_K super-block (h = e/128, c = (e%128)/32, l = e%32): 4 bits from
// ql[64h + 32*(c%2) + l] (low nibble for c < 2), 2 bits from qh[32h + l] at shift 2c; minus 32.
static inline int q6_K_value(const block_q6_K *b, int e) {
    const int h = e / 128, c = (e % 128) / 32, l = e % 32;
    const uint8_t lo = b->ql[64 * h + 32 * (c % 2) + l];
    const int q4 = c < 2 ? lo & 15 : lo >> 4;
    return q4 | (((b->qh[32 * h + l] >> (2 * c)) & 3) << 4);
}

static void dequant_q6_K(const void *vx, float *y, int n) {
    const block_q6_K *x = vx;
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d);
        for (int e = 0; e < 256; e++, y++) *y = d * (float)x[i].scales[e / 16] * (float)(q6_K_value(&x[i], e) - 32);
    }
}

static void dequant_iq4_nl(const void *vx, float *y, int n) {
    const block_iq4_nl *x = vx;
    for (int i = 0; i < n / 32; i++, y += 32) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)ck_kvalues_iq4nl[x[i].qs[j] & 15];
            y[j + 16] = d * (float)ck_kvalues_iq4nl[x[i].qs[j] >> 4];
        }
    }
}

static inline int iq4_xs_scale(const block_iq4_xs *b, int ib) {
    return (((b->scales_l[ib / 2] >> (4 * (ib % 2))) & 15) | (((b->scales_h >> (2 * ib)) & 3) << 4)) - 32;
}

static void dequant_iq4_xs(const void *vx, float *y, int n) {
    const block_iq4_xs *x = vx;
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d);
        for (int ib = 0; ib < 8; ib++, y += 32) {
            const float dl = d * (float)iq4_xs_scale(&x[i], ib);
            const uint8_t *qs = x[i].qs + 16 * ib;
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)ck_kvalues_iq4nl[qs[j] & 15];
                y[j + 16] = dl * (float)ck_kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

// ---------------------------------------------------------------- integer form of a super-block
// For the batch product that follows ggml-cpu's tiled kernel (kernels.c): each weight as a small
// signed integer, its scale (and min) per 16 values as integers, and the block's d (and dmin).
// w * scale * d (- min * dmin) is the dequantised value.

int ck_kblock_ints(int type, const void *blk, int8_t w[256], int32_t sc[16], int32_t mn[16], float *d, float *dmin) {
    switch (type) {
    case CK_Q2_K: {
        const block_q2_K *x = blk;
        *d = h2f(x->d);
        *dmin = h2f(x->dmin);
        for (int g = 0; g < 16; g++) { sc[g] = x->scales[g] & 15; mn[g] = x->scales[g] >> 4; }
        for (int e = 0; e < 256; e++) w[e] = (int8_t)((x->qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3);
        return 1;
    }
    case CK_Q3_K: {
        const block_q3_K *x = blk;
        int s[16];
        q3_K_scales(x->scales, s);
        *d = h2f(x->d);
        *dmin = 0;
        for (int g = 0; g < 16; g++) { sc[g] = s[g] - 32; mn[g] = 0; }
        for (int e = 0; e < 256; e++) {
            const int low = (x->qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            w[e] = (int8_t)(low - ((x->hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4));
        }
        return 0;
    }
    case CK_Q4_K:
    case CK_Q5_K: {
        const uint8_t *scales = type == CK_Q4_K ? ((const block_q4_K *)blk)->scales : ((const block_q5_K *)blk)->scales;
        const uint8_t *qs = type == CK_Q4_K ? ((const block_q4_K *)blk)->qs : ((const block_q5_K *)blk)->qs;
        const uint16_t *dd = type == CK_Q4_K ? &((const block_q4_K *)blk)->d : &((const block_q5_K *)blk)->d;
        *d = h2f(dd[0]);
        *dmin = h2f(dd[1]);
        for (int c = 0; c < 8; c++) {
            int s, m;
            k4_scale_min(c, scales, &s, &m);
            sc[2 * c] = sc[2 * c + 1] = s;
            mn[2 * c] = mn[2 * c + 1] = m;
            const uint8_t *q = qs + 32 * (c / 2);
            for (int l = 0; l < 32; l++) {
                int v = c % 2 ? q[l] >> 4 : q[l] & 15;
                if (type == CK_Q5_K) v += ((((const block_q5_K *)blk)->qh[l] >> c) & 1) << 4;
                w[32 * c + l] = (int8_t)v;
            }
        }
        return 1;
    }
    case CK_Q6_K: {
        const block_q6_K *x = blk;
        *d = h2f(x->d);
        *dmin = 0;
        for (int g = 0; g < 16; g++) { sc[g] = x->scales[g]; mn[g] = 0; }
        for (int e = 0; e < 256; e++) w[e] = (int8_t)(q6_K_value(x, e) - 32);
        return 0;
    }
    case CK_IQ4_XS: {
        const block_iq4_xs *x = blk;
        *d = h2f(x->d);
        *dmin = 0;
        for (int ib = 0; ib < 8; ib++) {
            sc[2 * ib] = sc[2 * ib + 1] = iq4_xs_scale(x, ib);
            mn[2 * ib] = mn[2 * ib + 1] = 0;
            const uint8_t *qs = x->qs + 16 * ib;
            for (int j = 0; j < 16; j++) {
                w[32 * ib + j] = ck_kvalues_iq4nl[qs[j] & 15];
                w[32 * ib + j + 16] = ck_kvalues_iq4nl[qs[j] >> 4];
            }
        }
        return 0;
    }
    default:
        ck_no_kernel("batch (tiled) product", type);
    }
}

// ---------------------------------------------------------------- activation quantisation
// Q8_0/Q8_1 as ggml-cpu's AVX2 code: scale 127/amax, round to nearest even. Q8_K as ggml-base's
// quantize_row_q8_K_ref (which ggml-cpu's x86 build calls): scale -127/max where max is the first
// value of largest magnitude, rounding by the 1.5*2^23 trick, d = 1/scale, bsums of 16.

static void quantize_f32(const float *x, void *y, int n) { memcpy(y, x, (size_t)n * sizeof(float)); }

static void quantize_q8_0_c(const float *x, void *vy, int n) {
    block_q8_0 *y = vy;
    for (int i = 0; i < n / 32; i++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[i * 32 + j]));
        const float d = amax / 127.f;
        const float id = amax != 0.f ? 127.f / amax : 0.f;
        y[i].d = ck_fp32_to_fp16(d);
        for (int j = 0; j < 32; j++) y[i].qs[j] = (int8_t)nearbyintf(x[i * 32 + j] * id);
    }
}

static void quantize_q8_1_c(const float *x, void *vy, int n) {
    block_q8_1 *y = vy;
    for (int i = 0; i < n / 32; i++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[i * 32 + j]));
        const float d = amax / 127.f;
        const float id = amax != 0.f ? 127.f / amax : 0.f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            y[i].qs[j] = (int8_t)nearbyintf(x[i * 32 + j] * id);
            sum += y[i].qs[j];
        }
        y[i].d = ck_fp32_to_fp16(d);
        y[i].s = ck_fp32_to_fp16(d * (float)sum);
    }
}

static inline int nearest_int_magic(float v) {
    const float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static void quantize_q8_K_c(const float *x, void *vy, int n) {
    block_q8_K *y = vy;
    for (int i = 0; i < n / 256; i++, x += 256) {
        float amax = 0, max = 0;
        for (int j = 0; j < 256; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0.f) {
            memset(&y[i], 0, sizeof(block_q8_K));
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < 256; j++) {
            const float v = iscale * x[j];
            const int q = nearest_int_magic(v);
            y[i].qs[j] = (int8_t)(q < 127 ? q : 127);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[i].qs[g * 16 + j];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.f / iscale;
    }
}

#ifdef CK_X86
CK_AVX2 static inline int hsum_i32x8(__m256i v) {
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(1, 0, 3, 2)));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(r);
}

// Quantises 32 floats to int8 with scale 127/amax; returns d and (optionally) the sum of q.
CK_AVX2 static inline float quantize_block_avx2(const float *x, int8_t *qs, int *sum_out) {
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, v0);
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v1));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v2));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v3));
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.f;
    const __m256 id = _mm256_set1_ps(amax != 0.f ? 127.f / amax : 0.f);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (sum_out) *sum_out = hsum_i32x8(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
    // Pack to int8 and undo the lane interleaving of the pack instructions.
    i0 = _mm256_packs_epi32(i0, i1);
    i2 = _mm256_packs_epi32(i2, i3);
    i0 = _mm256_packs_epi16(i0, i2);
    i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, i0);
    return d;
}

CK_AVX2 static void quantize_q8_0_avx2(const float *x, void *vy, int n) {
    block_q8_0 *y = vy;
    for (int i = 0; i < n / 32; i++) {
        const float d = quantize_block_avx2(x + i * 32, y[i].qs, NULL);
        y[i].d = (uint16_t)_cvtss_sh(d, 0);
    }
}

CK_AVX2 static void quantize_q8_1_avx2(const float *x, void *vy, int n) {
    block_q8_1 *y = vy;
    for (int i = 0; i < n / 32; i++) {
        int sum;
        const float d = quantize_block_avx2(x + i * 32, y[i].qs, &sum);
        y[i].d = (uint16_t)_cvtss_sh(d, 0);
        y[i].s = (uint16_t)_cvtss_sh(d * (float)sum, 0);
    }
}
#endif

// ---------------------------------------------------------------- portable dot products

// ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)): hsum_f32x8's order.
static inline float hsum8_c(const float a[8]) {
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

// Lane sums of one 32-value block: lane k = sum of q[j] * y[j] for j in 4k..4k+3.
static inline void lanes32(const int8_t *q, const int8_t *y, int32_t s[8]) {
    for (int k = 0; k < 8; k++) {
        int32_t t = 0;
        for (int j = 4 * k; j < 4 * k + 4; j++) t += (int32_t)q[j] * y[j];
        s[k] = t;
    }
}

// Lane sums of one 256-value super-block with a scale per 16 values: lane k gets
// sc[e/16] * q[e] * y[e] for every e with (e % 32) / 4 == k.
static inline void lanes256(const int8_t *q, const int8_t *y, const int sc[16], int32_t s[8]) {
    for (int k = 0; k < 8; k++) s[k] = 0;
    for (int c = 0; c < 8; c++) {
        for (int k = 0; k < 8; k++) {
            const int e = 32 * c + 4 * k;
            const int32_t p01 = (int32_t)q[e] * y[e] + (int32_t)q[e + 1] * y[e + 1];
            const int32_t p23 = (int32_t)q[e + 2] * y[e + 2] + (int32_t)q[e + 3] * y[e + 3];
            s[k] += sc[e / 16] * (p01 + p23);
        }
    }
}

static float dot_q4_0_c(int n, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    float acc[8] = {0};
    for (int i = 0; i < n / 32; i++) {
        int8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)((x[i].qs[j] & 15) - 8);
            q[j + 16] = (int8_t)((x[i].qs[j] >> 4) - 8);
        }
        int32_t s[8];
        lanes32(q, y[i].qs, s);
        const float dd = h2f(x[i].d) * h2f(y[i].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)s[k], acc[k]);
    }
    return hsum8_c(acc);
}

static float dot_q4_1_c(int n, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    float acc[8] = {0}, summs = 0;
    for (int i = 0; i < n / 32; i++) {
        int8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)(x[i].qs[j] & 15);
            q[j + 16] = (int8_t)(x[i].qs[j] >> 4);
        }
        summs = fmaf(h2f(x[i].m), h2f(y[i].s), summs);
        int32_t s[8];
        lanes32(q, y[i].qs, s);
        const float dd = h2f(x[i].d) * h2f(y[i].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)s[k], acc[k]);
    }
    return hsum8_c(acc) + summs;
}

static float dot_q5_0_c(int n, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    float acc[8] = {0};
    for (int i = 0; i < n / 32; i++) {
        const uint32_t qh = load_qh(x[i].qh);
        int8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)(((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4)) - 16);
            q[j + 16] = (int8_t)(((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
        }
        int32_t s[8];
        lanes32(q, y[i].qs, s);
        const float dd = h2f(x[i].d) * h2f(y[i].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)s[k], acc[k]);
    }
    return hsum8_c(acc);
}

static float dot_q5_1_c(int n, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    float acc[8] = {0}, summs = 0;
    for (int i = 0; i < n / 32; i++) {
        const uint32_t qh = load_qh(x[i].qh);
        int8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4));
            q[j + 16] = (int8_t)((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
        }
        summs = fmaf(h2f(x[i].m), h2f(y[i].s), summs);
        int32_t s[8];
        lanes32(q, y[i].qs, s);
        const float dd = h2f(x[i].d) * h2f(y[i].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)s[k], acc[k]);
    }
    return hsum8_c(acc) + summs;
}

static float dot_q8_0_c(int n, const void *vx, const void *vy) {
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    float acc[8] = {0};
    for (int i = 0; i < n / 32; i++) {
        int32_t s[8];
        lanes32(x[i].qs, y[i].qs, s);
        const float dd = h2f(x[i].d) * h2f(y[i].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)s[k], acc[k]);
    }
    return hsum8_c(acc);
}

// Q2_K: per super-block, first the mins (lane k: min[2k]*bsums[2k] + min[2k+1]*bsums[2k+1], times
// -d_y*dmin), then the scaled values (times d_y*d), each lane with its own fma.
static float dot_q2_K_c(int n, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    float acc[8] = {0};
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        const float dmin = -y[i].d * h2f(x[i].dmin);
        int sc[16];
        int8_t q[256];
        for (int g = 0; g < 16; g++) sc[g] = x[i].scales[g] & 15;
        for (int e = 0; e < 256; e++) q[e] = (int8_t)((x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3);
        for (int k = 0; k < 8; k++) {
            const int32_t p = (x[i].scales[2 * k] >> 4) * y[i].bsums[2 * k] + (x[i].scales[2 * k + 1] >> 4) * y[i].bsums[2 * k + 1];
            acc[k] = fmaf(dmin, (float)p, acc[k]);
        }
        int32_t s[8];
        lanes256(q, y[i].qs, sc, s);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(d, (float)s[k], acc[k]);
    }
    return hsum8_c(acc);
}

static float dot_q3_K_c(int n, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    float acc[8] = {0};
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        int sc[16];
        q3_K_scales(x[i].scales, sc);
        for (int g = 0; g < 16; g++) sc[g] -= 32;
        int8_t q[256];
        for (int e = 0; e < 256; e++) {
            const int low = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            q[e] = (int8_t)(low - ((x[i].hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4));
        }
        int32_t s[8];
        lanes256(q, y[i].qs, sc, s);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(d, (float)s[k], acc[k]);
    }
    return hsum8_c(acc);
}

// Q4_K: the mins go to four lanes (lane k: chunks 2k and 2k+1, each min times the chunk's sum of
// q8), reduced at the end as (m0+m2)+(m1+m3) and added after the values' eight lanes.
static float dot_q4_K_c(int n, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    float acc[8] = {0}, accm[4] = {0};
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        const float dmin = -y[i].d * h2f(x[i].dmin);
        int sc[16], mn[8];
        for (int c = 0; c < 8; c++) {
            int s, m;
            k4_scale_min(c, x[i].scales, &s, &m);
            sc[2 * c] = sc[2 * c + 1] = s;
            mn[c] = m;
        }
        for (int k = 0; k < 4; k++) {
            const int32_t b0 = y[i].bsums[4 * k] + y[i].bsums[4 * k + 1];
            const int32_t b1 = y[i].bsums[4 * k + 2] + y[i].bsums[4 * k + 3];
            accm[k] = fmaf(dmin, (float)(mn[2 * k] * b0 + mn[2 * k + 1] * b1), accm[k]);
        }
        int8_t q[256];
        for (int e = 0; e < 256; e++) {
            const uint8_t b = x[i].qs[32 * (e / 64) + e % 32];
            q[e] = (int8_t)((e / 32) % 2 ? b >> 4 : b & 15);
        }
        int32_t s[8];
        lanes256(q, y[i].qs, sc, s);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(d, (float)s[k], acc[k]);
    }
    return hsum8_c(acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
}

// Q5_K: the mins summed as one integer per super-block, accumulated with a scalar fma.
static float dot_q5_K_c(int n, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    float acc[8] = {0}, summs = 0;
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        const float dmin = -y[i].d * h2f(x[i].dmin);
        int sc[16];
        int32_t msum = 0;
        for (int c = 0; c < 8; c++) {
            int s, m;
            k4_scale_min(c, x[i].scales, &s, &m);
            sc[2 * c] = sc[2 * c + 1] = s;
            msum += m * (y[i].bsums[2 * c] + y[i].bsums[2 * c + 1]);
        }
        summs = fmaf(dmin, (float)msum, summs);
        int8_t q[256];
        for (int e = 0; e < 256; e++) {
            const uint8_t b = x[i].qs[32 * (e / 64) + e % 32];
            const int c = e / 32;
            q[e] = (int8_t)((c % 2 ? b >> 4 : b & 15) | (((x[i].qh[e % 32] >> c) & 1) << 4));
        }
        int32_t s[8];
        lanes256(q, y[i].qs, sc, s);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(d, (float)s[k], acc[k]);
    }
    return hsum8_c(acc) + summs;
}

// Q6_K: the values' lanes (unsigned 6-bit q) minus 32 * (scale*bsums of groups 2k, 2k+1) per lane.
static float dot_q6_K_c(int n, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    float acc[8] = {0};
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        int sc[16];
        for (int g = 0; g < 16; g++) sc[g] = x[i].scales[g];
        int8_t q[256];
        for (int e = 0; e < 256; e++) q[e] = (int8_t)q6_K_value(&x[i], e);
        int32_t s[8];
        lanes256(q, y[i].qs, sc, s);
        for (int k = 0; k < 8; k++) {
            const int32_t sub = (y[i].bsums[2 * k] * sc[2 * k] + y[i].bsums[2 * k + 1] * sc[2 * k + 1]) * 32;
            acc[k] = fmaf(d, (float)(s[k] - sub), acc[k]);
        }
    }
    return hsum8_c(acc);
}

// IQ4_NL: even blocks in one set of lanes, odd ones in another, summed lane-wise before the
// reduction; an odd last block is added afterwards as sumf + d * sum (two roundings: ggml-cpu's
// scalar tail is not contracted to an fma, measured against its build).
static float dot_iq4_nl_c(int n, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / 32;
    float acc[2][8] = {{0}};
    int ib = 0;
    for (; ib + 1 < nb; ib += 2) {
        for (int h = 0; h < 2; h++) {
            const block_iq4_nl *xb = &x[ib + h];
            int8_t q[32];
            for (int j = 0; j < 16; j++) {
                q[j] = ck_kvalues_iq4nl[xb->qs[j] & 15];
                q[j + 16] = ck_kvalues_iq4nl[xb->qs[j] >> 4];
            }
            int32_t s[8];
            lanes32(q, y[ib + h].qs, s);
            const float dd = h2f(y[ib + h].d) * h2f(xb->d);
            for (int k = 0; k < 8; k++) acc[h][k] = fmaf(dd, (float)s[k], acc[h][k]);
        }
    }
    float t[8];
    for (int k = 0; k < 8; k++) t[k] = acc[0][k] + acc[1][k];
    float sumf = hsum8_c(t);
    for (; ib < nb; ib++) {
        int32_t sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += (int32_t)y[ib].qs[j] * ck_kvalues_iq4nl[x[ib].qs[j] & 15];
            sum += (int32_t)y[ib].qs[j + 16] * ck_kvalues_iq4nl[x[ib].qs[j] >> 4];
        }
        const float dd = h2f(y[ib].d) * h2f(x[ib].d);
        sumf = sumf + dd * (float)sum;
    }
    return sumf;
}

// IQ4_NL as llamafile's tinyBLAS_Q0_AVX computes it (batches of two or more rows): one set of lanes.
static float dot_iq4_nl_1acc_c(int n, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    float acc[8] = {0};
    for (int ib = 0; ib < n / 32; ib++) {
        int8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = ck_kvalues_iq4nl[x[ib].qs[j] & 15];
            q[j + 16] = ck_kvalues_iq4nl[x[ib].qs[j] >> 4];
        }
        int32_t s[8];
        lanes32(q, y[ib].qs, s);
        const float dd = h2f(x[ib].d) * h2f(y[ib].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)s[k], acc[k]);
    }
    return hsum8_c(acc);
}

static float dot_iq4_xs_c(int n, const void *vx, const void *vy) {
    const block_iq4_xs *x = vx;
    const block_q8_K *y = vy;
    float acc[8] = {0};
    for (int i = 0; i < n / 256; i++) {
        int sc[16];
        for (int ib = 0; ib < 8; ib++) sc[2 * ib] = sc[2 * ib + 1] = iq4_xs_scale(&x[i], ib);
        int8_t q[256];
        for (int ib = 0; ib < 8; ib++) {
            for (int j = 0; j < 16; j++) {
                q[32 * ib + j] = ck_kvalues_iq4nl[x[i].qs[16 * ib + j] & 15];
                q[32 * ib + j + 16] = ck_kvalues_iq4nl[x[i].qs[16 * ib + j] >> 4];
            }
        }
        int32_t s[8];
        lanes256(q, y[i].qs, sc, s);
        const float d = h2f(x[i].d) * y[i].d;
        for (int k = 0; k < 8; k++) acc[k] = fmaf(d, (float)s[k], acc[k]);
    }
    return hsum8_c(acc);
}

// Float weights, as ggml-cpu's AVX-512 build (this machine's llama.cpp) computes them. The
// activations are first rounded to the weight type (F16: round to nearest even; BF16: ggml's
// GGML_FP32_TO_BF16), as ggml's vec_dot_type for F16/BF16 is F16/BF16.
//  - one row (ggml_vec_dot_f32 / _f16): four 16-lane fma accumulators over 64-value steps, summed
//    (a0+a2)+(a1+a3), then _mm512_reduce_add_ps; the tail after the last 64 values one by one
//    (f32: product and sum each rounded, no fma; f16: in double);
//  - one row of BF16 (ggml_vec_dot_bf16, AVX512-BF16): two dpbf16 accumulators over 64-value
//    steps (values 0..31 and 32..63), each reduced, summed in double with the tail;
//  - batches (llamafile's tinyBLAS, see ck_vec_dot_float_batch): one accumulator per element.
// dpbf16 lane j adds the product of pair element 2j+1, then of 2j (each product exact).

// _mm512_reduce_add_ps as gcc expands it: lanes i+8 onto i, then i+4 onto i, then (0+2)+(1+3).
static inline float reduce16_c(const float a[16]) {
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = a[i] + a[i + 8];
    return hsum8_c(t);
}

static inline float bf16_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

static void quantize_f16_c(const float *x, void *y, int n) { ck_fp32_to_fp16_row(x, y, n); }

// GGML_FP32_TO_BF16: NaN kept quiet, everything else rounded to nearest even.
static void quantize_bf16_c(const float *x, void *vy, int n) {
    uint16_t *y = vy;
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        if ((u & 0x7fffffff) > 0x7f800000) y[i] = (uint16_t)((u >> 16) | 64);
        else y[i] = (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }
}

static inline void dpbf16_c(float acc[16], const uint16_t *a, const uint16_t *b) {
    for (int j = 0; j < 16; j++) {
        acc[j] = acc[j] + bf16_f32(a[2 * j + 1]) * bf16_f32(b[2 * j + 1]);
        acc[j] = acc[j] + bf16_f32(a[2 * j]) * bf16_f32(b[2 * j]);
    }
}

static inline float load_float(int type, const void *p, int i) {
    return type == CK_F32 ? ((const float *)p)[i] : type == CK_F16 ? h2f(((const uint16_t *)p)[i])
                                                                    : bf16_f32(((const uint16_t *)p)[i]);
}

// ggml_vec_dot_f32 / ggml_vec_dot_f16.
static float dot_f32_f16_c(int type, int n, const void *w, const void *x) {
    float s[4][16] = {{0}};
    const int np = n & ~63;
    for (int i = 0; i < np; i += 64)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 16; l++) {
                const int e = i + 16 * j + l;
                s[j][l] = fmaf(load_float(type, w, e), load_float(type, x, e), s[j][l]);
            }
    for (int l = 0; l < 16; l++) s[0][l] = (s[0][l] + s[2][l]) + (s[1][l] + s[3][l]);
    if (type == CK_F32) {
        float sumf = reduce16_c(s[0]);
        for (int i = np; i < n; i++) sumf = sumf + load_float(type, w, i) * load_float(type, x, i);
        return sumf;
    }
    double sumf = reduce16_c(s[0]);
    for (int i = np; i < n; i++) sumf += (double)(load_float(type, w, i) * load_float(type, x, i));
    return (float)sumf;
}

static float dot_f32_c(int n, const void *w, const void *x) { return dot_f32_f16_c(CK_F32, n, w, x); }
static float dot_f16_c(int n, const void *w, const void *x) { return dot_f32_f16_c(CK_F16, n, w, x); }

// ggml_vec_dot_bf16 (AVX512-BF16).
static float dot_bf16_c(int n, const void *vw, const void *vx) {
    const uint16_t *w = vw, *x = vx;
    float c1[16] = {0}, c2[16] = {0};
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        dpbf16_c(c1, w + i, x + i);
        dpbf16_c(c2, w + i + 32, x + i + 32);
    }
    double sumf = 0;
    sumf += (double)reduce16_c(c1);
    sumf += (double)reduce16_c(c2);
    for (; i < n; i++) sumf += (double)(bf16_f32(w[i]) * bf16_f32(x[i]));
    return (float)sumf;
}

// tinyBLAS (batches): one 16-lane accumulator per element over 16-value steps (F32, F16) or a
// dpbf16 accumulator over 32-value steps (BF16), reduced once. n a multiple of 16 (32 for BF16).
static float dot_float_batch_c(int type, int n, const void *w, const void *x) {
    float acc[16] = {0};
    if (type == CK_BF16) {
        for (int l = 0; l < n; l += 32) dpbf16_c(acc, (const uint16_t *)w + l, (const uint16_t *)x + l);
    } else {
        for (int l = 0; l < n; l += 16)
            for (int j = 0; j < 16; j++) acc[j] = fmaf(load_float(type, w, l + j), load_float(type, x, l + j), acc[j]);
    }
    return reduce16_c(acc);
}

#ifdef CK_X86
CK_AVX2 static inline __m256 load8_float(int type, const void *p, int i) {
    if (type == CK_F32) return _mm256_loadu_ps((const float *)p + i);
    const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
    if (type == CK_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// 16 bf16 pairs' worth of dpbf16 on lanes 0..7 (values 0..15 of p/q).
CK_AVX2 static inline __m256 dpbf16_8(__m256 acc, const uint16_t *a, const uint16_t *b) {
    const __m256i va = _mm256_loadu_si256((const __m256i *)a), vb = _mm256_loadu_si256((const __m256i *)b);
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    const __m256 ao = _mm256_castsi256_ps(_mm256_and_si256(va, hi)), bo = _mm256_castsi256_ps(_mm256_and_si256(vb, hi));
    const __m256 ae = _mm256_castsi256_ps(_mm256_slli_epi32(va, 16)), be = _mm256_castsi256_ps(_mm256_slli_epi32(vb, 16));
    acc = _mm256_add_ps(acc, _mm256_mul_ps(ao, bo));
    return _mm256_add_ps(acc, _mm256_mul_ps(ae, be));
}

CK_AVX2 static float dot_f32_f16_avx2(int type, int n, const void *w, const void *x) {
    __m256 s[8];
    for (int j = 0; j < 8; j++) s[j] = _mm256_setzero_ps();
    const int np = n & ~63;
    for (int i = 0; i < np; i += 64)
        for (int j = 0; j < 8; j++) s[j] = _mm256_fmadd_ps(load8_float(type, w, i + 8 * j), load8_float(type, x, i + 8 * j), s[j]);
    // accumulator j is s[2j] (lanes 0..7), s[2j+1] (lanes 8..15)
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(s[0], s[4]), _mm256_add_ps(s[2], s[6]));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(s[1], s[5]), _mm256_add_ps(s[3], s[7]));
    const float r = hsum_f32x8(_mm256_add_ps(lo, hi));
    if (type == CK_F32) {
        float sumf = r;
        for (int i = np; i < n; i++) sumf = sumf + load_float(type, w, i) * load_float(type, x, i);
        return sumf;
    }
    double sumf = r;
    for (int i = np; i < n; i++) sumf += (double)(load_float(type, w, i) * load_float(type, x, i));
    return (float)sumf;
}

CK_AVX2 static float dot_f32_avx2(int n, const void *w, const void *x) { return dot_f32_f16_avx2(CK_F32, n, w, x); }
CK_AVX2 static float dot_f16_avx2(int n, const void *w, const void *x) { return dot_f32_f16_avx2(CK_F16, n, w, x); }

CK_AVX2 static float dot_bf16_avx2(int n, const void *vw, const void *vx) {
    const uint16_t *w = vw, *x = vx;
    __m256 c[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int i = 0;
    for (; i + 64 <= n; i += 64)
        for (int j = 0; j < 4; j++) c[j] = dpbf16_8(c[j], w + i + 16 * j, x + i + 16 * j);
    double sumf = 0;
    sumf += (double)hsum_f32x8(_mm256_add_ps(c[0], c[1]));
    sumf += (double)hsum_f32x8(_mm256_add_ps(c[2], c[3]));
    for (; i < n; i++) sumf += (double)(bf16_f32(w[i]) * bf16_f32(x[i]));
    return (float)sumf;
}

CK_AVX2 static void dot_float_batch_avx2(int type, int n, const void *w, const void *const *x, int count, float *out) {
    __m256 lo[4], hi[4];
    for (int k = 0; k < 4; k++) lo[k] = hi[k] = _mm256_setzero_ps();
    if (type == CK_BF16) {
        const uint16_t *a = w;
        for (int l = 0; l < n; l += 32)
            for (int k = 0; k < count; k++) {
                const uint16_t *b = (const uint16_t *)x[k];
                lo[k] = dpbf16_8(lo[k], a + l, b + l);
                hi[k] = dpbf16_8(hi[k], a + l + 16, b + l + 16);
            }
    } else {
        for (int l = 0; l < n; l += 16) {
            const __m256 a0 = load8_float(type, w, l), a1 = load8_float(type, w, l + 8);
            for (int k = 0; k < count; k++) {
                lo[k] = _mm256_fmadd_ps(a0, load8_float(type, x[k], l), lo[k]);
                hi[k] = _mm256_fmadd_ps(a1, load8_float(type, x[k], l + 8), hi[k]);
            }
        }
    }
    for (int k = 0; k < count; k++) out[k] = hsum_f32x8(_mm256_add_ps(lo[k], hi[k]));
}
#endif

int ck_float_batch_ok(int type, int n, int rows) {
    if (type != CK_F32 && type != CK_F16 && type != CK_BF16) return 0;
    return n % (type == CK_BF16 ? 32 : 16) == 0 && rows % 4 == 0;
}

void ck_vec_dot_float_batch(int type, int n, const void *w, const void *const *x, int count, float *out) {
    CK_INIT();
#ifdef CK_X86
    if (ck_simd_level()) {
        for (int k = 0; k < count; k += 4) dot_float_batch_avx2(type, n, w, x + k, count - k < 4 ? count - k : 4, out + k);
        return;
    }
#endif
    for (int k = 0; k < count; k++) out[k] = dot_float_batch_c(type, n, w, x[k]);
}

// ---------------------------------------------------------------- AVX2 dot products

#ifdef CK_X86
// Sums of 4 adjacent u8*i8 products in eight int32 lanes (no saturation for the ranges used here).
CK_AVX2 static inline __m256i dot4_u8_i8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

CK_AVX2 static inline __m256i dot4_i8_i8(__m256i a, __m256i b) {
    // maddubs needs an unsigned operand: |a| * (b with a's sign).
    return dot4_u8_i8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// Pairs of u8*i8 products as int16, then times a 16-bit scale per pair: eight int32 lanes.
CK_AVX2 static inline __m256i scaled4_u8_i8(__m256i u, __m256i s, __m256i scale16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale16);
}

// The 16-bit scale vector of 32-value chunk c (0..3) of a 128-value half whose eight 16-bit
// scales (one per 16 values) sit in both 128-bit lanes of sc: lanes 0..7 take scale 2c, 8..15 2c+1.
CK_AVX2 static inline __m256i chunk_scales16(__m256i sc, int c) {
    const short lo = (short)(((4 * c + 1) << 8) | (4 * c)), hi = (short)(((4 * c + 3) << 8) | (4 * c + 2));
    return _mm256_shuffle_epi8(sc, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
}

// Scale c (0..7) of eight 16-bit scales in both 128-bit lanes of sc, in every 16-bit lane.
CK_AVX2 static inline __m256i chunk_scale32(__m256i sc, int c) {
    return _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(((2 * c + 1) << 8) | (2 * c))));
}

// Q4_K / Q5_K: the eight 6-bit scales (low 8 bytes) and mins (high 8 bytes) from the 12 packed bytes.
static inline __m128i k4_scales_mins(const uint8_t q[12]) {
    uint32_t u[3];
    memcpy(u, q, 12);
    const uint32_t s_lo = u[0] & 0x3f3f3f3fu;
    const uint32_t s_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    const uint32_t m_lo = u[1] & 0x3f3f3f3fu;
    const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    return _mm_setr_epi32((int)s_lo, (int)s_hi, (int)m_lo, (int)m_hi);
}

CK_AVX2 static float dot_q4_0_avx2(int n, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m256 dd = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        const __m256i qx = _mm256_sub_epi8(nibbles_32(x[i].qs), _mm256_set1_epi8(8));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(dot4_i8_i8(qx, qy)), acc);
    }
    return hsum_f32x8(acc);
}

CK_AVX2 static float dot_q4_1_avx2(int n, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    __m128 summs = _mm_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m128 xdm = two_halves(&x[i].d), yds = two_halves(&y[i].d);
        summs = _mm_fmadd_ps(xdm, yds, summs); // lane 1: m * s
        const __m256 dd = _mm256_broadcastss_ps(_mm_mul_ss(xdm, yds));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(dot4_u8_i8(nibbles_32(x[i].qs), qy)), acc);
    }
    return hsum_f32x8(acc) + _mm_cvtss_f32(_mm_movehdup_ps(summs));
}

CK_AVX2 static float dot_q5_0_avx2(int n, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m256 dd = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        // q - 16 as int8: the nibble, with 0xF0 or'ed in where the fifth bit is clear.
        const __m256i hi = _mm256_andnot_si256(bits_to_bytes(load_qh(x[i].qh)), _mm256_set1_epi8((char)0xF0));
        const __m256i qx = _mm256_or_si256(nibbles_32(x[i].qs), hi);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(dot4_i8_i8(qx, qy)), acc);
    }
    return hsum_f32x8(acc);
}

CK_AVX2 static float dot_q5_1_avx2(int n, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    __m128 summs = _mm_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m128 xdm = two_halves(&x[i].d), yds = two_halves(&y[i].d);
        summs = _mm_fmadd_ps(xdm, yds, summs);
        const __m256 dd = _mm256_broadcastss_ps(_mm_mul_ss(xdm, yds));
        const __m256i hi = _mm256_and_si256(bits_to_bytes(load_qh(x[i].qh)), _mm256_set1_epi8(0x10));
        const __m256i qx = _mm256_or_si256(nibbles_32(x[i].qs), hi);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(dot4_u8_i8(qx, qy)), acc);
    }
    return hsum_f32x8(acc) + _mm_cvtss_f32(_mm_movehdup_ps(summs));
}

CK_AVX2 static float dot_q8_0_avx2(int n, const void *vx, const void *vy) {
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m256 dd = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        const __m256i qx = _mm256_loadu_si256((const __m256i *)x[i].qs);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(dot4_i8_i8(qx, qy)), acc);
    }
    return hsum_f32x8(acc);
}

CK_AVX2 static float dot_q2_K_avx2(int n, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        const float dmin = -y[i].d * h2f(x[i].dmin);
        const __m128i sm = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sm, 4), m4));
        const __m256i mprod = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(mprod), acc);
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sm, m4));
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i sc = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            for (int c = 0; c < 4; c++, q8 += 32) {
                const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * c), m3);
                const __m256i p = scaled4_u8_i8(q, _mm256_loadu_si256((const __m256i *)q8), chunk_scales16(sc, c));
                sumi = _mm256_add_epi32(sumi, p);
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_f32x8(acc);
}

CK_AVX2 static float dot_q3_K_avx2(int n, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        // The sixteen 6-bit scales: low 4 bits from bytes 0..7 (low nibbles: scales 0..7, high
        // nibbles: 8..15), high 2 bits from bytes 8..11 (scale g: byte 8 + g%4, shift 2*(g/4)).
        uint32_t a[3];
        memcpy(a, x[i].scales, 12);
        const __m128i s8 = _mm_sub_epi8(_mm_setr_epi32(
            (int)((a[0] & 0x0f0f0f0fu) | ((a[2] & 0x03030303u) << 4)),
            (int)((a[1] & 0x0f0f0f0fu) | (((a[2] >> 2) & 0x03030303u) << 4)),
            (int)(((a[0] >> 4) & 0x0f0f0f0fu) | (((a[2] >> 4) & 0x03030303u) << 4)),
            (int)(((a[1] >> 4) & 0x0f0f0f0fu) | (((a[2] >> 6) & 0x03030303u) << 4))), _mm_set1_epi8(32));
        const __m256i sc16 = _mm256_cvtepi8_epi16(s8);
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i sc = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            for (int c = 0; c < 4; c++, q8 += 32) {
                const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * c), m3);
                const __m256i mask = _mm256_set1_epi8((char)(1 << (4 * h + c)));
                // 4 where the high bit is clear: those values are low - 4.
                const __m256i sub = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, mask), _mm256_setzero_si256()), four);
                const __m256i qy = _mm256_loadu_si256((const __m256i *)q8);
                const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(low, qy), _mm256_maddubs_epi16(sub, qy));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, chunk_scales16(sc, c)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_f32x8(acc);
}

CK_AVX2 static float dot_q4_K_avx2(int n, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        const float dmin = -y[i].d * h2f(x[i].dmin);
        const __m256i sm16 = _mm256_cvtepu8_epi16(k4_scales_mins(x[i].scales)); // 8 scales, 8 mins
        // Chunk sums of q8 (pairs of bsums), times the mins, pairs of chunks per lane.
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m128i csum = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128i mprod = _mm_madd_epi16(_mm256_extracti128_si256(sm16, 1), csum);
        accm = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(mprod), accm);
        const __m256i sc = _mm256_permute2x128_si256(sm16, sm16, 0x00);
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(bits, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            const __m256i pl = scaled4_u8_i8(lo, _mm256_loadu_si256((const __m256i *)q8), chunk_scale32(sc, 2 * j));
            const __m256i ph = scaled4_u8_i8(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)), chunk_scale32(sc, 2 * j + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    return hsum_f32x8(acc) + _mm_cvtss_f32(accm);
}

CK_AVX2 static float dot_q5_K_avx2(int n, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        const float dmin = -y[i].d * h2f(x[i].dmin);
        const __m256i sm16 = _mm256_cvtepu8_epi16(k4_scales_mins(x[i].scales));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m128i csum = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        __m128i mprod = _mm_madd_epi16(_mm256_extracti128_si256(sm16, 1), csum);
        mprod = _mm_add_epi32(mprod, _mm_shuffle_epi32(mprod, _MM_SHUFFLE(1, 0, 3, 2)));
        mprod = _mm_add_epi32(mprod, _mm_shuffle_epi32(mprod, _MM_SHUFFLE(2, 3, 0, 1)));
        summs = fmaf(dmin, (float)_mm_cvtsi128_si32(mprod), summs);
        const __m256i sc = _mm256_permute2x128_si256(sm16, sm16, 0x00);
        const __m256i qh = _mm256_loadu_si256((const __m256i *)x[i].qh);
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i bl = _mm256_set1_epi8((char)(1 << (2 * j))), bh = _mm256_set1_epi8((char)(1 << (2 * j + 1)));
            const __m256i hl = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bl), bl), m16);
            const __m256i hh = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bh), bh), m16);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, m4), hl);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), hh);
            const __m256i pl = scaled4_u8_i8(lo, _mm256_loadu_si256((const __m256i *)q8), chunk_scale32(sc, 2 * j));
            const __m256i ph = scaled4_u8_i8(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)), chunk_scale32(sc, 2 * j + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_f32x8(acc) + summs;
}

CK_AVX2 static float dot_q6_K_avx2(int n, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 256; i++) {
        const float d = y[i].d * h2f(x[i].d);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m256i sub = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[i].bsums), sc16), 5);
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i sc = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m3), 4));
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 4));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m3), 4));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m3), 4));
            const __m256i p0 = scaled4_u8_i8(q0, _mm256_loadu_si256((const __m256i *)q8), chunk_scales16(sc, 0));
            const __m256i p1 = scaled4_u8_i8(q1, _mm256_loadu_si256((const __m256i *)(q8 + 32)), chunk_scales16(sc, 1));
            const __m256i p2 = scaled4_u8_i8(q2, _mm256_loadu_si256((const __m256i *)(q8 + 64)), chunk_scales16(sc, 2));
            const __m256i p3 = scaled4_u8_i8(q3, _mm256_loadu_si256((const __m256i *)(q8 + 96)), chunk_scales16(sc, 3));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
            q8 += 128;
        }
        sumi = _mm256_sub_epi32(sumi, sub);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_f32x8(acc);
}

// The 32 IQ4 codes of 16 bytes as int8 values: low nibbles first, then high nibbles.
CK_AVX2 static inline __m256i iq4_values(const uint8_t *qs, __m128i table) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs), m4 = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(b, 4), m4)),
                            _mm_shuffle_epi8(table, _mm_and_si128(b, m4)));
}

CK_AVX2 static float dot_iq4_nl_avx2(int n, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / 32;
    const __m128i table = _mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int ib = 0;
    for (; ib + 1 < nb; ib += 2) {
        const __m256i p0 = dot4_i8_i8(iq4_values(x[ib].qs, table), _mm256_loadu_si256((const __m256i *)y[ib].qs));
        const __m256i p1 = dot4_i8_i8(iq4_values(x[ib + 1].qs, table), _mm256_loadu_si256((const __m256i *)y[ib + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(y[ib].d) * h2f(x[ib].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(y[ib + 1].d) * h2f(x[ib + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    float sumf = hsum_f32x8(_mm256_add_ps(acc0, acc1));
    for (; ib < nb; ib++) {
        int32_t sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += (int32_t)y[ib].qs[j] * ck_kvalues_iq4nl[x[ib].qs[j] & 15];
            sum += (int32_t)y[ib].qs[j + 16] * ck_kvalues_iq4nl[x[ib].qs[j] >> 4];
        }
        sumf = sumf + h2f(y[ib].d) * h2f(x[ib].d) * (float)sum;
    }
    return sumf;
}

// IQ4_NL in llamafile's tinyBLAS_Q0_AVX (ggml-cpu's batch path for two or more activation rows):
// one set of lanes for every block, reduced once.
CK_AVX2 static float dot_iq4_nl_1acc_avx2(int n, const void *vx, const void *vy) {
    const block_iq4_nl *x = vx;
    const block_q8_0 *y = vy;
    const __m128i table = _mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl);
    __m256 acc = _mm256_setzero_ps();
    for (int ib = 0; ib < n / 32; ib++) {
        const __m256i p = dot4_i8_i8(iq4_values(x[ib].qs, table), _mm256_loadu_si256((const __m256i *)y[ib].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[ib].d) * h2f(y[ib].d)), _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_f32x8(acc);
}

CK_AVX2 static float dot_iq4_xs_avx2(int n, const void *vx, const void *vy) {
    const block_iq4_xs *x = vx;
    const block_q8_K *y = vy;
    const __m128i table = _mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 256; i++) {
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++, q8 += 32) {
            const __m256i v = iq4_values(x[i].qs + 16 * ib, table);
            const __m256i qy = _mm256_loadu_si256((const __m256i *)q8);
            const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(qy, v));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, _mm256_set1_epi16((short)iq4_xs_scale(&x[i], ib))));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_f32x8(acc);
}

#define AVX2(f) f
#else
#define AVX2(f) NULL
#endif

// ---------------------------------------------------------------- the table

#define SCALAR(id, nm, bytes) [id] = {.type = id, .name = nm, .block_size = 1, .block_bytes = bytes, .vec_dot_type = -1}
#define NAMED(id, nm, bs, bytes) [id] = {.type = id, .name = nm, .block_size = bs, .block_bytes = bytes, .vec_dot_type = -1}
#define WEIGHT(id, nm, bs, bytes, vdt, deq, dot, dot_avx2)                                         \
    [id] = {.type = id, .name = nm, .block_size = bs, .block_bytes = bytes, .vec_dot_type = vdt,   \
            .has_kernel = 1, .dequantize = deq, .vec_dot = dot, .vec_dot_avx2 = dot_avx2}

static const ck_type_traits_t type_table[CK_TYPE_COUNT] = {
    [CK_F32] = {.type = CK_F32, .name = "F32", .block_size = 1, .block_bytes = 4, .vec_dot_type = CK_F32,
                .has_kernel = 1, .is_activation = 1, .dequantize = dequant_f32, .vec_dot = dot_f32_c,
                .vec_dot_avx2 = AVX2(dot_f32_avx2), .quantize = quantize_f32},
    [CK_F16] = {.type = CK_F16, .name = "F16", .block_size = 1, .block_bytes = 2, .vec_dot_type = CK_F16,
                .has_kernel = 1, .is_activation = 1, .dequantize = dequant_f16, .vec_dot = dot_f16_c,
                .vec_dot_avx2 = AVX2(dot_f16_avx2), .quantize = quantize_f16_c},
    [CK_BF16] = {.type = CK_BF16, .name = "BF16", .block_size = 1, .block_bytes = 2, .vec_dot_type = CK_BF16,
                 .has_kernel = 1, .is_activation = 1, .dequantize = dequant_bf16, .vec_dot = dot_bf16_c,
                 .vec_dot_avx2 = AVX2(dot_bf16_avx2), .quantize = quantize_bf16_c},
    WEIGHT(CK_Q4_0, "Q4_0", 32, 18, CK_Q8_0, dequant_q4_0, dot_q4_0_c, AVX2(dot_q4_0_avx2)),
    WEIGHT(CK_Q4_1, "Q4_1", 32, 20, CK_Q8_1, dequant_q4_1, dot_q4_1_c, AVX2(dot_q4_1_avx2)),
    WEIGHT(CK_Q5_0, "Q5_0", 32, 22, CK_Q8_0, dequant_q5_0, dot_q5_0_c, AVX2(dot_q5_0_avx2)),
    WEIGHT(CK_Q5_1, "Q5_1", 32, 24, CK_Q8_1, dequant_q5_1, dot_q5_1_c, AVX2(dot_q5_1_avx2)),
    [CK_Q8_0] = {.type = CK_Q8_0, .name = "Q8_0", .block_size = 32, .block_bytes = 34, .vec_dot_type = CK_Q8_0,
                 .has_kernel = 1, .is_activation = 1, .dequantize = dequant_q8_0, .vec_dot = dot_q8_0_c,
                 .vec_dot_avx2 = AVX2(dot_q8_0_avx2), .quantize = quantize_q8_0_c,
                 .quantize_avx2 = AVX2(quantize_q8_0_avx2)},
    // Activation types only (no dot product takes them as weights).
    [CK_Q8_1] = {.type = CK_Q8_1, .name = "Q8_1", .block_size = 32, .block_bytes = 36, .vec_dot_type = -1,
                 .is_activation = 1, .quantize = quantize_q8_1_c, .quantize_avx2 = AVX2(quantize_q8_1_avx2)},
    [CK_Q8_K] = {.type = CK_Q8_K, .name = "Q8_K", .block_size = 256, .block_bytes = 292, .vec_dot_type = -1,
                 .is_activation = 1, .dequantize = dequant_q8_K, .quantize = quantize_q8_K_c},
    WEIGHT(CK_Q2_K, "Q2_K", 256, 84, CK_Q8_K, dequant_q2_K, dot_q2_K_c, AVX2(dot_q2_K_avx2)),
    WEIGHT(CK_Q3_K, "Q3_K", 256, 110, CK_Q8_K, dequant_q3_K, dot_q3_K_c, AVX2(dot_q3_K_avx2)),
    WEIGHT(CK_Q4_K, "Q4_K", 256, 144, CK_Q8_K, dequant_q4_K, dot_q4_K_c, AVX2(dot_q4_K_avx2)),
    WEIGHT(CK_Q5_K, "Q5_K", 256, 176, CK_Q8_K, dequant_q5_K, dot_q5_K_c, AVX2(dot_q5_K_avx2)),
    WEIGHT(CK_Q6_K, "Q6_K", 256, 210, CK_Q8_K, dequant_q6_K, dot_q6_K_c, AVX2(dot_q6_K_avx2)),
    WEIGHT(CK_IQ4_NL, "IQ4_NL", 32, 18, CK_Q8_0, dequant_iq4_nl, dot_iq4_nl_c, AVX2(dot_iq4_nl_avx2)),
    WEIGHT(CK_IQ4_XS, "IQ4_XS", 256, 136, CK_Q8_K, dequant_iq4_xs, dot_iq4_xs_c, AVX2(dot_iq4_xs_avx2)),
    // Named, without kernels: files holding them parse, and the loader refuses them by name.
    NAMED(CK_IQ2_XXS, "IQ2_XXS", 256, 66),
    NAMED(CK_IQ2_XS, "IQ2_XS", 256, 74),
    NAMED(CK_IQ3_XXS, "IQ3_XXS", 256, 98),
    NAMED(CK_IQ1_S, "IQ1_S", 256, 50),
    NAMED(CK_IQ3_S, "IQ3_S", 256, 110),
    NAMED(CK_IQ2_S, "IQ2_S", 256, 82),
    NAMED(CK_IQ1_M, "IQ1_M", 256, 56),
    NAMED(CK_TQ1_0, "TQ1_0", 256, 54),
    NAMED(CK_TQ2_0, "TQ2_0", 256, 66),
    NAMED(CK_MXFP4, "MXFP4", 32, 17),
    NAMED(CK_NVFP4, "NVFP4", 64, 36),
    NAMED(CK_Q1_0, "Q1_0", 128, 18),
    NAMED(CK_Q2_0, "Q2_0", 64, 18),
    SCALAR(CK_I8, "I8", 1),
    SCALAR(CK_I16, "I16", 2),
    SCALAR(CK_I32, "I32", 4),
    SCALAR(CK_I64, "I64", 8),
    SCALAR(CK_F64, "F64", 8),
};

const ck_type_traits_t *ck_type_traits(int type) {
    if (type < 0 || type >= CK_TYPE_COUNT || !type_table[type].name) return NULL;
    return &type_table[type];
}

const char *ck_type_name(int type) {
    const ck_type_traits_t *t = ck_type_traits(type);
    return t ? t->name : NULL;
}

// ---------------------------------------------------------------- the entry points

int ck_vec_dot_type(int type) {
    const ck_type_traits_t *t = ck_type_traits(type);
    return t && t->has_kernel ? t->vec_dot_type : -1;
}

size_t ck_row_bytes(int type, int n) {
    const ck_type_traits_t *t = ck_type_traits(type);
    return t ? (size_t)(n / t->block_size) * (size_t)t->block_bytes : 0;
}

void ck_quantize_row(int vdt, const float *x, void *y, int n) {
    CK_INIT();
    const ck_type_traits_t *t = ck_type_traits(vdt);
    if (!t || !t->quantize) ck_no_kernel("quantize", vdt);
    if (t->quantize_avx2 && ck_simd_level()) t->quantize_avx2(x, y, n);
    else t->quantize(x, y, n);
}

void ck_dequantize_row(int type, const void *x, float *y, int n) {
    CK_INIT();
    const ck_type_traits_t *t = ck_type_traits(type);
    if (!t || !t->dequantize) ck_no_kernel("dequantize", type);
    t->dequantize(x, y, n);
}

float ck_vec_dot(int type, int n, const void *w, const void *xq) {
    CK_INIT();
    const ck_type_traits_t *t = ck_type_traits(type);
    if (!t || !t->vec_dot) ck_no_kernel("dot product", type);
    if (t->vec_dot_avx2 && ck_simd_level()) return t->vec_dot_avx2(n, w, xq);
    return t->vec_dot(n, w, xq);
}

float ck_vec_dot_iq4_nl_batch(int n, const void *w, const void *xq) {
    CK_INIT();
#ifdef CK_X86
    if (ck_simd_level()) return dot_iq4_nl_1acc_avx2(n, w, xq);
#endif
    return dot_iq4_nl_1acc_c(n, w, xq);
}
