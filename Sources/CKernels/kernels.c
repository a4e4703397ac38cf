// CPU feature detection, half precision, and the matrix products over the worker pool. The
// per-type kernels (dequantisation, activation quantisation, dot products) and the table of
// tensor types are in quants.c.
#include "ckernels.h"
#include "internal.h"
#include "quants.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// No silent a*b+c fusion: every fused multiply-add below is written out.
#pragma STDC FP_CONTRACT OFF

// ---------------------------------------------------------------- CPU features

static int simd_level = -1, simd_detected = -1;
static pthread_once_t simd_once = PTHREAD_ONCE_INIT;

static void detect_simd(void) {
    int level = 0;
#ifdef CK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) level = 1;
    if (level == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        level = 2;
#endif
    simd_detected = level;
    // CK_SIMD=0 forces the portable C, CK_SIMD=1 caps at AVX2.
    const char *env = getenv("CK_SIMD");
    if (env && env[0] >= '0' && env[0] < '0' + level) level = env[0] - '0';
    simd_level = level;
}

int ck_simd_level(void) {
    pthread_once(&simd_once, detect_simd);
    return simd_level;
}

int ck_set_simd_level(int level) {
    pthread_once(&simd_once, detect_simd);
    const int previous = simd_level;
    simd_level = level < 0 ? 0 : level > simd_detected ? simd_detected : level;
    return previous;
}

// ---------------------------------------------------------------- half precision

float ck_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400) == 0) { mant <<= 1; exp--; }
            mant &= 0x3ff;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even, as F16C's _cvtss_sh(x, 0) does.
uint16_t ck_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); // rounds to >= 65520: inf
    if (absx < 0x38800000u) { // result is subnormal or zero
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; // 14..24
        uint32_t h = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((absx - 0x38000000u) >> 13);
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

// Table lookup for the hot paths of the portable code.
float ck_fp16_table[65536];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static void init_table(void) {
    for (int i = 0; i < 65536; i++) ck_fp16_table[i] = ck_fp16_to_fp32((uint16_t)i);
}
void ck_init_tables(void) { pthread_once(&table_once, init_table); }

void ck_fp32_to_fp16_row(const float *x, uint16_t *y, int n) {
    for (int i = 0; i < n; i++) y[i] = ck_fp32_to_fp16(x[i]);
}

// ---------------------------------------------------------------- matrix-product kernels
// Several rows or tokens at a time, each row's sum in the order of quants.c's one-row kernels.

#ifdef CK_X86
CK_AVX2 static inline __m256 dot_u8_i8_to_f32(__m256i u, __m256i s) {
    const __m256i p16 = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

CK_AVX2 static inline __m256 dot_i8_i8_to_f32(__m256i a, __m256i b) {
    // maddubs needs an unsigned operand: |a| * (b with a's sign).
    return dot_u8_i8_to_f32(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// Four weight rows against one activation row (decode): four independent accumulation chains
// keep the FMA unit busy while each row's sum keeps llama.cpp's order.
CK_AVX2 static void dot_q4_1_q8_1_4rows_avx2(int n, const uint8_t *w, size_t wstride, const block_q8_1 *y, float *out) {
    const block_q4_1 *x0 = (const block_q4_1 *)w, *x1 = (const block_q4_1 *)(w + wstride);
    const block_q4_1 *x2 = (const block_q4_1 *)(w + 2 * wstride), *x3 = (const block_q4_1 *)(w + 3 * wstride);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n / 32; i++) {
        const __m128 yds = two_halves(&y[i].d);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        __m128 xdm;
#define CK_ROW(X, A, S)                                                                          \
        xdm = two_halves(&X[i].d);                                                               \
        S = _mm_fmadd_ps(xdm, yds, S);                                                           \
        A = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_mul_ss(xdm, yds)),                          \
                            dot_u8_i8_to_f32(nibbles_32(X[i].qs), qy), A);
        CK_ROW(x0, a0, s0)
        CK_ROW(x1, a1, s1)
        CK_ROW(x2, a2, s2)
        CK_ROW(x3, a3, s3)
#undef CK_ROW
    }
    out[0] = hsum_f32x8(a0) + _mm_cvtss_f32(_mm_movehdup_ps(s0));
    out[1] = hsum_f32x8(a1) + _mm_cvtss_f32(_mm_movehdup_ps(s1));
    out[2] = hsum_f32x8(a2) + _mm_cvtss_f32(_mm_movehdup_ps(s2));
    out[3] = hsum_f32x8(a3) + _mm_cvtss_f32(_mm_movehdup_ps(s3));
}

CK_AVX2 static void dot_q8_0_q8_0_4rows_avx2(int n, const uint8_t *w, size_t wstride, const block_q8_0 *y, float *out) {
    const block_q8_0 *x0 = (const block_q8_0 *)w, *x1 = (const block_q8_0 *)(w + wstride);
    const block_q8_0 *x2 = (const block_q8_0 *)(w + 2 * wstride), *x3 = (const block_q8_0 *)(w + 3 * wstride);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < n / 32; i++) {
        const float dy = h2f(y[i].d);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
#define CK_ROW(X, A)                                                                              \
        A = _mm256_fmadd_ps(_mm256_set1_ps(h2f(X[i].d) * dy),                                     \
                            dot_i8_i8_to_f32(_mm256_loadu_si256((const __m256i *)X[i].qs), qy), A);
        CK_ROW(x0, a0)
        CK_ROW(x1, a1)
        CK_ROW(x2, a2)
        CK_ROW(x3, a3)
#undef CK_ROW
    }
    out[0] = hsum_f32x8(a0);
    out[1] = hsum_f32x8(a1);
    out[2] = hsum_f32x8(a2);
    out[3] = hsum_f32x8(a3);
}

