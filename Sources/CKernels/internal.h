// Helpers shared by the kernel files (not part of the public header).
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CK_X86 1
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

/// fp16 -> fp32 for every half value; filled by ck_init_tables().
extern float ck_fp16_table[65536];
void ck_init_tables(void);
static inline float h2f(uint16_t h) { return ck_fp16_table[h]; }

#ifdef CK_X86
/// ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)): the reduction order of ggml's and tinyBLAS's AVX2 hsum.
CK_AVX2 static inline float hsum_f32x8(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}
#endif

#endif
