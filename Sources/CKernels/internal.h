// Helpers shared by the kernel files (not part of the public header).
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CK_X86 1
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
/// Level 2: AVX2 plus AVX-512 VNNI on 256-bit vectors (vpdpbusd; BW and VL for byte masks).
#define CK_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
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

/// 16 bytes of packed nibbles -> 32 bytes: low nibbles (values 0..15) then high ones (16..31).
CK_AVX2 static inline __m256i nibbles_32(const uint8_t *qs) {
    const __m128i tmp = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// Two adjacent halves (d and m of a Q4_1 block, d and s of a Q8_1 block) as floats in lanes 0, 1.
/// One 32-bit load and one conversion: converting each half on its own made the compiler merge
/// into a live register and serialise the loop on it.
CK_AVX2 static inline __m128 two_halves(const uint16_t *p) {
    int32_t bits;
    memcpy(&bits, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
}

/// 32 bits -> 32 bytes, 0xFF where the bit is set (byte e <- bit e).
CK_AVX2 static inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}
#endif

#endif