// One Q4_1 row against a group of four Q8_1 token rows whose block scales were converted to
// float beforehand (dy4/sy4: per block the four tokens' d and s): the nibbles are unpacked once,
// d_x*d_y and the m_x*s_y sums are formed four tokens at a time, and each token's chain keeps
// llama.cpp's block order.
CK_AVX2 static void dot4s_q4_1_q8_1_avx2(int n, const block_q4_1 *x, const block_q8_1 *y0, size_t stride,
                                         const float *dy4, const float *sy4, float *out) {
    const block_q8_1 *y1 = (const block_q8_1 *)((const uint8_t *)y0 + stride);
    const block_q8_1 *y2 = (const block_q8_1 *)((const uint8_t *)y1 + stride);
    const block_q8_1 *y3 = (const block_q8_1 *)((const uint8_t *)y2 + stride);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m128 summs = _mm_setzero_ps();
    const __m256i lane1 = _mm256_set1_epi32(1), lane2 = _mm256_set1_epi32(2), lane3 = _mm256_set1_epi32(3);
    for (int i = 0; i < n / 32; i++) {
        const __m128 xdm = two_halves(&x[i].d);
        const __m128 dd = _mm_mul_ps(_mm_permute_ps(xdm, 0x00), _mm_loadu_ps(dy4 + 4 * i));
        summs = _mm_fmadd_ps(_mm_permute_ps(xdm, 0x55), _mm_loadu_ps(sy4 + 4 * i), summs);
        const __m256 dd8 = _mm256_castps128_ps256(dd);
        const __m256i qx = nibbles_32(x[i].qs);
        a0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), dot_u8_i8_to_f32(qx, _mm256_loadu_si256((const __m256i *)y0[i].qs)), a0);
        a1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd8, lane1), dot_u8_i8_to_f32(qx, _mm256_loadu_si256((const __m256i *)y1[i].qs)), a1);
        a2 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd8, lane2), dot_u8_i8_to_f32(qx, _mm256_loadu_si256((const __m256i *)y2[i].qs)), a2);
        a3 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd8, lane3), dot_u8_i8_to_f32(qx, _mm256_loadu_si256((const __m256i *)y3[i].qs)), a3);
    }
    float s[4];
    _mm_storeu_ps(s, summs);
    out[0] = hsum_f32x8(a0) + s[0];
    out[1] = hsum_f32x8(a1) + s[1];
    out[2] = hsum_f32x8(a2) + s[2];
    out[3] = hsum_f32x8(a3) + s[3];
}

// ---- Q4_0, Q5_0, Q8_0, IQ4_NL against Q8_0 activations, several tokens or rows per pass. Each
// output keeps the one-row kernel's chain: per block acc = fma(set1(d_x * d_y), float(|w| . (q
// with w's sign), four bytes a lane), acc), then hsum_f32x8 (quants.c's dot_*_avx2 and the
// single-accumulator IQ4_NL kernel tinyBLAS uses for batches).

static inline size_t q8w_block_bytes(int type) {
    return type == CK_Q5_0 ? sizeof(block_q5_0) : type == CK_Q8_0 ? sizeof(block_q8_0) : sizeof(block_q4_0);
}

// The 32 signed weights of one block (the type is a constant after inlining).
CK_AVX2 static inline __attribute__((always_inline)) __m256i q8w_values(int type, const uint8_t *b, __m128i table) {
    switch (type) {
    case CK_Q4_0:
        return _mm256_sub_epi8(nibbles_32(((const block_q4_0 *)b)->qs), _mm256_set1_epi8(8));
    case CK_Q5_0: {
        const block_q5_0 *x = (const block_q5_0 *)b;
        uint32_t qh;
        memcpy(&qh, x->qh, 4);
        const __m256i hi = _mm256_andnot_si256(bits_to_bytes(qh), _mm256_set1_epi8((char)0xF0));
        return _mm256_or_si256(nibbles_32(x->qs), hi);
    }
    case CK_Q8_0:
        return _mm256_loadu_si256((const __m256i *)((const block_q8_0 *)b)->qs);
    default: { // IQ4_NL
        const __m128i v = _mm_loadu_si128((const __m128i *)((const block_iq4_nl *)b)->qs), m4 = _mm_set1_epi8(15);
        return _mm256_set_m128i(_mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(v, 4), m4)),
                                _mm_shuffle_epi8(table, _mm_and_si128(v, m4)));
    }
    }
}

static inline float q8w_d(const uint8_t *b) {
    uint16_t d;
    memcpy(&d, b, 2);
    return h2f(d);
}

// |w| . (q with w's sign): sums of four adjacent products in eight int32 lanes, as floats.
CK_AVX2 static inline __m256 q8w_dot(__m256i aw, __m256i w, const int8_t *q) {
    const __m256i qv = _mm256_loadu_si256((const __m256i *)q);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(qv, w)), _mm256_set1_epi16(1)));
}

// One weight row against four token rows (y0, y0 + stride, ...): the block is unpacked once.
CK_AVX2 static inline __attribute__((always_inline)) void q8w_dot_4tok(int type, int n, const uint8_t *x,
                                                                       const uint8_t *yb, size_t stride, float *out) {
    const size_t bx = q8w_block_bytes(type);
    const __m128i table = _mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl);
    const block_q8_0 *y0 = (const block_q8_0 *)yb, *y1 = (const block_q8_0 *)(yb + stride);
    const block_q8_0 *y2 = (const block_q8_0 *)(yb + 2 * stride), *y3 = (const block_q8_0 *)(yb + 3 * stride);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < n / 32; i++) {
        const uint8_t *b = x + (size_t)i * bx;
        const float dx = q8w_d(b);
        const __m256i w = q8w_values(type, b, table);
        const __m256i aw = _mm256_sign_epi8(w, w);
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y0[i].d)), q8w_dot(aw, w, y0[i].qs), a0);
        a1 = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y1[i].d)), q8w_dot(aw, w, y1[i].qs), a1);
        a2 = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y2[i].d)), q8w_dot(aw, w, y2[i].qs), a2);
        a3 = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y3[i].d)), q8w_dot(aw, w, y3[i].qs), a3);
    }
    out[0] = hsum_f32x8(a0);
    out[1] = hsum_f32x8(a1);
    out[2] = hsum_f32x8(a2);
    out[3] = hsum_f32x8(a3);
}

