// BERT-style encoder pieces and the f16 embedding scan (see ckencoder.h).
#include "ckencoder.h"
#include "internal.h"

#include <math.h>

typedef struct {
    const float *q, *k, *v;
    float *out, *scratch;
    int ntok, n_head, hd;
    float scale;
} encoder_attention_ctx;

// One (head, query) pair per unit of work, split evenly over the threads.
static void encoder_attention_task(void *p, int ith, int nth) {
    const encoder_attention_ctx *c = p;
    const int width = c->n_head * c->hd, units = c->n_head * c->ntok;
    float *s = c->scratch + (size_t)ith * c->ntok;
    const int per = (units + nth - 1) / nth;
    const int u0 = ith * per, u1 = u0 + per < units ? u0 + per : units;
    for (int u = u0; u < u1; u++) {
        const int h = u / c->ntok, t = u % c->ntok;
        const float *qv = c->q + (size_t)t * width + h * c->hd;
        float max = -INFINITY;
        for (int j = 0; j < c->ntok; j++) {                       // s[j] = q_t . k_j * scale
            const float *kv = c->k + (size_t)j * width + h * c->hd;
            float d = 0;
            for (int i = 0; i < c->hd; i++) d += qv[i] * kv[i];
            s[j] = d * c->scale;
            if (s[j] > max) max = s[j];
        }
        float sum = 0;
        for (int j = 0; j < c->ntok; j++) { s[j] = expf(s[j] - max); sum += s[j]; }
        const float inv = 1.0f / sum;
        float *o = c->out + (size_t)t * width + h * c->hd;
        for (int i = 0; i < c->hd; i++) o[i] = 0;
        for (int j = 0; j < c->ntok; j++) {                       // o = sum_j softmax(s)_j v_j
            const float *vv = c->v + (size_t)j * width + h * c->hd;
            const float w = s[j] * inv;
            for (int i = 0; i < c->hd; i++) o[i] += w * vv[i];
        }
    }
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
