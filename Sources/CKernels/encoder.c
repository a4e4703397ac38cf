// BERT-style encoder pieces and the f16 embedding scan (see ckencoder.h).
#include "ckencoder.h"
#include "internal.h"

#include <math.h>

// ---------------------------------------------------------------- f32 GEMM

typedef struct {
    const float *w, *bias, *x;
    float *out;
    int rows, n, ntok, out_stride;
} gemm_ctx;

static inline float dot_scalar(const float *a, const float *b, int n) {
    float d = 0;
    for (int i = 0; i < n; i++) d += a[i] * b[i];
    return d;
}

static void gemm_rows_c(const gemm_ctx *c, int r0, int r1) {
    for (int r = r0; r < r1; r++)
        for (int t = 0; t < c->ntok; t++)
            c->out[(size_t)t * c->out_stride + r] = dot_scalar(c->w + (size_t)r * c->n, c->x + (size_t)t * c->n, c->n) + (c->bias ? c->bias[r] : 0);
}

#ifdef CK_X86
// One weight row against up to 4 tokens (the remainders of the 3 x 4 tiles).
CK_AVX2 static void gemm_1xN_avx2(const gemm_ctx *c, int r, int t0, int nt) {
    const float *wr = c->w + (size_t)r * c->n;
    for (int t = t0; t < t0 + nt; t++) {
        const float *xt = c->x + (size_t)t * c->n;
        __m256 acc = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= c->n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i), _mm256_loadu_ps(xt + i), acc);
        float d = hsum_f32x8(acc);
        for (; i < c->n; i++) d += wr[i] * xt[i];
        c->out[(size_t)t * c->out_stride + r] = d + (c->bias ? c->bias[r] : 0);
    }
}

CK_AVX2 static void gemm_rows_avx2(const gemm_ctx *c, int r0, int r1) {
    const int n8 = c->n / 8 * 8;
    int r = r0;
    for (; r + 3 <= r1; r += 3) {
        const float *w0 = c->w + (size_t)r * c->n, *w1 = w0 + c->n, *w2 = w1 + c->n;
        int t = 0;
        for (; t + 4 <= c->ntok; t += 4) {
            const float *x0 = c->x + (size_t)t * c->n, *x1 = x0 + c->n, *x2 = x1 + c->n, *x3 = x2 + c->n;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            __m256 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
            for (int i = 0; i < n8; i += 8) {
                const __m256 v0 = _mm256_loadu_ps(w0 + i), v1 = _mm256_loadu_ps(w1 + i), v2 = _mm256_loadu_ps(w2 + i);
                __m256 u = _mm256_loadu_ps(x0 + i);
                a00 = _mm256_fmadd_ps(v0, u, a00); a10 = _mm256_fmadd_ps(v1, u, a10); a20 = _mm256_fmadd_ps(v2, u, a20);
                u = _mm256_loadu_ps(x1 + i);
                a01 = _mm256_fmadd_ps(v0, u, a01); a11 = _mm256_fmadd_ps(v1, u, a11); a21 = _mm256_fmadd_ps(v2, u, a21);
                u = _mm256_loadu_ps(x2 + i);
                a02 = _mm256_fmadd_ps(v0, u, a02); a12 = _mm256_fmadd_ps(v1, u, a12); a22 = _mm256_fmadd_ps(v2, u, a22);
                u = _mm256_loadu_ps(x3 + i);
                a03 = _mm256_fmadd_ps(v0, u, a03); a13 = _mm256_fmadd_ps(v1, u, a13); a23 = _mm256_fmadd_ps(v2, u, a23);
            }
            const __m256 acc[3][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}};
            const float *ws[3] = {w0, w1, w2}, *xs[4] = {x0, x1, x2, x3};
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) {
                    float d = hsum_f32x8(acc[i][j]);
                    for (int k = n8; k < c->n; k++) d += ws[i][k] * xs[j][k];
                    c->out[(size_t)(t + j) * c->out_stride + r + i] = d + (c->bias ? c->bias[r + i] : 0);
                }
        }
        if (t < c->ntok)
            for (int i = 0; i < 3; i++) gemm_1xN_avx2(c, r + i, t, c->ntok - t);
    }
    for (; r < r1; r++) gemm_1xN_avx2(c, r, 0, c->ntok);
}
#endif

static void gemm_task(void *p, int ith, int nth) {
    const gemm_ctx *c = p;
    // Whole 3-row tiles per thread, so no tile is split.
    const int tiles = (c->rows + 2) / 3, per = (tiles + nth - 1) / nth;
    const int r0 = ith * per * 3, r1 = (ith + 1) * per * 3 < c->rows ? (ith + 1) * per * 3 : c->rows;
    if (r0 >= r1) return;
#ifdef CK_X86
    if (ck_simd_level() >= 1) { gemm_rows_avx2(c, r0, r1); return; }
#endif
    gemm_rows_c(c, r0, r1);
}