// Four weight rows (w, w + wstride, ...) against one token row (decode).
CK_AVX2 static inline __attribute__((always_inline)) void q8w_dot_4rows(int type, int n, const uint8_t *w,
                                                                        size_t wstride, const block_q8_0 *y, float *out) {
    const size_t bx = q8w_block_bytes(type);
    const __m128i table = _mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < n / 32; i++) {
        const float dy = h2f(y[i].d);
        const uint8_t *b = w + (size_t)i * bx;
#define CK_ROW(R, A)                                                                              \
        {                                                                                         \
            const uint8_t *br = b + (R) * wstride;                                                \
            const __m256i v = q8w_values(type, br, table);                                        \
            A = _mm256_fmadd_ps(_mm256_set1_ps(q8w_d(br) * dy), q8w_dot(_mm256_sign_epi8(v, v), v, y[i].qs), A); \
        }
        CK_ROW(0, a0)
        CK_ROW(1, a1)
        CK_ROW(2, a2)
        CK_ROW(3, a3)
#undef CK_ROW
    }
    out[0] = hsum_f32x8(a0);
    out[1] = hsum_f32x8(a1);
    out[2] = hsum_f32x8(a2);
    out[3] = hsum_f32x8(a3);
}

#define CK_Q8W_KERNELS(NAME, TYPE)                                                                                 \
    CK_AVX2 static void NAME##_4tok(int n, const uint8_t *x, const uint8_t *y, size_t stride, float *out) {       \
        q8w_dot_4tok(TYPE, n, x, y, stride, out);                                                                  \
    }                                                                                                              \
    CK_AVX2 __attribute__((unused)) static void NAME##_4rows(int n, const uint8_t *w, size_t wstride, const block_q8_0 *y, float *out) {  \
        q8w_dot_4rows(TYPE, n, w, wstride, y, out);                                                                \
    }
CK_Q8W_KERNELS(q4_0, CK_Q4_0)
CK_Q8W_KERNELS(q5_0, CK_Q5_0)
CK_Q8W_KERNELS(q8_0, CK_Q8_0)
CK_Q8W_KERNELS(iq4_nl, CK_IQ4_NL)
#undef CK_Q8W_KERNELS

// ---- Level 2: the same products with AVX-512 VNNI's vpdpbusd (u8 x s8, four adjacent products
// summed into each int32 lane, as maddubs + madd do). The lane sums are exact integers either way,
// and every float step above is kept, so each output has the AVX2 kernel's bits.

CK_VNNI static inline __m256 dpbusd_f32(__m256i acc, __m256i u, __m256i s) {
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(acc, u, s));
}

// The 32 weights of one block plus a bias that makes them unsigned: w = u - (1 << q8w_shift).
static inline int q8w_shift(int type) { return type == CK_Q4_0 ? 3 : type == CK_Q5_0 ? 4 : 7; }

CK_VNNI static inline __attribute__((always_inline)) __m256i q8w_unsigned(int type, const uint8_t *b, __m128i table128) {
    switch (type) {
    case CK_Q4_0:
        return nibbles_32(((const block_q4_0 *)b)->qs);
    case CK_Q5_0: {
        const block_q5_0 *x = (const block_q5_0 *)b;
        uint32_t qh;
        memcpy(&qh, x->qh, 4);
        const __m256i lo = nibbles_32(x->qs);
        return _mm256_mask_add_epi8(lo, (__mmask32)qh, lo, _mm256_set1_epi8(16));  // byte e + 16 where bit e
    }
    case CK_Q8_0:
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)((const block_q8_0 *)b)->qs), _mm256_set1_epi8((char)0x80));
    default: { // IQ4_NL, through the table with 128 added
        const __m128i v = _mm_loadu_si128((const __m128i *)((const block_iq4_nl *)b)->qs), m4 = _mm_set1_epi8(15);
        return _mm256_set_m128i(_mm_shuffle_epi8(table128, _mm_and_si128(_mm_srli_epi16(v, 4), m4)),
                                _mm_shuffle_epi8(table128, _mm_and_si128(v, m4)));
    }
    }
}

// Four weight rows against one token row (decode). Per block the bias -(sum of four q) << shift is
// formed once for the four rows; vpdpbusd starts from it, so each lane is sum (u - bias) * q exactly.
CK_VNNI static inline __attribute__((always_inline)) void q8w_dot_4rows_vnni(int type, int n, const uint8_t *w,
                                                                             size_t wstride, const block_q8_0 *y, float *out) {
    const size_t bx = q8w_block_bytes(type);
    const int shift = q8w_shift(type);
    const __m128i table128 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl), _mm_set1_epi8((char)0x80));
    const __m256i ones = _mm256_set1_epi8(1), zero = _mm256_setzero_si256();
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < n / 32; i++) {
        const float dy = h2f(y[i].d);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        const __m256i bias = _mm256_sub_epi32(zero, _mm256_sll_epi32(_mm256_dpbusd_epi32(zero, ones, qy), _mm_cvtsi32_si128(shift)));
        const uint8_t *b = w + (size_t)i * bx;
#define CK_ROW(R, A)                                                                              \
        {                                                                                         \
            const uint8_t *br = b + (R) * wstride;                                                \
            A = _mm256_fmadd_ps(_mm256_set1_ps(q8w_d(br) * dy), dpbusd_f32(bias, q8w_unsigned(type, br, table128), qy), A); \
        }
        CK_ROW(0, a0)
        CK_ROW(1, a1)
        CK_ROW(2, a2)
        CK_ROW(3, a3)
#undef CK_ROW
    }
    out[0] = hsum_f32x8(a0);
    out[1] = hsum_f32x8(a1);
    out[2] = hsum_f32x8(a2);
    out[3] = hsum_f32x8(a3);
}

// One weight row against four token rows: |w| once, then per token vpdpbusd(|w|, q with w's sign).
CK_VNNI static inline __attribute__((always_inline)) void q8w_dot_4tok_vnni(int type, int n, const uint8_t *x,
                                                                            const uint8_t *yb, size_t stride, float *out) {
    const size_t bx = q8w_block_bytes(type);
    const __m128i table = _mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl);
    const block_q8_0 *y0 = (const block_q8_0 *)yb, *y1 = (const block_q8_0 *)(yb + stride);
    const block_q8_0 *y2 = (const block_q8_0 *)(yb + 2 * stride), *y3 = (const block_q8_0 *)(yb + 3 * stride);
    const __m256i zero = _mm256_setzero_si256();
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < n / 32; i++) {
        const uint8_t *b = x + (size_t)i * bx;
        const float dx = q8w_d(b);
        const __m256i w = q8w_values(type, b, table);
        const __m256i aw = _mm256_sign_epi8(w, w);
#define CK_TOK(Y, A)                                                                              \
        A = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(Y[i].d)),                                     \
                            dpbusd_f32(zero, aw, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)Y[i].qs), w)), A);
        CK_TOK(y0, a0)
        CK_TOK(y1, a1)
        CK_TOK(y2, a2)
        CK_TOK(y3, a3)
