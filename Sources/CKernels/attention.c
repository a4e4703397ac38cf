// Attention over the f16 KV cache and the element-wise activations (SwiGLU), rounding the way
// llama.cpp's CPU backend does on an AVX-512 machine (gcc, -march=native, flash attention off), so
// that greedy decoding agrees token for token with references made there. Every operation whose
// float result depends on the SIMD width is emulated here lane for lane, with AVX2 or with scalar
// code; both paths give bit-identical results.
//
// What is emulated (llama.cpp's non-flash-attention graph):
//   * KQ = K·Q with Q rounded to f16. With two or more tokens in the batch llama.cpp uses llamafile's
//     tinyBLAS (16-lane fma accumulators over the head dimension, then _mm512_reduce_add_ps); with
//     one token it uses ggml_vec_dot_f16 (four 16-lane accumulators over 64-element steps, summed
//     pairwise, then _mm512_reduce_add_ps).
//   * soft_max: exp by ggml_v_expf's AVX-512 variant (polynomial + vscalefps), summed per 16 cells
//     with _mm512_reduce_add_ps into a double, then multiplied by (float)(1/sum).
//   * KQV = V^T·P with P rounded to f16 and the KV length padded (to 256): the same two kernels, now
//     accumulating over cells (lane = cell mod 16, or cell mod 64 for the one-token kernel). Cells
//     past the causal limit carry probability 0 and add nothing, so they are never touched.
//   * SwiGLU: x / (1 + v_expf(0 - x)) * up, per 16 elements.
//   * RoPE (not width-dependent, but gcc contracts it): x0*c - x1*s and x0*s + x1*c, one fma each.
// gcc's _mm512_reduce_add_ps adds the halves (a[i] + a[i+8]), then the 128-bit halves, then
// {0,1} + {2,3}, then [0] + [1] — the same tree as hsum_f32x8 applied to lo + hi.
#include "ckernels.h"
#include "internal.h"
#include "cklayers.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// No silent a*b+c fusion: every fused multiply-add below is written out.
#pragma STDC FP_CONTRACT OFF

// ---------------------------------------------------------------- AVX-512 expf, emulated

static inline float pow2i(int e) { // 2^e for -126 <= e <= 127
    union { uint32_t u; float f; } v = {(uint32_t)(e + 127) << 23};
    return v.f;
}

/// vscalefps for integral n with |n| <= 192: j * 2^n, rounded once.
static inline float scalef_int(float j, int e) {
    if (e >= -126 && e <= 127) return j * pow2i(e);
    if (e < -126) return (j * pow2i(e + 100)) * pow2i(-100); // first product exact, second rounds
    return (j * pow2i(e - 100)) * pow2i(100);                  // overflows to inf as scalef does
}

/// ggml_v_expf (AVX-512F/DQ variant), one lane.
float ck_expf_avx512(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                              fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (n != n) return n;
    if (fabsf(n) > 192) return n <= 0 ? 0.0f : INFINITY;
    return scalef_int(j, (int)n);
}

// ---------------------------------------------------------------- which llama.cpp build

// llama.cpp's CPU backend is compiled for the machine it runs on, and its AVX-512 and AVX2
// builds round differently: ggml_v_expf has an AVX-512 form (vscalefps) and an AVX2 form
// (k + k*j), softmax sums and tinyBLAS accumulate over 16 or 8 lanes, ggml_vec_dot_f16 steps
// over 64 or 32 values and reduces by _mm512_reduce_add_ps or two hadds. Greedy decoding can
// turn on one rounding (a Q8_1 activation that lands the other side of a half), so we follow one
// build: AVX-512 by default (the committed references were made there), AVX2 by
// CK_REFERENCE_ISA=avx2 in the environment (auto: the one llama.cpp would build here) or
// ck_set_reference_isa.
static int reference_isa = -1;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

