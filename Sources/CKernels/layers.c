// Layer pieces beyond Llama's (see cklayers.h): RoPE layouts, Gemma's gated GELU, soft-caps.
#include "cklayers.h"
#include "internal.h"

#include <math.h>
#include <pthread.h>

// No silent a*b+c fusion: every fused multiply-add below is written out.
#pragma STDC FP_CONTRACT OFF

// ---------------------------------------------------------------- RoPE

void ck_rope_ext(float *v, int heads, int hd, int n_rot, int neox, const float *cosT, const float *sinT) {
    if (!neox && n_rot == hd) { ck_rope(v, heads, hd, cosT, sinT); return; }
    const int half = n_rot / 2;
    for (int h = 0; h < heads; h++) {
        float *p = v + (size_t)h * hd;
        for (int i = 0; i < half; i++) {
            // neox rotates (i, i + half); normal (2i, 2i + 1).
            float *a = neox ? p + i : p + 2 * i;
            float *b = neox ? p + i + half : p + 2 * i + 1;
            const float x0 = *a, x1 = *b;
            *a = fmaf(x0, cosT[i], -(x1 * sinT[i]));
            *b = fmaf(x0, sinT[i], x1 * cosT[i]);
        }
    }
}

// ---------------------------------------------------------------- GELU

// ggml's table: for every f16 value f, f16(0.5 f (1 + tanh(sqrt(2/pi) f (1 + 0.044715 f^2)))),
// with the inner 1 + a*f*f contracted to one fma as gcc compiles ggml_gelu_f32.
static uint16_t gelu_table[65536];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void init_gelu(void) {
    ck_init_tables();
    const float a = 0.044715f, s2pi = 0.79788456080286535587989211986876f;
    for (int i = 0; i < 65536; i++) {
        const float x = h2f((uint16_t)i);
        const float inner = fmaf(a * x, x, 1.0f);
        gelu_table[i] = ck_fp32_to_fp16(0.5f * x * (1.0f + tanhf(s2pi * x * inner)));
    }
}

void ck_geglu(float *gate, const float *up, int n) {
    pthread_once(&gelu_once, init_gelu);
    for (int i = 0; i < n; i++) {
        const float x = gate[i];
        if (x <= -10.0f) gate[i] = 0.0f;
        else if (x >= 10.0f) gate[i] = x * up[i];
        else gate[i] = h2f(gelu_table[ck_fp32_to_fp16(x)]) * up[i];
    }
}

// ---------------------------------------------------------------- soft-cap

void ck_softcap(float *x, int n, float cap) {
    const float inv = 1.0f / cap;
    for (int i = 0; i < n; i++) x[i] = tanhf(x[i] * inv) * cap;
}