#undef CK_TOK
    }
    out[0] = hsum_f32x8(a0);
    out[1] = hsum_f32x8(a1);
    out[2] = hsum_f32x8(a2);
    out[3] = hsum_f32x8(a3);
}

// Four weight rows against four token rows (batches): AVX-512's 32 vector registers hold the 16
// accumulators, each weight block is unpacked once for four tokens and each token block read once
// for four rows. out[4 * token + row].
CK_VNNI static inline __attribute__((always_inline)) void q8w_dot_4x4_vnni(int type, int n, const uint8_t *w, size_t wstride,
                                                                           const uint8_t *yb, size_t stride, float *out) {
    const size_t bx = q8w_block_bytes(type);
    const int shift = q8w_shift(type);
    const __m128i table128 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)ck_kvalues_iq4nl), _mm_set1_epi8((char)0x80));
    const __m256i ones = _mm256_set1_epi8(1), zero = _mm256_setzero_si256();
    const block_q8_0 *y[4];
    for (int t = 0; t < 4; t++) y[t] = (const block_q8_0 *)(yb + (size_t)t * stride);
    __m256 acc[4][4];
    for (int t = 0; t < 4; t++)
        for (int r = 0; r < 4; r++) acc[t][r] = _mm256_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        __m256i u[4];
        float dx[4];
        for (int r = 0; r < 4; r++) {
            const uint8_t *br = w + (size_t)r * wstride + (size_t)i * bx;
            u[r] = q8w_unsigned(type, br, table128);
            dx[r] = q8w_d(br);
        }
        for (int t = 0; t < 4; t++) {
            const __m256i qy = _mm256_loadu_si256((const __m256i *)y[t][i].qs);
            const __m256i bias = _mm256_sub_epi32(zero, _mm256_sll_epi32(_mm256_dpbusd_epi32(zero, ones, qy), _mm_cvtsi32_si128(shift)));
            const float dy = h2f(y[t][i].d);
            for (int r = 0; r < 4; r++)
                acc[t][r] = _mm256_fmadd_ps(_mm256_set1_ps(dx[r] * dy), dpbusd_f32(bias, u[r], qy), acc[t][r]);
        }
    }
    for (int t = 0; t < 4; t++)
        for (int r = 0; r < 4; r++) out[4 * t + r] = hsum_f32x8(acc[t][r]);
}

#define CK_Q8W_KERNELS(NAME, TYPE)                                                                                 \
    CK_VNNI static void NAME##_4x4_vnni(int n, const uint8_t *w, size_t wstride, const uint8_t *y, size_t stride, float *out) { \
        q8w_dot_4x4_vnni(TYPE, n, w, wstride, y, stride, out);                                                     \
    }                                                                                                              \
    CK_VNNI static void NAME##_4tok_vnni(int n, const uint8_t *x, const uint8_t *y, size_t stride, float *out) {  \
        q8w_dot_4tok_vnni(TYPE, n, x, y, stride, out);                                                             \
    }                                                                                                              \
    CK_VNNI __attribute__((unused)) static void NAME##_4rows_vnni(int n, const uint8_t *w, size_t wstride, const block_q8_0 *y, float *out) { \
        q8w_dot_4rows_vnni(TYPE, n, w, wstride, y, out);                                                           \
    }
CK_Q8W_KERNELS(q4_0, CK_Q4_0)
CK_Q8W_KERNELS(q5_0, CK_Q5_0)
CK_Q8W_KERNELS(q8_0, CK_Q8_0)
CK_Q8W_KERNELS(iq4_nl, CK_IQ4_NL)
#undef CK_Q8W_KERNELS

// dot_q4_1_q8_1_4rows_avx2 and dot4s_q4_1_q8_1_avx2 with the nibble products on vpdpbusd.
CK_VNNI static void dot_q4_1_q8_1_4rows_vnni(int n, const uint8_t *w, size_t wstride, const block_q8_1 *y, float *out) {
    const block_q4_1 *x0 = (const block_q4_1 *)w, *x1 = (const block_q4_1 *)(w + wstride);
    const block_q4_1 *x2 = (const block_q4_1 *)(w + 2 * wstride), *x3 = (const block_q4_1 *)(w + 3 * wstride);
    const __m256i zero = _mm256_setzero_si256();
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n / 32; i++) {
        const __m128 yds = two_halves(&y[i].d);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        __m128 xdm;
#define CK_ROW(X, A, S)                                                                          \
        xdm = two_halves(&X[i].d);                                                               \
        S = _mm_fmadd_ps(xdm, yds, S);                                                           \
        A = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_mul_ss(xdm, yds)), dpbusd_f32(zero, nibbles_32(X[i].qs), qy), A);
        CK_ROW(x0, a0, s0)
        CK_ROW(x1, a1, s1)
        CK_ROW(x2, a2, s2)
        CK_ROW(x3, a3, s3)
#undef CK_ROW
    }
    out[0] = hsum_f32x8(a0) + _mm_cvtss_f32(_mm_movehdup_ps(s0));
    out[1] = hsum_f32x8(a1) + _mm_cvtss_f32(_mm_movehdup_ps(s1));
    out[2] = hsum_f32x8(a2) + _mm_cvtss_f32(_mm_movehdup_ps(s2));
    out[3] = hsum_f32x8(a3) + _mm_cvtss_f32(_mm_movehdup_ps(s3));
}