static void detect_reference_isa(void) {
    const char *env = getenv("CK_REFERENCE_ISA");
    reference_isa = CK_REFERENCE_AVX512;
    if (env && strcmp(env, "avx2") == 0) reference_isa = CK_REFERENCE_AVX2;
#ifdef CK_X86
    // auto: the build llama.cpp compiles natively on this machine (AVX-512 needs F and DQ).
    if (env && strcmp(env, "auto") == 0) {
        __builtin_cpu_init();
        reference_isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? CK_REFERENCE_AVX512 : CK_REFERENCE_AVX2;
    }
#endif
}

int ck_reference_isa(void) {
    pthread_once(&isa_once, detect_reference_isa);
    return reference_isa;
}

int ck_set_reference_isa(int isa) {
    pthread_once(&isa_once, detect_reference_isa);
    const int previous = reference_isa;
    reference_isa = isa == CK_REFERENCE_AVX2 ? CK_REFERENCE_AVX2 : CK_REFERENCE_AVX512;
    return previous;
}

/// ggml_v_expf (AVX2+FMA variant), one lane: 2^n (1 + j) as fma(k, j, k), and for |n| > 126
/// (s2 + s2 j) s1 with the exponent split in two, s1^2 past 192.
float ck_expf_avx2(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    uint32_t zb;
    memcpy(&zb, &z, 4);
    const uint32_t e = zb << 23;
    const uint32_t kb = e + 0x3f800000u;
    float k;
    memcpy(&k, &kb, 4);
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, 0x1.ffffecp-1f * b);
    if (!(fabsf(n) > 126)) return fmaf(k, j, k);
    const uint32_t g = n <= 0 ? 0x82000000u : 0u;
    const uint32_t s1b = g + 0x7f000000u, s2b = e - g;
    float s1, s2;
    memcpy(&s1, &s1b, 4);
    memcpy(&s2, &s2b, 4);
    if (fabsf(n) > 192) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

/// ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
static inline float hsum8_c(const float *a) {
    const float s0 = a[0] + a[4], s1 = a[1] + a[5], s2 = a[2] + a[6], s3 = a[3] + a[7];
    return (s0 + s2) + (s1 + s3);
}

/// gcc's _mm512_reduce_add_ps on a[0..15].
static inline float reduce16_c(const float *a) {
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = a[i] + a[i + 8];
    return hsum8_c(t);
}

/// GGML_F32x8_REDUCE's last step: t = lo + hi, then two _mm_hadd_ps: (t0+t1) + (t2+t3).
static inline float hadd8_c(const float *a) {
    const float t0 = a[0] + a[4], t1 = a[1] + a[5], t2 = a[2] + a[6], t3 = a[3] + a[7];
    return (t0 + t1) + (t2 + t3);
}

/// tinyBLAS's hsum of its W-lane accumulator (W = 16: _mm512_reduce_add_ps; 8: hsum of __m256).
static inline float hsumW_c(const float *a, int W) { return W == 16 ? reduce16_c(a) : hsum8_c(a); }

#ifdef CK_X86
CK_AVX2 static inline float reduce16_avx2(__m256 lo, __m256 hi) {
    return hsum_f32x8(_mm256_add_ps(lo, hi));
}

CK_AVX2 static inline __m256 expf_avx512_avx2(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    // Fast path: every 2^n is a normal float, so j * 2^n rounds once, as vscalefps does.
    const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 ok = _mm256_cmp_ps(an, _mm256_set1_ps(126), _CMP_LE_OQ);
    if (_mm256_movemask_ps(ok) == 0xff) {
        const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
        return _mm256_mul_ps(j, _mm256_castsi256_ps(e));
    }
    float xs[8], ys[8];
    _mm256_storeu_ps(xs, x);
    for (int i = 0; i < 8; i++) ys[i] = ck_expf_avx512(xs[i]);
    return _mm256_loadu_ps(ys);
}
#endif

// ---------------------------------------------------------------- attention

