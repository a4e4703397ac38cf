// Quantised dot products and their activation quantisation, rounding the way llama.cpp's CPU
// backend does (so that greedy continuations agree token for token), with an AVX2 path chosen
// at run time and a portable C path that defines the semantics.
#include "ckernels.h"
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


// ---------------------------------------------------------------- block layouts (ggml)

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;            // x = d * (q - 8)
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;         // x = d * q + m
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;             // x = d * q
typedef struct { uint16_t d, s; int8_t qs[32]; } block_q8_1;          // s = d * sum(q)
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_K;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");

// ---------------------------------------------------------------- CPU features

static int simd_level = -1;
static pthread_once_t simd_once = PTHREAD_ONCE_INIT;

static void detect_simd(void) {
    int level = 0;
#ifdef CK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) level = 1;
#endif
    const char *env = getenv("CK_SIMD");
    if (env && env[0] == '0') level = 0;
    simd_level = level;
}

int ck_simd_level(void) {
    pthread_once(&simd_once, detect_simd);
    return simd_level;
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

// ---------------------------------------------------------------- sizes

int ck_vec_dot_type(int type) {
    switch (type) {
    case CK_Q4_0: case CK_Q8_0: return CK_Q8_0;
    case CK_Q4_1: return CK_Q8_1;
    default: return CK_F32;
    }
}

size_t ck_row_bytes(int type, int n) {
    switch (type) {
    case CK_F32: return (size_t)n * 4;
    case CK_F16: case CK_BF16: return (size_t)n * 2;
    case CK_Q4_0: return (size_t)(n / 32) * sizeof(block_q4_0);
    case CK_Q4_1: return (size_t)(n / 32) * sizeof(block_q4_1);
    case CK_Q8_0: return (size_t)(n / 32) * sizeof(block_q8_0);
    case CK_Q8_1: return (size_t)(n / 32) * sizeof(block_q8_1);
    case CK_Q4_K: return (size_t)(n / 256) * sizeof(block_q4_K);
    case CK_Q6_K: return (size_t)(n / 256) * sizeof(block_q6_K);
    default: return 0;
    }
}

// ---------------------------------------------------------------- activation quantisation
// llama.cpp's x86 path scales by 127/amax and rounds to nearest even; we do the same.

static void quantize_q8_0_c(const float *x, block_q8_0 *y, int n) {
    for (int i = 0; i < n / 32; i++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[i * 32 + j]));
        const float d = amax / 127.f;
        const float id = amax != 0.f ? 127.f / amax : 0.f;
        y[i].d = ck_fp32_to_fp16(d);
        for (int j = 0; j < 32; j++) y[i].qs[j] = (int8_t)nearbyintf(x[i * 32 + j] * id);
    }
}

static void quantize_q8_1_c(const float *x, block_q8_1 *y, int n) {
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
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    i0 = _mm256_permutevar8x32_epi32(i0, perm);
    _mm256_storeu_si256((__m256i *)qs, i0);
    return d;
}

CK_AVX2 static void quantize_q8_0_avx2(const float *x, block_q8_0 *y, int n) {
    for (int i = 0; i < n / 32; i++) {
        float d = quantize_block_avx2(x + i * 32, y[i].qs, NULL);
        y[i].d = (uint16_t)_cvtss_sh(d, 0);
    }
}

CK_AVX2 static void quantize_q8_1_avx2(const float *x, block_q8_1 *y, int n) {
    for (int i = 0; i < n / 32; i++) {
        int sum;
        float d = quantize_block_avx2(x + i * 32, y[i].qs, &sum);
        y[i].d = (uint16_t)_cvtss_sh(d, 0);
        y[i].s = (uint16_t)_cvtss_sh(d * (float)sum, 0);
    }
}
#endif

void ck_quantize_row(int vdt, const float *x, void *y, int n) {
    pthread_once(&table_once, init_table);
    switch (vdt) {
    case CK_Q8_0:
#ifdef CK_X86
        if (ck_simd_level()) { quantize_q8_0_avx2(x, y, n); return; }
#endif
        quantize_q8_0_c(x, y, n);
        return;
    case CK_Q8_1:
#ifdef CK_X86
        if (ck_simd_level()) { quantize_q8_1_avx2(x, y, n); return; }
#endif
        quantize_q8_1_c(x, y, n);
        return;
    default:
        memcpy(y, x, (size_t)n * sizeof(float));
    }
}