CK_VNNI static void dot4s_q4_1_q8_1_vnni(int n, const block_q4_1 *x, const block_q8_1 *y0, size_t stride,
                                         const float *dy4, const float *sy4, float *out) {
    const block_q8_1 *y1 = (const block_q8_1 *)((const uint8_t *)y0 + stride);
    const block_q8_1 *y2 = (const block_q8_1 *)((const uint8_t *)y1 + stride);
    const block_q8_1 *y3 = (const block_q8_1 *)((const uint8_t *)y2 + stride);
    const __m256i zero = _mm256_setzero_si256();
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m128 summs = _mm_setzero_ps();
    const __m256i lane1 = _mm256_set1_epi32(1), lane2 = _mm256_set1_epi32(2), lane3 = _mm256_set1_epi32(3);
    for (int i = 0; i < n / 32; i++) {
        const __m128 xdm = two_halves(&x[i].d);
        const __m128 dd = _mm_mul_ps(_mm_permute_ps(xdm, 0x00), _mm_loadu_ps(dy4 + 4 * i));
        summs = _mm_fmadd_ps(_mm_permute_ps(xdm, 0x55), _mm_loadu_ps(sy4 + 4 * i), summs);
        const __m256 dd8 = _mm256_castps128_ps256(dd);
        const __m256i qx = nibbles_32(x[i].qs);
        a0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), dpbusd_f32(zero, qx, _mm256_loadu_si256((const __m256i *)y0[i].qs)), a0);
        a1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd8, lane1), dpbusd_f32(zero, qx, _mm256_loadu_si256((const __m256i *)y1[i].qs)), a1);
        a2 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd8, lane2), dpbusd_f32(zero, qx, _mm256_loadu_si256((const __m256i *)y2[i].qs)), a2);
        a3 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd8, lane3), dpbusd_f32(zero, qx, _mm256_loadu_si256((const __m256i *)y3[i].qs)), a3);
    }
    float s[4];
    _mm_storeu_ps(s, summs);
    out[0] = hsum_f32x8(a0) + s[0];
    out[1] = hsum_f32x8(a1) + s[1];
    out[2] = hsum_f32x8(a2) + s[2];
    out[3] = hsum_f32x8(a3) + s[3];
}
#endif


// ---------------------------------------------------------------- batches as ggml-cpu's tiled kernel
// ggml-cpu (ggml-cpu/tiled/tiled.cpp, on unless GGML_CPU_TILED_MM=0) computes Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K and IQ4_XS products with 8 or more activation rows (src1->ne[1] >= 8) itself, not
// through vec_dot. Per output element, super-block by super-block in order, its AVX512-VNNI
// microkernel forms exact integers s1 = sum_g scale[g] * (w . q over the 16 values of g) and
// s2 = sum_g min[g] * bsum[g], then r = float(s1) * d, r = r - dmin * float(s2) (one fnmadd, for
// the types with mins), and acc = fma(r, d8, acc) (gcc contracts its mul + add), acc from 0.
// The integers are exact on every path, so the C and AVX2 code below agree bit for bit.

#define CK_TILED_MIN_ROWS 8

static int tiled_type(int type) {
    return type == CK_Q2_K || type == CK_Q3_K || type == CK_Q4_K || type == CK_Q5_K || type == CK_Q6_K ||
           type == CK_IQ4_XS;
}

// One weight row in integer form: w (cols int8), per 16 values the scale (int32 and int16) and
// min, per super-block d and dmin. One buffer per thread, grown as needed.
typedef struct {
    int8_t *w;
    int32_t *sc, *mn;
    int16_t *sc16, *mn16;
    float *d, *dmin;
    int has_min;
    size_t capacity; // cols
    void *mem;
} tiled_row;

#define CK_TILED_ROWS 4 // weight rows decoded together (each token group is read once for them)
static _Thread_local tiled_row tiled_buf[CK_TILED_ROWS];

static tiled_row *tiled_decode(int type, const uint8_t *wrow, int cols, int slot) {
    tiled_row *b = &tiled_buf[slot];
    if ((size_t)cols > b->capacity) {
        free(b->mem);
        const size_t groups = (size_t)cols / 16, blocks = (size_t)cols / 256;
        const size_t bytes = (size_t)cols + groups * (4 + 4 + 2 + 2) + blocks * 8 + 64;
        b->mem = NULL;
        if (posix_memalign(&b->mem, 64, bytes) != 0 || !b->mem) abort();
        uint8_t *p = b->mem;
        b->w = (int8_t *)p; p += cols;
        b->sc = (int32_t *)p; p += groups * 4;
        b->mn = (int32_t *)p; p += groups * 4;
        b->d = (float *)p; p += blocks * 4;
        b->dmin = (float *)p; p += blocks * 4;
        b->sc16 = (int16_t *)p; p += groups * 2;
        b->mn16 = (int16_t *)p;
        b->capacity = (size_t)cols;
    }
    const size_t bb = ck_row_bytes(type, 256);
    for (int i = 0; i < cols / 256; i++) {
        b->has_min = ck_kblock_ints(type, wrow + (size_t)i * bb, b->w + 256 * i, b->sc + 16 * i, b->mn + 16 * i,
                                    &b->d[i], &b->dmin[i]);
        for (int g = 0; g < 16; g++) {
            b->sc16[16 * i + g] = (int16_t)b->sc[16 * i + g];
            b->mn16[16 * i + g] = (int16_t)b->mn[16 * i + g];
        }
    }
    return b;
}

// s1 of one super-block: sum over the 16 groups of scale * (w . q).
static int32_t tiled_s1_c(const int8_t *w, const int8_t *q, const int32_t *sc) {
    int32_t s1 = 0;
    for (int g = 0; g < 16; g++) {
        int32_t t = 0;
        for (int j = 0; j < 16; j++) t += (int32_t)w[16 * g + j] * q[16 * g + j];
        s1 += sc[g] * t;
    }
    return s1;
}

static float tiled_dot_c(const tiled_row *b, int cols, const block_q8_K *y) {
    float acc = 0;
    for (int i = 0; i < cols / 256; i++) {
        const int32_t s1 = tiled_s1_c(b->w + 256 * i, y[i].qs, b->sc + 16 * i);
        float r = (float)s1 * b->d[i];
        if (b->has_min) {
            int32_t s2 = 0;
            for (int g = 0; g < 16; g++) s2 += b->mn[16 * i + g] * y[i].bsums[g];
            r = fmaf(-b->dmin[i], (float)s2, r);
        }
        acc = fmaf(r, y[i].d, acc);
    }
    return acc;
}