typedef struct {
    const float *q;
    const uint16_t *k, *v;
    float *out;
    int ntok, pos0, n_head, n_kv, hd;
    float scale;
    float softcap;   // 0: none; else s = tanh(s / softcap) * softcap before the scale
    int window;      // 0: none; else position p sees keys p-window+1 .. p
    int ring;        // cells in the cache: position j lives in cell j % ring
    float *scratch;
} attn_ctx;

// KQ for a batch of >= 2 tokens: tinyBLAS, 16 lanes, lane i sums elements i, i+16, ... by fma.
static float dot_tb16_c(const uint16_t *k, const uint16_t *q, int n) {
    float acc[16] = {0};
    for (int l = 0; l < n; l += 16)
        for (int i = 0; i < 16; i++) acc[i] = fmaf(h2f(k[l + i]), h2f(q[l + i]), acc[i]);
    return reduce16_c(acc);
}

// KQ for one token: ggml_vec_dot_f16 with 4 x 16 lanes over 64-element steps, leftovers in double.
static float dot_vec_f16_c(const uint16_t *k, const uint16_t *q, int n) {
    const int np = n & ~63;
    float acc[64] = {0};
    for (int i = 0; i < np; i += 64)
        for (int e = 0; e < 64; e++) acc[e] = fmaf(h2f(k[i + e]), h2f(q[i + e]), acc[e]);
    float c[16];
    for (int i = 0; i < 16; i++) c[i] = (acc[i] + acc[32 + i]) + (acc[16 + i] + acc[48 + i]);
    double s = np ? reduce16_c(c) : 0.0;
    for (int i = np; i < n; i++) s += (double)(h2f(k[i]) * h2f(q[i]));
    return (float)s;
}

#ifdef CK_X86
CK_AVX2 static inline __m256 ld8h(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

CK_AVX2 static float dot_tb16_avx2(const uint16_t *k, const uint16_t *q, int n) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int l = 0; l < n; l += 16) {
        lo = _mm256_fmadd_ps(ld8h(k + l), ld8h(q + l), lo);
        hi = _mm256_fmadd_ps(ld8h(k + l + 8), ld8h(q + l + 8), hi);
    }
    return reduce16_avx2(lo, hi);
}

CK_AVX2 static float dot_vec_f16_avx2(const uint16_t *k, const uint16_t *q, int n) {
    const int np = n & ~63;
    __m256 a[8];
    for (int r = 0; r < 8; r++) a[r] = _mm256_setzero_ps();
    for (int i = 0; i < np; i += 64)
        for (int r = 0; r < 8; r++) a[r] = _mm256_fmadd_ps(ld8h(k + i + 8 * r), ld8h(q + i + 8 * r), a[r]);
    // sum[0] += sum[2]; sum[1] += sum[3]; sum[0] += sum[1] (each sum = two 8-lane halves)
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6]));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7]));
    double s = np ? reduce16_avx2(lo, hi) : 0.0;
    for (int i = np; i < n; i++) s += (double)(_cvtsh_ss(k[i]) * _cvtsh_ss(q[i]));
    return (float)s;
}

// e[j] = v_expf(s[j] - max), j < len.
CK_AVX2 static void exp_shift_avx2(float *s, int len, float max) {
    const __m256 vm = _mm256_set1_ps(max);
    int j = 0;
    for (; j + 8 <= len; j += 8) _mm256_storeu_ps(s + j, expf_avx512_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm)));
    for (; j < len; j++) s[j] = ck_expf_avx512(s[j] - max);
}

// acc[lane][0..hd) += p * v[0..hd), by fma.
CK_AVX2 static void axpy_fma_avx2(float *acc, float p, const uint16_t *v, int hd) {
    const __m256 vp = _mm256_set1_ps(p);
    int d = 0;
    for (; d + 8 <= hd; d += 8) _mm256_storeu_ps(acc + d, _mm256_fmadd_ps(vp, ld8h(v + d), _mm256_loadu_ps(acc + d)));
    for (; d < hd; d++) acc[d] = fmaf(p, _cvtsh_ss(v[d]), acc[d]);
}

