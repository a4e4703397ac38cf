// Layer pieces shared by the architectures beyond Llama: attention with a sliding window, a
// logit soft-cap and a ring-buffer cache; RoPE in both layouts with partial rotation; the gated
// GELU of Gemma; the soft-cap of final logits. Rounding follows llama.cpp's CPU backend.
#ifndef CKLAYERS_H
#define CKLAYERS_H

#include "ckernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// ck_attention with three more knobs. softcap > 0: each score s becomes tanh(s / softcap) * softcap
/// before `scale` (Gemma 2). window > 0: position p sees keys p-window+1 .. p only (sliding-window
/// attention). ring > 0: the caches hold `ring` cells and position j is in cell j % ring (a sliding
/// window cache); ring must be at least window + ntok - 1 (or pos0 + ntok when window is 0).
void ck_attention_ext(ck_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                      float *out, int ntok, int pos0, int n_head, int n_kv, int hd, float scale,
                      float softcap, int window, int ring, float *scratch);

/// RoPE on `heads` vectors of hd floats, rotating the first n_rot dimensions (the rest are left as
/// they are). neox = 0: adjacent pairs (x[2i], x[2i+1]); neox = 1: halves (x[i], x[i + n_rot/2]).
/// cosT/sinT: n_rot/2 values for the position. One fma per component, as ggml's gcc build rounds.
void ck_rope_ext(float *v, int heads, int hd, int n_rot, int neox, const float *cosT, const float *sinT);

/// gate[i] = gelu(gate[i]) * up[i] with ggml's GELU (tanh form) looked up through f16 as ggml's
/// CPU backend does: 0 below -10, the identity above 10.
void ck_geglu(float *gate, const float *up, int n);

/// x[i] = tanh(x[i] * (1 / cap)) * cap: the final logit soft-cap of Gemma 2.
void ck_softcap(float *x, int n, float cap);

#ifdef __cplusplus
}
#endif
#endif
