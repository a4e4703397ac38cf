// Attention over the f16 KV cache and the element-wise activations (SwiGLU), rounding the way
// llama.cpp's CPU backend does so that greedy decoding agrees token for token.
#include "ckernels.h"
#include "internal.h"

#include <math.h>
#include <string.h>

// ---------------------------------------------------------------- attention

typedef struct {
    const float *q;
    const uint16_t *k, *v;
    float *out;
    int ntok, pos0, n_head, n_kv, hd;
    float scale;
    float *scratch;
} attn_ctx;

static float dot_f16_f16_c(const uint16_t *a, const uint16_t *b, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += h2f(a[i]) * h2f(b[i]);
    return s;
}

#ifdef CK_X86
CK_AVX2 static float dot_f16_f16_avx2(const uint16_t *a, const uint16_t *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))),
                              _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i))), acc);
    }
    float s = hsum_f32x8(acc);
    for (; i < n; i++) s += _cvtsh_ss(a[i]) * _cvtsh_ss(b[i]);
    return s;
}

CK_AVX2 static void axpy_f16_avx2(float *y, float a, const uint16_t *x, int n) {
    const __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 vx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, vx, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] += a * _cvtsh_ss(x[i]);
}
#endif

static void attention_task(void *p, int ith, int nth) {
    const attn_ctx *c = p;
    const int n_ctx = c->pos0 + c->ntok;
    const int group = c->n_head / c->n_kv;
    const int kv_stride = c->n_kv * c->hd;
    float *scores = c->scratch + (size_t)ith * n_ctx;
    uint16_t qh[256];
    const int simd = ck_simd_level();
    for (int item = ith; item < c->ntok * c->n_head; item += nth) {
        const int t = item / c->n_head, h = item % c->n_head, kvh = h / group;
        const int len = c->pos0 + t + 1; // causal: positions 0..pos0+t
        // llama.cpp multiplies Q by the f16 K cache after rounding Q to f16; so do we.
        ck_fp32_to_fp16_row(c->q + (size_t)t * c->n_head * c->hd + h * c->hd, qh, c->hd);
        float maxs = -INFINITY;
        for (int j = 0; j < len; j++) {
            const uint16_t *kj = c->k + (size_t)j * kv_stride + kvh * c->hd;
#ifdef CK_X86
            float s = simd ? dot_f16_f16_avx2(qh, kj, c->hd) : dot_f16_f16_c(qh, kj, c->hd);
#else
            float s = dot_f16_f16_c(qh, kj, c->hd);
#endif
            s *= c->scale;
            scores[j] = s;
            if (s > maxs) maxs = s;
        }
        double sum = 0;
        for (int j = 0; j < len; j++) {
            scores[j] = expf(scores[j] - maxs);
            sum += scores[j];
        }
        const float inv = (float)(1.0 / sum);
        float *o = c->out + (size_t)t * c->n_head * c->hd + h * c->hd;
        memset(o, 0, (size_t)c->hd * sizeof(float));
        for (int j = 0; j < len; j++) {
            // The probabilities meet the f16 V cache as f16, as in llama.cpp's KQV product.
            const float pj = ck_fp16_to_fp32(ck_fp32_to_fp16(scores[j] * inv));
            const uint16_t *vj = c->v + (size_t)j * kv_stride + kvh * c->hd;
#ifdef CK_X86
            if (simd) { axpy_f16_avx2(o, pj, vj, c->hd); continue; }
#endif
            for (int d = 0; d < c->hd; d++) o[d] += pj * h2f(vj[d]);
        }
    }
}

void ck_attention(ck_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                  float *out, int ntok, int pos0, int n_head, int n_kv, int hd, float scale,
                  float *scratch) {
    ck_init_tables();
    attn_ctx c = {q, k_cache, v_cache, out, ntok, pos0, n_head, n_kv, hd, scale, scratch};
    ck_pool_run(pool, attention_task, &c);
}

void ck_swiglu(float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