// out[d] = reduce16 over lanes c[i][d] (i < 16), with c[i] = acc[i] (L = 16) or
// (acc[i] + acc[32+i]) + (acc[16+i] + acc[48+i]) (L = 64).
CK_AVX2 static void lanes_reduce_avx2(const float *acc, int L, int hd, float *out) {
    int d = 0;
    for (; d + 8 <= hd; d += 8) {
        __m256 c[16];
        for (int i = 0; i < 16; i++) {
            if (L == 64)
                c[i] = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(acc + (size_t)i * hd + d), _mm256_loadu_ps(acc + (size_t)(32 + i) * hd + d)),
                                     _mm256_add_ps(_mm256_loadu_ps(acc + (size_t)(16 + i) * hd + d), _mm256_loadu_ps(acc + (size_t)(48 + i) * hd + d)));
            else
                c[i] = _mm256_loadu_ps(acc + (size_t)i * hd + d);
        }
        for (int i = 0; i < 8; i++) c[i] = _mm256_add_ps(c[i], c[i + 8]);
        for (int i = 0; i < 4; i++) c[i] = _mm256_add_ps(c[i], c[i + 4]);
        _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_add_ps(c[0], c[2]), _mm256_add_ps(c[1], c[3])));
    }
    for (; d < hd; d++) {
        float c[16];
        for (int i = 0; i < 16; i++)
            c[i] = L == 64 ? (acc[(size_t)i * hd + d] + acc[(size_t)(32 + i) * hd + d]) + (acc[(size_t)(16 + i) * hd + d] + acc[(size_t)(48 + i) * hd + d])
                           : acc[(size_t)i * hd + d];
        out[d] = reduce16_c(c);
    }
}
#endif

static void lanes_reduce_c(const float *acc, int L, int hd, float *out) {
    for (int d = 0; d < hd; d++) {
        float c[16];
        for (int i = 0; i < 16; i++)
            c[i] = L == 64 ? (acc[(size_t)i * hd + d] + acc[(size_t)(32 + i) * hd + d]) + (acc[(size_t)(16 + i) * hd + d] + acc[(size_t)(48 + i) * hd + d])
                           : acc[(size_t)i * hd + d];
        out[d] = reduce16_c(c);
    }
}

// ---- the same attention as llama.cpp's AVX2 build rounds it (portable C; W = 8 lanes)

// KQ, tinyBLAS: W lanes, lane i sums elements i, i+W, ... by fma, then hsum.
static float dot_tb_w_c(const uint16_t *k, const uint16_t *q, int n, int W) {
    float acc[16] = {0};
    for (int l = 0; l < n; l += W)
        for (int i = 0; i < W; i++) acc[i] = fmaf(h2f(k[l + i]), h2f(q[l + i]), acc[i]);
    return hsumW_c(acc, W);
}

// KQ, ggml_vec_dot_f16: 4 x W lanes over 4W-element steps, GGML_F32xW_REDUCE, leftovers in double.
static float dot_vec_f16_w_c(const uint16_t *k, const uint16_t *q, int n, int W) {
    const int step = 4 * W, np = n & ~(step - 1);
    float acc[64] = {0};
    for (int i = 0; i < np; i += step)
        for (int e = 0; e < step; e++) acc[e] = fmaf(h2f(k[i + e]), h2f(q[i + e]), acc[e]);
    float c[16];
    for (int i = 0; i < W; i++) c[i] = (acc[i] + acc[2 * W + i]) + (acc[W + i] + acc[3 * W + i]);
    double s = np ? (W == 16 ? reduce16_c(c) : hadd8_c(c)) : 0.0;
    for (int i = np; i < n; i++) s += (double)(h2f(k[i]) * h2f(q[i]));
    return (float)s;
}