#ifdef CK_X86
// Four activation rows against one decoded weight row: the weights and scales are loaded once
// per 32 values. All sums are exact integers, so any grouping gives llama.cpp's s1 and s2:
// - Q2_K, Q4_K, Q5_K (w >= 0): maddubs(w, q) directly (pairs <= 2 * 31 * 127);
// - Q3_K, Q6_K: w + off (off 4 / 32, so 0..7 / 0..63) times q, less off * sum_g scale[g] * bsum[g];
// - IQ4_XS: |w| times (q with w's sign). |w|, |q| <= 127 (Q8_K never holds -128): no saturation.
CK_AVX2 static inline int32_t hsum_i32x8_k(__m256i v) {
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0x4e));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0xb1));
    return _mm_cvtsi128_si32(r);
}

CK_AVX2 static inline __attribute__((always_inline)) void tiled_dot4_body(const tiled_row *b, int cols, const uint8_t *x,
                                                                          size_t stride, int count, float *out, int mode,
                                                                          int off) {
    float acc[4] = {0, 0, 0, 0};
    const __m256i offv = _mm256_set1_epi8((char)off);
    for (int i = 0; i < cols / 256; i++) {
        __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        const int8_t *w = b->w + 256 * i;
        const block_q8_K *y[4];
        for (int k = 0; k < 4; k++) y[k] = (const block_q8_K *)(x + (size_t)(k < count ? k : 0) * stride) + i;
        for (int c = 0; c < 8; c++) {
            const __m256i wv = _mm256_load_si256((const __m256i *)(w + 32 * c));
            const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(b->sc16[16 * i + 2 * c + 1]),
                                                 _mm_set1_epi16(b->sc16[16 * i + 2 * c]));
            if (mode == 0) {
                for (int k = 0; k < 4; k++) {
                    const __m256i qv = _mm256_loadu_si256((const __m256i *)(y[k]->qs + 32 * c));
                    s[k] = _mm256_add_epi32(s[k], _mm256_madd_epi16(_mm256_maddubs_epi16(wv, qv), scv));
                }
            } else if (mode == 1) {
                const __m256i uw = _mm256_add_epi8(wv, offv);
                for (int k = 0; k < 4; k++) {
                    const __m256i qv = _mm256_loadu_si256((const __m256i *)(y[k]->qs + 32 * c));
                    s[k] = _mm256_add_epi32(s[k], _mm256_madd_epi16(_mm256_maddubs_epi16(uw, qv), scv));
                }
            } else {
                const __m256i aw = _mm256_sign_epi8(wv, wv);
                for (int k = 0; k < 4; k++) {
                    const __m256i qv = _mm256_loadu_si256((const __m256i *)(y[k]->qs + 32 * c));
                    s[k] = _mm256_add_epi32(s[k], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(qv, wv)), scv));
                }
            }
        }
        const __m256i sc16 = _mm256_loadu_si256((const __m256i *)(b->sc16 + 16 * i));
        const __m256i mn16 = _mm256_loadu_si256((const __m256i *)(b->mn16 + 16 * i));
        for (int k = 0; k < count; k++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)y[k]->bsums);
            int32_t s1 = hsum_i32x8_k(s[k]);
            if (mode == 1) s1 -= off * hsum_i32x8_k(_mm256_madd_epi16(sc16, bs));
            float r = (float)s1 * b->d[i];
            if (mode == 0) {
                const int32_t s2 = hsum_i32x8_k(_mm256_madd_epi16(mn16, bs));
                r = fmaf(-b->dmin[i], (float)s2, r);
            }
            acc[k] = fmaf(r, y[k]->d, acc[k]);
        }
    }
    for (int k = 0; k < count; k++) out[k] = acc[k];
}

CK_AVX2 static void tiled_dot4_avx2(int type, const tiled_row *b, int cols, const uint8_t *x, size_t stride, int count,
                                    float *out) {
    switch (type) {
    case CK_Q2_K:
    case CK_Q4_K:
    case CK_Q5_K:
        tiled_dot4_body(b, cols, x, stride, count, out, 0, 0);
        break;
    case CK_Q3_K:
        tiled_dot4_body(b, cols, x, stride, count, out, 1, 4);
        break;
    case CK_Q6_K:
        tiled_dot4_body(b, cols, x, stride, count, out, 1, 32);
        break;
    default:
        tiled_dot4_body(b, cols, x, stride, count, out, 2, 0);
        break;
    }
}
#endif

// Rows r0..r1 of a tiled-type job for every token.
static void matmul_rows_tiled(const uint8_t *w, size_t wrow, int type, int cols, const uint8_t *xq, size_t xq_stride,
                              int ntok, float *out, int out_stride, int r0, int r1) {
#ifdef CK_X86
    if (ck_simd_level()) {
        for (int rb = r0; rb < r1; rb += CK_TILED_ROWS) {
            const int nr = r1 - rb < CK_TILED_ROWS ? r1 - rb : CK_TILED_ROWS;
            const tiled_row *b[CK_TILED_ROWS];
            for (int j = 0; j < nr; j++) b[j] = tiled_decode(type, w + (size_t)(rb + j) * wrow, cols, j);
            for (int t = 0; t < ntok; t += 4) {
                const int count = ntok - t < 4 ? ntok - t : 4;
                for (int j = 0; j < nr; j++) {
                    float o[4];
                    tiled_dot4_avx2(type, b[j], cols, xq + (size_t)t * xq_stride, xq_stride, count, o);
                    for (int k = 0; k < count; k++) out[(size_t)(t + k) * out_stride + rb + j] = o[k];
                }
            }
        }
        return;
    }
#endif
    for (int r = r0; r < r1; r++) {
        const tiled_row *b = tiled_decode(type, w + (size_t)r * wrow, cols, 0);
        for (int t = 0; t < ntok; t++)
            out[(size_t)t * out_stride + r] = tiled_dot_c(b, cols, (const block_q8_K *)(xq + (size_t)t * xq_stride));
    }
}

// ---------------------------------------------------------------- matrix products