void ck_gemm_f32(ck_pool *pool, const float *w, const float *bias, int rows, int n,
                 const float *x, int ntok, float *out, int out_stride) {
    gemm_ctx c = {w, bias, x, out, rows, n, ntok, out_stride};
    ck_pool_run(pool, gemm_task, &c);
}

// ---------------------------------------------------------------- attention, norms, GELU

typedef struct {
    const float *q, *k, *v;
    float *out, *scratch;
    int ntok, n_head, hd;
    float scale;
} encoder_attention_ctx;

// The units of work (one per head and query) of thread ith of nth: [*u0, *u1).
static inline void attention_units(const encoder_attention_ctx *c, int ith, int nth, int *u0, int *u1) {
    const int units = c->n_head * c->ntok, per = (units + nth - 1) / nth;
    *u0 = ith * per;
    *u1 = *u0 + per < units ? *u0 + per : units;
}

// Given the scaled scores s[0..T) of query t in head h: out_t,h = sum_j softmax(s)_j v_j.
// Inlined into both attention paths (and vectorised for AVX2 in the second).
__attribute__((always_inline)) static inline void softmax_times_v(const encoder_attention_ctx *c, float *s, int h, int t) {
    const int T = c->ntok, hd = c->hd, width = c->n_head * hd;
    float max = -INFINITY;
    for (int j = 0; j < T; j++) if (s[j] > max) max = s[j];
    float sum = 0;
    for (int j = 0; j < T; j++) { s[j] = expf(s[j] - max); sum += s[j]; }
    const float inv = 1.0f / sum;
    float *o = c->out + (size_t)t * width + h * hd;
    for (int i = 0; i < hd; i++) o[i] = 0;
    for (int j = 0; j < T; j++) {
        const float *vv = c->v + (size_t)j * width + h * hd;
        const float w = s[j] * inv;
        for (int i = 0; i < hd; i++) o[i] += w * vv[i];
    }
}

static void encoder_attention_c(void *p, int ith, int nth) {
    const encoder_attention_ctx *c = p;
    const int width = c->n_head * c->hd;
    float *s = c->scratch + (size_t)ith * c->ntok * (c->hd + 1);
    int u0, u1;
    attention_units(c, ith, nth, &u0, &u1);
    for (int u = u0; u < u1; u++) {
        const int h = u / c->ntok, t = u % c->ntok;
        const float *qv = c->q + (size_t)t * width + h * c->hd;
        for (int j = 0; j < c->ntok; j++)                           // s[j] = q_t . k_j * scale
            s[j] = dot_scalar(qv, c->k + (size_t)j * width + h * c->hd, c->hd) * c->scale;
        softmax_times_v(c, s, h, t);
    }
}

#ifdef CK_X86

// Scores for 32 keys at a time against the head's keys transposed ([hd][T] in scratch), so each
// FMA takes one broadcast query value and 8 keys with no horizontal sums; four independent sums.
CK_AVX2 static void encoder_attention_avx2(void *p, int ith, int nth) {
    const encoder_attention_ctx *c = p;
    const int T = c->ntok, hd = c->hd, width = c->n_head * hd;
    float *s = c->scratch + (size_t)ith * T * (hd + 1);
    float *kt = s + T;
    int u0, u1;
    attention_units(c, ith, nth, &u0, &u1);
    const __m256 scale = _mm256_set1_ps(c->scale);
    int head = -1;
    for (int u = u0; u < u1; u++) {
        const int h = u / T, t = u % T;
        if (h != head) {                                            // kt[i][j] = k_j[i] of head h
            for (int j = 0; j < T; j++)
                for (int i = 0; i < hd; i++) kt[(size_t)i * T + j] = c->k[(size_t)j * width + h * hd + i];
            head = h;
        }
        const float *qv = c->q + (size_t)t * width + h * hd;
        int j = 0;
        for (; j + 32 <= T; j += 32) {                              // s[j..j+32] = q . k * scale
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < hd; i++) {
                const __m256 qi = _mm256_set1_ps(qv[i]);
                const float *row = kt + (size_t)i * T + j;
                a0 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(row), a0);
                a1 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(row + 8), a1);
                a2 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(row + 16), a2);
                a3 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(row + 24), a3);
            }
            _mm256_storeu_ps(s + j, _mm256_mul_ps(a0, scale));
            _mm256_storeu_ps(s + j + 8, _mm256_mul_ps(a1, scale));
            _mm256_storeu_ps(s + j + 16, _mm256_mul_ps(a2, scale));
            _mm256_storeu_ps(s + j + 24, _mm256_mul_ps(a3, scale));
        }
        for (; j + 8 <= T; j += 8) {
            __m256 a0 = _mm256_setzero_ps();
            for (int i = 0; i < hd; i++) a0 = _mm256_fmadd_ps(_mm256_set1_ps(qv[i]), _mm256_loadu_ps(kt + (size_t)i * T + j), a0);
            _mm256_storeu_ps(s + j, _mm256_mul_ps(a0, scale));
        }
        for (; j < T; j++) {
            float d = 0;
            for (int i = 0; i < hd; i++) d += qv[i] * kt[(size_t)i * T + j];
            s[j] = d * c->scale;
        }
        softmax_times_v(c, s, h, t);
    }
}
#endif

