// Pieces of a BERT-style encoder (bidirectional attention, LayerNorm, erf GELU) and the scan that
// ranks stored f16 embeddings against a query. Plain float arithmetic; no llama.cpp rounding to follow.
#ifndef CKENCODER_H
#define CKENCODER_H

#include "ckernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Bidirectional multi-head attention over ntok tokens (no mask, no cache).
/// q, k, v: [ntok][n_head*hd] f32; out: [ntok][n_head*hd]. scratch: n_threads * ntok * (hd + 1) floats.
void ck_encoder_attention(ck_pool *pool, const float *q, const float *k, const float *v, float *out,
                          int ntok, int n_head, int hd, float scale, float *scratch);

/// out[t * out_stride + r] = w[r,:] . x[t,:] + (bias ? bias[r] : 0) for t < ntok, r < rows: an f32
/// product with both operands row-major along the shared dimension n (torch's Linear), register
/// blocked 3 weight rows x 4 tokens and split over the pool by weight rows. Not llama.cpp's rounding.
void ck_gemm_f32(ck_pool *pool, const float *w, const float *bias, int rows, int n,
                 const float *x, int ntok, float *out, int out_stride);

/// In place on each of `rows` rows of n values: x = (x - mean) / sqrt(var + eps) * w + b
/// (population variance, as torch.nn.LayerNorm).
void ck_layernorm_rows(float *x, int rows, int n, const float *w, const float *b, float eps);

/// In place: x = x + bias (per row of n) for `rows` rows.
void ck_add_bias_rows(float *x, int rows, int n, const float *bias);

/// In place: x = 0.5 x (1 + erf(x / sqrt 2)), the GELU of BERT's "gelu" (erf to within 2e-7 on the
/// AVX2 path: Abramowitz and Stegun 7.1.26; libm's erff otherwise).
void ck_gelu_erf(float *x, int n);

/// out[i] = rows[i,:] . q for n rows of dim f16 values (dim % 8 == 0 for the SIMD path).
void ck_dot_f16_rows(const uint16_t *rows, int n, int dim, const float *q, float *out);

#ifdef __cplusplus
}
#endif
#endif