enum { CK_MAX_RUNS = 64 };

typedef struct {
    const ck_matmul_job *jobs;
    int njobs;
    int cols;
    const uint8_t *xq;
    size_t xq_stride;
    int ntok;
    int chunk_rows;
    int total_chunks;
    // Each thread owns a contiguous run of chunks and takes them in order, then helps the others
    // with theirs. Handing out chunks round-robin from one counter made every thread's reads a
    // stride through the weights: two threads decoded slower than one (the prefetchers lose the stream).
    _Alignas(64) struct {
        _Atomic int next;
        int end;
        char pad[56];
    } runs[CK_MAX_RUNS];
    int nruns;
    // For Q8_1 batches: block scales as floats, [group of 4 tokens][block][4] (d and s).
    const float *dy4, *sy4;
} matmul_ctx;

static void matmul_rows(const matmul_ctx *c, const ck_matmul_job *job, int r0, int r1) {
    const size_t wrow = ck_row_bytes(job->type, c->cols);
    const uint8_t *w = job->w;
    int t = 0;
    if (c->ntok >= CK_TILED_MIN_ROWS && tiled_type(job->type)) {
        matmul_rows_tiled(w, wrow, job->type, c->cols, c->xq, c->xq_stride, c->ntok, job->out, job->out_stride, r0, r1);
        return;
    }
    if (c->ntok >= 2 && ck_float_batch_ok(job->type, c->cols, job->rows)) {
        // llamafile_sgemm: tinyBLAS for F32, F16, BF16 weights (activations in the weight's type).
        for (int r = r0; r < r1; r++) {
            for (; t < c->ntok; t += 4) {
                const int count = c->ntok - t < 4 ? c->ntok - t : 4;
                const void *x[4];
                float o[4];
                for (int k = 0; k < count; k++) x[k] = c->xq + (size_t)(t + k) * c->xq_stride;
                ck_vec_dot_float_batch(job->type, c->cols, w + (size_t)r * wrow, x, count, o);
                for (int k = 0; k < count; k++) job->out[(size_t)(t + k) * job->out_stride + r] = o[k];
            }
            t = 0;
        }
        return;
    }
#ifdef CK_X86
    if (ck_simd_level() && (job->type == CK_Q4_0 || job->type == CK_Q5_0 || job->type == CK_Q8_0 ||
                            (job->type == CK_IQ4_NL && c->ntok >= 2))) {
        const int vnni = ck_simd_level() >= 2;
        void (*tok4)(int, const uint8_t *, const uint8_t *, size_t, float *) =
            job->type == CK_Q4_0   ? (vnni ? q4_0_4tok_vnni : q4_0_4tok)
            : job->type == CK_Q5_0 ? (vnni ? q5_0_4tok_vnni : q5_0_4tok)
            : job->type == CK_Q8_0 ? (vnni ? q8_0_4tok_vnni : q8_0_4tok)
                                   : (vnni ? iq4_nl_4tok_vnni : iq4_nl_4tok);
        void (*tile)(int, const uint8_t *, size_t, const uint8_t *, size_t, float *) =
            !vnni                  ? NULL
            : job->type == CK_Q4_0 ? q4_0_4x4_vnni
            : job->type == CK_Q5_0 ? q5_0_4x4_vnni
            : job->type == CK_Q8_0 ? q8_0_4x4_vnni
                                   : iq4_nl_4x4_vnni;
        for (; t + 4 <= c->ntok; t += 4) {
            const uint8_t *x = c->xq + (size_t)t * c->xq_stride;
            int r = r0;
            for (; tile && r + 4 <= r1; r += 4) {
                float o[16];
                tile(c->cols, w + (size_t)r * wrow, wrow, x, c->xq_stride, o);
                for (int k = 0; k < 4; k++) memcpy(job->out + (size_t)(t + k) * job->out_stride + r, o + 4 * k, 4 * sizeof(float));
            }
            for (; r < r1; r++) {
                float o[4];
                tok4(c->cols, w + (size_t)r * wrow, x, c->xq_stride, o);
                for (int k = 0; k < 4; k++) job->out[(size_t)(t + k) * job->out_stride + r] = o[k];
            }
        }
        if (job->type != CK_IQ4_NL) {
            // Remaining tokens one at a time, four rows per pass.
            void (*rows4)(int, const uint8_t *, size_t, const block_q8_0 *, float *) =
                job->type == CK_Q4_0   ? (vnni ? q4_0_4rows_vnni : q4_0_4rows)
                : job->type == CK_Q5_0 ? (vnni ? q5_0_4rows_vnni : q5_0_4rows)
                                       : (vnni ? q8_0_4rows_vnni : q8_0_4rows);
            for (; t < c->ntok; t++) {
                const uint8_t *x = c->xq + (size_t)t * c->xq_stride;
                float *out = job->out + (size_t)t * job->out_stride;
                int r = r0;
                for (; r + 4 <= r1; r += 4) rows4(c->cols, w + (size_t)r * wrow, wrow, (const block_q8_0 *)x, out + r);
                for (; r < r1; r++) out[r] = ck_vec_dot(job->type, c->cols, w + (size_t)r * wrow, x);
            }
            return;
        }
    }
#endif
    if (c->ntok >= 2 && job->type == CK_IQ4_NL) {
        // llamafile_sgemm (GGML_USE_LLAMAFILE) takes every batch of 2+ rows: tinyBLAS_Q0_AVX.
        for (; t < c->ntok; t++) {
            const uint8_t *x = c->xq + (size_t)t * c->xq_stride;
            float *out = job->out + (size_t)t * job->out_stride;
            for (int r = r0; r < r1; r++) out[r] = ck_vec_dot_iq4_nl_batch(c->cols, w + (size_t)r * wrow, x);
        }
        return;
    }
#ifdef CK_X86
    if (job->type == CK_Q4_1 && ck_simd_level() && c->dy4) {
        const int nb = c->cols / 32;
        for (; t + 4 <= c->ntok; t += 4) {
            const float *dy4 = c->dy4 + (size_t)(t / 4) * nb * 4, *sy4 = c->sy4 + (size_t)(t / 4) * nb * 4;
            for (int r = r0; r < r1; r++) {
                float o[4];
                (ck_simd_level() >= 2 ? dot4s_q4_1_q8_1_vnni : dot4s_q4_1_q8_1_avx2)(c->cols, (const block_q4_1 *)(w + (size_t)r * wrow),
                                     (const block_q8_1 *)(c->xq + (size_t)t * c->xq_stride), c->xq_stride, dy4, sy4, o);
                for (int k = 0; k < 4; k++) job->out[(size_t)(t + k) * job->out_stride + r] = o[k];
            }
        }
    }
    if ((job->type == CK_Q4_1 || job->type == CK_Q8_0) && ck_simd_level()) {
        // Remaining tokens one at a time, four rows per pass.
        for (; t < c->ntok; t++) {
            const uint8_t *x = c->xq + (size_t)t * c->xq_stride;
            float *out = job->out + (size_t)t * job->out_stride;
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                if (job->type == CK_Q4_1) {
                    (ck_simd_level() >= 2 ? dot_q4_1_q8_1_4rows_vnni : dot_q4_1_q8_1_4rows_avx2)(c->cols, w + (size_t)r * wrow, wrow, (const block_q8_1 *)x, out + r);
                } else {
                    dot_q8_0_q8_0_4rows_avx2(c->cols, w + (size_t)r * wrow, wrow, (const block_q8_0 *)x, out + r);
                }
            }
            for (; r < r1; r++) out[r] = ck_vec_dot(job->type, c->cols, w + (size_t)r * wrow, x);
        }
    }