static void encoder_attention_task(void *p, int ith, int nth) {
#ifdef CK_X86
    if (ck_simd_level() >= 1) { encoder_attention_avx2(p, ith, nth); return; }
#endif
    encoder_attention_c(p, ith, nth);
}

void ck_encoder_attention(ck_pool *pool, const float *q, const float *k, const float *v, float *out,
                          int ntok, int n_head, int hd, float scale, float *scratch) {
    encoder_attention_ctx c = {q, k, v, out, scratch, ntok, n_head, hd, scale};
    ck_pool_run(pool, encoder_attention_task, &c);
}

void ck_layernorm_rows(float *x, int rows, int n, const float *w, const float *b, float eps) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n;
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++) mean += p[i];
        mean /= n;
        for (int i = 0; i < n; i++) { const double d = p[i] - mean; var += d * d; }
        var /= n;
        const float inv = (float)(1.0 / sqrt(var + eps)), m = (float)mean;
        for (int i = 0; i < n; i++) p[i] = (p[i] - m) * inv * w[i] + b[i];
    }
}

void ck_add_bias_rows(float *x, int rows, int n, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * n;
        for (int i = 0; i < n; i++) p[i] += bias[i];
    }
}

#ifdef CK_X86
// e^y for y <= 0: 2^n e^r with n = round(y log2 e), r = y - n ln 2 (ln 2 in two parts), e^r by its
// degree-6 Taylor polynomial (|r| <= ln2 / 2: relative error below 2e-7); 0 below -87.
CK_AVX2 static inline __m256 exp_nonpositive_avx2(__m256 y) {
    y = _mm256_max_ps(y, _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), y);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 e = _mm256_set1_ps(1.0f / 720);
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f / 120));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f / 24));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f / 6));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(0.5f));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f));
    e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(e, _mm256_castsi256_ps(bits));
}

// 0.5 x (1 + erf(x / sqrt 2)) with erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7):
// erf(z) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) e^(-z^2), t = 1 / (1 + p z), for z >= 0.
CK_AVX2 static void gelu_erf_avx2(float *x, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(0.70710678118654752440f));
        const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), z, one));
        __m256 poly = _mm256_set1_ps(1.061405429f);
        poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
        poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
        poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
        poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
        poly = _mm256_mul_ps(poly, t);
        const __m256 e = exp_nonpositive_avx2(_mm256_mul_ps(_mm256_xor_ps(z, sign), z));
        __m256 erf = _mm256_fnmadd_ps(poly, e, one);                       // erf(|x| / sqrt 2)
        erf = _mm256_or_ps(erf, _mm256_and_ps(v, sign));                    // with x's sign
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf)));
    }
    for (; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752440f));
}
#endif

void ck_gelu_erf(float *x, int n) {
#ifdef CK_X86
    if (ck_simd_level() >= 1) { gelu_erf_avx2(x, n); return; }
#endif
    for (int i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752440f));
}

#ifdef CK_X86
CK_AVX2 static void dot_f16_rows_avx2(const uint16_t *rows, int n, int dim, const float *q, float *out) {
    for (int r = 0; r < n; r++) {
        const uint16_t *row = rows + (size_t)r * dim;
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < dim; i += 8) {
            const __m256 w = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i)));
            acc = _mm256_fmadd_ps(w, _mm256_loadu_ps(q + i), acc);
        }
        out[r] = hsum_f32x8(acc);
    }
}
#endif

void ck_dot_f16_rows(const uint16_t *rows, int n, int dim, const float *q, float *out) {
#ifdef CK_X86
    if (ck_simd_level() >= 1 && dim % 8 == 0) { dot_f16_rows_avx2(rows, n, dim, q, out); return; }
#endif
    ck_init_tables();
    for (int r = 0; r < n; r++) {
        const uint16_t *row = rows + (size_t)r * dim;
        float d = 0;
        for (int i = 0; i < dim; i++) d += h2f(row[i]) * q[i];
        out[r] = d;
    }
}