// ---------------------------------------------------------------- dequantisation

static void dequant_q4_0(const block_q4_0 *x, float *y, int n) {
    for (int i = 0; i < n / 32; i++) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[i * 32 + j] = d * (float)((x[i].qs[j] & 15) - 8);
            y[i * 32 + j + 16] = d * (float)((x[i].qs[j] >> 4) - 8);
        }
    }
}

static void dequant_q4_1(const block_q4_1 *x, float *y, int n) {
    for (int i = 0; i < n / 32; i++) {
        const float d = h2f(x[i].d), m = h2f(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[i * 32 + j] = d * (float)(x[i].qs[j] & 15) + m;
            y[i * 32 + j + 16] = d * (float)(x[i].qs[j] >> 4) + m;
        }
    }
}

static void dequant_q8_0(const block_q8_0 *x, float *y, int n) {
    for (int i = 0; i < n / 32; i++) {
        const float d = h2f(x[i].d);
        for (int j = 0; j < 32; j++) y[i * 32 + j] = d * (float)x[i].qs[j];
    }
}

// The 12 scale bytes pack eight 6-bit scales and eight 6-bit mins.
static inline void q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void dequant_q4_K(const block_q4_K *x, float *y, int n) {
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0;
        for (int j = 0; j < 256; j += 64) {
            uint8_t sc, m;
            q4k_scale_min(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            q4k_scale_min(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

static void dequant_q6_K(const block_q6_K *x, float *y, int n) {
    for (int i = 0; i < n / 256; i++) {
        const float d = h2f(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

void ck_dequantize_row(int type, const void *x, float *y, int n) {
    pthread_once(&table_once, init_table);
    switch (type) {
    case CK_F32: memcpy(y, x, (size_t)n * 4); break;
    case CK_F16: {
        const uint16_t *h = x;
        for (int i = 0; i < n; i++) y[i] = h2f(h[i]);
        break;
    }
    case CK_BF16: {
        const uint16_t *h = x;
        for (int i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)h[i] << 16;
            memcpy(&y[i], &bits, 4);
        }
        break;
    }
    case CK_Q4_0: dequant_q4_0(x, y, n); break;
    case CK_Q4_1: dequant_q4_1(x, y, n); break;
    case CK_Q8_0: dequant_q8_0(x, y, n); break;
    case CK_Q4_K: dequant_q4_K(x, y, n); break;
    case CK_Q6_K: dequant_q6_K(x, y, n); break;
    default: memset(y, 0, (size_t)n * 4); break;
    }
}

// ---------------------------------------------------------------- dot products

// The portable dot products reproduce the AVX2 kernels bit for bit: eight lanes, lane k holding
// the integer sum of elements 4k..4k+3 of the block (what maddubs + madd leave there), each lane
// accumulated with its own fma in block order, then the AVX2 horizontal-sum order.
static inline float hsum8_c(const float a[8]) {
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

static float dot_q4_0_q8_0_c(int n, const block_q4_0 *x, const block_q8_0 *y) {
    float acc[8] = {0};
    for (int i = 0; i < n / 32; i++) {
        int8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)((x[i].qs[j] & 15) - 8);
            q[j + 16] = (int8_t)((x[i].qs[j] >> 4) - 8);
        }
        const float dd = h2f(x[i].d) * h2f(y[i].d);
        for (int k = 0; k < 8; k++) {
            int s = 0;
            for (int j = 4 * k; j < 4 * k + 4; j++) s += q[j] * y[i].qs[j];
            acc[k] = fmaf(dd, (float)s, acc[k]);
        }
    }
    return hsum8_c(acc);
}

static float dot_q4_1_q8_1_c(int n, const block_q4_1 *x, const block_q8_1 *y) {
    float acc[8] = {0}, summs = 0;
    for (int i = 0; i < n / 32; i++) {
        uint8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = x[i].qs[j] & 15;
            q[j + 16] = x[i].qs[j] >> 4;
        }
        const float dx = h2f(x[i].d), dy = h2f(y[i].d);
        summs = fmaf(h2f(x[i].m), h2f(y[i].s), summs);
        const float dd = dx * dy;
        for (int k = 0; k < 8; k++) {
            int s = 0;
            for (int j = 4 * k; j < 4 * k + 4; j++) s += q[j] * y[i].qs[j];
            acc[k] = fmaf(dd, (float)s, acc[k]);
        }
    }
    return hsum8_c(acc) + summs;
}

static float dot_q8_0_q8_0_c(int n, const block_q8_0 *x, const block_q8_0 *y) {
    float acc[8] = {0};
    for (int i = 0; i < n / 32; i++) {
        const float dd = h2f(x[i].d) * h2f(y[i].d);
        for (int k = 0; k < 8; k++) {
            int s = 0;
            for (int j = 4 * k; j < 4 * k + 4; j++) s += x[i].qs[j] * y[i].qs[j];
            acc[k] = fmaf(dd, (float)s, acc[k]);
        }
    }
    return hsum8_c(acc);
}

// Types without an integer path: dequantise a block at a time and take a float dot product.
static float dot_dequant_f32(int type, int n, const uint8_t *w, const float *x) {
    const int block = (type == CK_Q4_K || type == CK_Q6_K) ? 256 : (type == CK_F32 || type == CK_F16 || type == CK_BF16) ? 256 : 32;
    const size_t block_bytes = ck_row_bytes(type, block);
    float tmp[256];
    double sum = 0;
    for (int i = 0; i + block <= n; i += block) {
        ck_dequantize_row(type, w + (size_t)(i / block) * block_bytes, tmp, block);
        float s = 0;
        for (int j = 0; j < block; j++) s += tmp[j] * x[i + j];
        sum += s;
    }
    const int rest = n % block; // float types only: rows need not be multiples of 256
    if (rest) {
        const int start = n - rest;
        ck_dequantize_row(type, w + ck_row_bytes(type, start), tmp, rest);
        for (int j = 0; j < rest; j++) sum += tmp[j] * x[start + j];
    }
    return (float)sum;
}

#ifdef CK_X86
CK_AVX2 static inline __m256i nibbles_32(const uint8_t *qs) {
    const __m128i tmp = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F)); // low nibbles: values 0..15, high: 16..31
}

CK_AVX2 static inline __m256 dot_u8_i8_to_f32(__m256i u, __m256i s) {
    const __m256i p16 = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

CK_AVX2 static inline __m256 dot_i8_i8_to_f32(__m256i a, __m256i b) {
    // maddubs needs an unsigned operand: |a| * (b with a's sign).
    return dot_u8_i8_to_f32(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// Two adjacent halves (d and m of a Q4_1 block, d and s of a Q8_1 block) as floats in lanes 0, 1.
// One 32-bit load and one conversion: converting each half on its own made the compiler merge
// into a live register and serialise the loop on it.
CK_AVX2 static inline __m128 two_halves(const uint16_t *p) {
    int32_t bits;
    memcpy(&bits, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
}

// Per block: acc = fma(d_x*d_y, sum(q_x*q_y), acc) and summs = fma(m_x, s_y, summs), in block
// order, exactly as llama.cpp's AVX2 kernel; the result is hsum(acc) + summs.
CK_AVX2 static float dot_q4_1_q8_1_avx2(int n, const block_q4_1 *x, const block_q8_1 *y) {
    __m256 acc = _mm256_setzero_ps();
    __m128 summs = _mm_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m128 xdm = two_halves(&x[i].d), yds = two_halves(&y[i].d);
        summs = _mm_fmadd_ps(xdm, yds, summs); // lane 1: m * s
        const __m256 dd = _mm256_broadcastss_ps(_mm_mul_ss(xdm, yds));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, dot_u8_i8_to_f32(nibbles_32(x[i].qs), qy), acc);
    }
    return hsum_f32x8(acc) + _mm_cvtss_f32(_mm_movehdup_ps(summs));
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

CK_AVX2 static float dot_q4_0_q8_0_avx2(int n, const block_q4_0 *x, const block_q8_0 *y) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m256 dd = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        const __m256i qx = _mm256_sub_epi8(nibbles_32(x[i].qs), _mm256_set1_epi8(8));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, dot_i8_i8_to_f32(qx, qy), acc);
    }
    return hsum_f32x8(acc);
}

CK_AVX2 static float dot_q8_0_q8_0_avx2(int n, const block_q8_0 *x, const block_q8_0 *y) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / 32; i++) {
        const __m256 dd = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        const __m256i qx = _mm256_loadu_si256((const __m256i *)x[i].qs);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        acc = _mm256_fmadd_ps(dd, dot_i8_i8_to_f32(qx, qy), acc);
    }
    return hsum_f32x8(acc);
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
#endif

float ck_vec_dot(int type, int n, const void *w, const void *xq) {
    pthread_once(&table_once, init_table);
#ifdef CK_X86
    if (ck_simd_level()) {
        switch (type) {
        case CK_Q4_1: return dot_q4_1_q8_1_avx2(n, w, xq);
        case CK_Q4_0: return dot_q4_0_q8_0_avx2(n, w, xq);
        case CK_Q8_0: return dot_q8_0_q8_0_avx2(n, w, xq);
        default: break;
        }
    }
#endif
    switch (type) {
    case CK_Q4_1: return dot_q4_1_q8_1_c(n, w, xq);
    case CK_Q4_0: return dot_q4_0_q8_0_c(n, w, xq);
    case CK_Q8_0: return dot_q8_0_q8_0_c(n, w, xq);
    default: return dot_dequant_f32(type, n, w, xq);
    }
}

// ---------------------------------------------------------------- matrix products

typedef struct {
    const ck_matmul_job *jobs;
    int njobs;
    int cols;
    const uint8_t *xq;
    size_t xq_stride;
    int ntok;
    int chunk_rows;
    int total_chunks;
    _Atomic int next_chunk;
    // For Q8_1 batches: block scales as floats, [group of 4 tokens][block][4] (d and s).
    const float *dy4, *sy4;
} matmul_ctx;

static void matmul_rows(const matmul_ctx *c, const ck_matmul_job *job, int r0, int r1) {
    const size_t wrow = ck_row_bytes(job->type, c->cols);
    const uint8_t *w = job->w;
    int t = 0;
#ifdef CK_X86
    if (job->type == CK_Q4_1 && ck_simd_level() && c->dy4) {
        const int nb = c->cols / 32;
        for (; t + 4 <= c->ntok; t += 4) {
            const float *dy4 = c->dy4 + (size_t)(t / 4) * nb * 4, *sy4 = c->sy4 + (size_t)(t / 4) * nb * 4;
            for (int r = r0; r < r1; r++) {
                float o[4];
                dot4s_q4_1_q8_1_avx2(c->cols, (const block_q4_1 *)(w + (size_t)r * wrow),
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
                    dot_q4_1_q8_1_4rows_avx2(c->cols, w + (size_t)r * wrow, wrow, (const block_q8_1 *)x, out + r);
                } else {
                    dot_q8_0_q8_0_4rows_avx2(c->cols, w + (size_t)r * wrow, wrow, (const block_q8_0 *)x, out + r);
                }
            }
            for (; r < r1; r++) out[r] = ck_vec_dot(job->type, c->cols, w + (size_t)r * wrow, x);
        }
    }
#endif
    for (; t < c->ntok; t++) {
        const uint8_t *x = c->xq + (size_t)t * c->xq_stride;
        float *out = job->out + (size_t)t * job->out_stride;
        for (int r = r0; r < r1; r++) out[r] = ck_vec_dot(job->type, c->cols, w + (size_t)r * wrow, x);
    }
}

static void matmul_task(void *p, int ith, int nth) {
    (void)ith;
    (void)nth;
    matmul_ctx *c = p;
    for (;;) {
        int chunk = atomic_fetch_add_explicit(&c->next_chunk, 1, memory_order_relaxed);
        if (chunk >= c->total_chunks) break;
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
    atomic_init(&c.next_chunk, 0);
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