#endif
    if (t >= c->ntok) return;
    // Every other type: its one-row kernel from the table, at the current SIMD level.
    const ck_type_traits_t *traits = ck_type_traits(job->type);
    if (!traits || !traits->vec_dot) ck_no_kernel("dot product", job->type);
    float (*dot)(int, const void *, const void *) =
        traits->vec_dot_avx2 && ck_simd_level() ? traits->vec_dot_avx2 : traits->vec_dot;
    for (; t < c->ntok; t++) {
        const uint8_t *x = c->xq + (size_t)t * c->xq_stride;
        float *out = job->out + (size_t)t * job->out_stride;
        for (int r = r0; r < r1; r++) out[r] = dot(c->cols, w + (size_t)r * wrow, x);
    }
}

// The next chunk for thread ith: from its own run, else from the first other run with work left; -1 when none.
static int next_chunk(matmul_ctx *c, int ith) {
    for (int k = 0; k < c->nruns; k++) {
        const int r = (ith + k) % c->nruns;
        if (atomic_load_explicit(&c->runs[r].next, memory_order_relaxed) >= c->runs[r].end) continue;
        const int chunk = atomic_fetch_add_explicit(&c->runs[r].next, 1, memory_order_relaxed);
        if (chunk < c->runs[r].end) return chunk;
    }
    return -1;
}

static void matmul_task(void *p, int ith, int nth) {
    (void)nth;
    matmul_ctx *c = p;
    for (;;) {
        const int chunk = next_chunk(c, ith);
        if (chunk < 0) break;
        // Chunks are numbered across the jobs in order.
        int index = chunk;
        for (int j = 0; j < c->njobs; j++) {
            const int chunks = (c->jobs[j].rows + c->chunk_rows - 1) / c->chunk_rows;
            if (index < chunks) {
                const int r0 = index * c->chunk_rows;
                const int r1 = r0 + c->chunk_rows < c->jobs[j].rows ? r0 + c->chunk_rows : c->jobs[j].rows;
                matmul_rows(c, &c->jobs[j], r0, r1);
                break;
            }
            index -= chunks;
        }
    }
}

void ck_matmul(ck_pool *pool, const ck_matmul_job *jobs, int njobs, int cols,
               const void *xq, size_t xq_stride, int ntok) {
    pthread_once(&table_once, init_table);
    matmul_ctx c = {.jobs = jobs, .njobs = njobs, .cols = cols, .xq = xq, .xq_stride = xq_stride, .ntok = ntok};
    // Small chunks balance the threads; for batches each chunk already holds much work.
    c.chunk_rows = ntok >= 16 ? 16 : 32;
    int total = 0;
    for (int j = 0; j < njobs; j++) total += (jobs[j].rows + c.chunk_rows - 1) / c.chunk_rows;
    c.total_chunks = total;
    const int threads = ck_pool_threads(pool);
    c.nruns = threads < CK_MAX_RUNS ? threads : CK_MAX_RUNS;
    if (c.nruns > total) c.nruns = total > 0 ? total : 1;
    for (int i = 0; i < c.nruns; i++) {
        atomic_init(&c.runs[i].next, (int)((long)i * total / c.nruns));
        c.runs[i].end = (int)((long)(i + 1) * total / c.nruns);
    }
    // Batches of Q4_1 products: convert the activations' block scales to float once, grouped by
    // four tokens, in a buffer that belongs to the calling thread and only grows.
    static _Thread_local float *scales = NULL;
    static _Thread_local size_t scales_capacity = 0;
    int all_q4_1 = 1;
    for (int j = 0; j < njobs; j++) all_q4_1 &= jobs[j].type == CK_Q4_1;
    if (all_q4_1 && ntok >= 4 && ck_simd_level()) {
        const int nb = cols / 32, groups = ntok / 4;
        const size_t need = (size_t)groups * nb * 4 * 2;
        if (need > scales_capacity) {
            free(scales);
            scales = malloc(need * sizeof(float));
            scales_capacity = scales ? need : 0;
        }
        if (scales) {
            float *dy4 = scales, *sy4 = scales + need / 2;
            for (int g = 0; g < groups; g++) {
                for (int k = 0; k < 4; k++) {
                    const block_q8_1 *y = (const block_q8_1 *)((const uint8_t *)xq + (size_t)(4 * g + k) * xq_stride);
                    for (int b = 0; b < nb; b++) {
                        dy4[((size_t)g * nb + b) * 4 + k] = h2f(y[b].d);
                        sy4[((size_t)g * nb + b) * 4 + k] = h2f(y[b].s);
                    }
                }
            }
            c.dy4 = dy4;
            c.sy4 = sy4;
        }
    }
    ck_pool_run(pool, matmul_task, &c);
}