// One (token, head) of attention_task for the AVX2 build.
static void attention_item_avx2ref(const attn_ctx *c, int t, int h, float *scores, float *acc, uint16_t *qh) {
    const int W = 8;
    const int group = c->n_head / c->n_kv, hd = c->hd, kv_stride = c->n_kv * hd, kvh = h / group;
    const int tb_kq = c->ntok >= 2 && hd % W == 0;
    const int tb_kqv = c->ntok >= 2 && hd % 4 == 0;
    const int L = tb_kqv ? W : 4 * W;
    const int len = c->pos0 + t + 1;
    const int lo = c->window > 0 && len > c->window ? len - c->window : 0;
    ck_fp32_to_fp16_row(c->q + (size_t)t * c->n_head * hd + h * hd, qh, hd);
    float maxs = -INFINITY;
    for (int j = lo; j < len; j++) {
        const uint16_t *kj = c->k + (size_t)(j % c->ring) * kv_stride + kvh * hd;
        float s = tb_kq ? dot_tb_w_c(kj, qh, hd, W) : dot_vec_f16_w_c(kj, qh, hd, W);
        if (c->softcap != 0.0f) s = tanhf(s * (1.0f / c->softcap)) * c->softcap;
        s *= c->scale;
        scores[j] = s;
        if (s > maxs) maxs = s;
    }
    for (int j = lo; j < len; j++) scores[j] = ck_expf_avx2(scores[j] - maxs);
    // ggml_vec_soft_max_f32 (AVX2): per 8 cells hsum into a double.
    double sum = 0;
    for (int j0 = lo & ~7; j0 < len; j0 += 8) {
        float g[8];
        for (int i = 0; i < 8; i++) g[i] = j0 + i >= lo && j0 + i < len ? scores[j0 + i] : 0.0f;
        sum += (double)hsum8_c(g);
    }
    const float inv = (float)(1.0 / sum);
    memset(acc, 0, (size_t)L * hd * sizeof(float));
    for (int j = lo; j < len; j++) {
        const float pj = h2f(ck_fp32_to_fp16(scores[j] * inv));
        const uint16_t *vj = c->v + (size_t)(j % c->ring) * kv_stride + kvh * hd;
        float *a = acc + (size_t)(j % L) * hd;
        for (int d = 0; d < hd; d++) a[d] = fmaf(pj, h2f(vj[d]), a[d]);
    }
    float *o = c->out + (size_t)t * c->n_head * hd + h * hd;
    for (int d = 0; d < hd; d++) {
        float cc[16];
        for (int i = 0; i < W; i++)
            cc[i] = L == 4 * W ? (acc[(size_t)i * hd + d] + acc[(size_t)(2 * W + i) * hd + d]) + (acc[(size_t)(W + i) * hd + d] + acc[(size_t)(3 * W + i) * hd + d])
                               : acc[(size_t)i * hd + d];
        o[d] = L == 4 * W ? hadd8_c(cc) : hsum8_c(cc);
    }
}

