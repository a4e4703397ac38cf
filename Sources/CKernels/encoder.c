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

// One (head, query) pair per unit of work, split evenly over the threads. `dot` is q . k over hd.
#define ENCODER_ATTENTION_BODY(DOT)                                                              \
    const encoder_attention_ctx *c = p;                                                          \
    const int width = c->n_head * c->hd, units = c->n_head * c->ntok;                            \
    float *s = c->scratch + (size_t)ith * c->ntok;                                               \
    const int per = (units + nth - 1) / nth;                                                     \
    const int u0 = ith * per, u1 = u0 + per < units ? u0 + per : units;                          \
    for (int u = u0; u < u1; u++) {                                                              \
        const int h = u / c->ntok, t = u % c->ntok;                                              \
        const float *qv = c->q + (size_t)t * width + h * c->hd;                                  \
        float max = -INFINITY;                                                                   \
        for (int j = 0; j < c->ntok; j++) {  /* s[j] = q_t . k_j * scale */                      \
            s[j] = DOT(qv, c->k + (size_t)j * width + h * c->hd, c->hd) * c->scale;              \
            if (s[j] > max) max = s[j];                                                          \
        }                                                                                        \
        float sum = 0;                                                                           \
        for (int j = 0; j < c->ntok; j++) { s[j] = expf(s[j] - max); sum += s[j]; }              \
        const float inv = 1.0f / sum;                                                            \
        float *o = c->out + (size_t)t * width + h * c->hd;                                       \
        for (int i = 0; i < c->hd; i++) o[i] = 0;                                                \
        for (int j = 0; j < c->ntok; j++) {  /* o = sum_j softmax(s)_j v_j */                    \
            const float *vv = c->v + (size_t)j * width + h * c->hd;                              \
            const float w = s[j] * inv;                                                          \
            for (int i = 0; i < c->hd; i++) o[i] += w * vv[i];                                   \
        }                                                                                        \
    }

static void encoder_attention_c(void *p, int ith, int nth) { ENCODER_ATTENTION_BODY(dot_scalar) }

#ifdef CK_X86
CK_AVX2 static inline float dot_avx2(const float *a, const float *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float d = hsum_f32x8(acc);
    for (; i < n; i++) d += a[i] * b[i];
    return d;
}

// The same loops with an AVX2 dot product; the compiler vectorises the rest for AVX2 + FMA.
CK_AVX2 static void encoder_attention_avx2(void *p, int ith, int nth) { ENCODER_ATTENTION_BODY(dot_avx2) }
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

void ck_gelu_erf(float *x, int n) {
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