static void attention_task(void *p, int ith, int nth) {
    const attn_ctx *c = p;
    const int n_ctx = c->pos0 + c->ntok;
    const int group = c->n_head / c->n_kv;
    const int hd = c->hd;
    const int kv_stride = c->n_kv * hd;
    float *scores = c->scratch + (size_t)ith * n_ctx;
    uint16_t qh[256];
    const int simd = ck_simd_level();
    // llama.cpp takes tinyBLAS for a batch of two or more tokens (K·Q needs hd % 16 == 0, V·P
    // needs hd % 4 == 0), ggml_vec_dot_f16 for one token.
    const int tb_kq = c->ntok >= 2 && hd % 16 == 0;
    const int tb_kqv = c->ntok >= 2 && hd % 4 == 0;
    const int L = tb_kqv ? 16 : 64; // lanes the V·P product accumulates cells into
    float acc[64 * hd]; // L lanes x hd
    const int avx2ref = ck_reference_isa() == CK_REFERENCE_AVX2;
    for (int item = ith; item < c->ntok * c->n_head; item += nth) {
        const int t = item / c->n_head, h = item % c->n_head, kvh = h / group;
        if (avx2ref) { attention_item_avx2ref(c, t, h, scores, acc, qh); continue; }
        const int len = c->pos0 + t + 1; // causal: positions 0..pos0+t
        // Sliding window: positions before lo are masked (llama.cpp: masked when p_q - p_k >= window).
        const int lo = c->window > 0 && len > c->window ? len - c->window : 0;
        // llama.cpp multiplies Q by the f16 K cache after rounding Q to f16; so do we.
        ck_fp32_to_fp16_row(c->q + (size_t)t * c->n_head * hd + h * hd, qh, hd);
        float maxs = -INFINITY;
        for (int j = lo; j < len; j++) {
            const uint16_t *kj = c->k + (size_t)(j % c->ring) * kv_stride + kvh * hd;
            float s;
#ifdef CK_X86
            if (simd) s = tb_kq ? dot_tb16_avx2(kj, qh, hd) : dot_vec_f16_avx2(kj, qh, hd);
            else
#endif
                s = tb_kq ? dot_tb16_c(kj, qh, hd) : dot_vec_f16_c(kj, qh, hd);
            // Soft-cap (Gemma 2) as llama.cpp's graph: scale by 1/cap, tanh, scale by cap.
            if (c->softcap != 0.0f) s = tanhf(s * (1.0f / c->softcap)) * c->softcap;
            s *= c->scale;
            scores[j] = s;
            if (s > maxs) maxs = s;
        }
        // soft_max: exponentials, then per 16 cells a reduce_add into a double sum.
#ifdef CK_X86
        if (simd) exp_shift_avx2(scores + lo, len - lo, maxs);
        else
#endif
            for (int j = lo; j < len; j++) scores[j] = ck_expf_avx512(scores[j] - maxs);
        // Masked cells are exactly 0 and keep their places in the groups of 16.
        double sum = 0;
        for (int j0 = lo & ~15; j0 < len; j0 += 16) {
            float g[16];
            for (int i = 0; i < 16; i++) g[i] = j0 + i >= lo && j0 + i < len ? scores[j0 + i] : 0.0f;
            sum += (double)reduce16_c(g);
        }
        const float inv = (float)(1.0 / sum);
        memset(acc, 0, (size_t)L * hd * sizeof(float));
        for (int j = lo; j < len; j++) {
            // The probabilities meet the f16 V cache as f16, as in llama.cpp's KQV product.
            const float pj = h2f(ck_fp32_to_fp16(scores[j] * inv));
            const uint16_t *vj = c->v + (size_t)(j % c->ring) * kv_stride + kvh * hd;
            float *a = acc + (size_t)(j % L) * hd;
#ifdef CK_X86
            if (simd) { axpy_fma_avx2(a, pj, vj, hd); continue; }
#endif
            for (int d = 0; d < hd; d++) a[d] = fmaf(pj, h2f(vj[d]), a[d]);
        }
        float *o = c->out + (size_t)t * c->n_head * hd + h * hd;
#ifdef CK_X86
        if (simd) { lanes_reduce_avx2(acc, L, hd, o); continue; }
#endif
        lanes_reduce_c(acc, L, hd, o);
    }
}

void ck_attention(ck_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                  float *out, int ntok, int pos0, int n_head, int n_kv, int hd, float scale,
                  float *scratch) {
    ck_attention_ext(pool, q, k_cache, v_cache, out, ntok, pos0, n_head, n_kv, hd, scale, 0.0f, 0,
                     pos0 + ntok, scratch);
}

void ck_attention_ext(ck_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                      float *out, int ntok, int pos0, int n_head, int n_kv, int hd, float scale,
                      float softcap, int window, int ring, float *scratch) {
    ck_init_tables();
    attn_ctx c = {q, k_cache, v_cache, out, ntok, pos0, n_head, n_kv, hd, scale, softcap, window,
                  ring > 0 ? ring : pos0 + ntok, scratch};
    ck_pool_run(pool, attention_task, &c);
}

// ---------------------------------------------------------------- RoPE

// ggml's rope (adjacent pairs) as gcc contracts it: x0*c - x1*s -> fma(x0, c, -(x1*s)) and
// x0*s + x1*c -> fma(x0, s, x1*c).
#ifdef CK_X86
CK_AVX2 static void rope_avx2(float *v, int heads, int hd, const float *cosT, const float *sinT) {
    const int half = hd / 2;
    for (int h = 0; h < heads; h++) {
        float *p = v + (size_t)h * hd;
        int i = 0;
        for (; i + 4 <= half; i += 4) {
            const __m256 x = _mm256_loadu_ps(p + 2 * i);                       // x0 x1 x0 x1 ...
            const __m128 c4 = _mm_loadu_ps(cosT + i), s4 = _mm_loadu_ps(sinT + i);
            const __m256 c = _mm256_setr_m128(_mm_unpacklo_ps(c4, c4), _mm_unpackhi_ps(c4, c4));
            const __m256 s = _mm256_setr_m128(_mm_unpacklo_ps(s4, s4), _mm_unpackhi_ps(s4, s4));
            const __m256 x0 = _mm256_moveldup_ps(x), x1 = _mm256_movehdup_ps(x);
            const __m256 re = _mm256_fmsub_ps(x0, c, _mm256_mul_ps(x1, s));   // even lanes
            const __m256 im = _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c));   // odd lanes
            _mm256_storeu_ps(p + 2 * i, _mm256_blend_ps(re, im, 0xaa));
        }
        for (; i < half; i++) {
            const float x0 = p[2 * i], x1 = p[2 * i + 1];
            p[2 * i] = fmaf(x0, cosT[i], -(x1 * sinT[i]));
            p[2 * i + 1] = fmaf(x0, sinT[i], x1 * cosT[i]);
        }
    }
}
#endif

void ck_rope(float *v, int heads, int hd, const float *cosT, const float *sinT) {
#ifdef CK_X86
    if (ck_simd_level()) { rope_avx2(v, heads, hd, cosT, sinT); return; }
#endif
    const int half = hd / 2;
    for (int h = 0; h < heads; h++) {
        float *p = v + (size_t)h * hd;
        for (int i = 0; i < half; i++) {
            const float x0 = p[2 * i], x1 = p[2 * i + 1];
            p[2 * i] = fmaf(x0, cosT[i], -(x1 * sinT[i]));
            p[2 * i + 1] = fmaf(x0, sinT[i], x1 * cosT[i]);
        }
    }
}

// ---------------------------------------------------------------- SwiGLU

// ggml_vec_swiglu_f32: 16 at a time x / (1 + v_expf(0 - x)) * g; a tail (n % 16) by libm expf.
// Llama's rows (the FFN width) are multiples of 16, so a flat run over many rows rounds the same.
static inline float silu_avx512_c(float x) {
    return x / (1.0f + ck_expf_avx512(0.0f - x));
}

#ifdef CK_X86
CK_AVX2 static void swiglu_avx2(float *gate, const float *up, int n) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (int i = 0; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, expf_avx512_avx2(_mm256_sub_ps(zero, x))));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
}
#endif

void ck_swiglu(float *gate, const float *up, int n) {
    if (ck_reference_isa() == CK_REFERENCE_AVX2) {
        // ggml_vec_swiglu_f32 (AVX2): 8 at a time x / (1 + v_expf(0 - x)) * g; a tail by libm expf.
        const int n8 = n & ~7;
        int i = 0;
        for (; i < n8; i++) gate[i] = gate[i] / (1.0f + ck_expf_avx2(0.0f - gate[i])) * up[i];
        for (; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
        return;
    }
    const int nv = n & ~15;
    int i = 0;
#ifdef CK_X86
    if (ck_simd_level()) { swiglu_avx2(gate, up, nv); i = nv; }
#endif
    for (; i < nv; i++) gate[i] = silu_avx512_c(gate[i]) * up[i];
    for (; i < n; i++) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
