// Block layouts of ggml's quantised types (private to the kernel files; see ck_type_traits).
#ifndef CKERNELS_QUANTS_H
#define CKERNELS_QUANTS_H

#include <stdint.h>

#define CK_QK 32   // values per block of the 32-value types
#define CK_QKK 256 // values per super-block of the K-quants and IQ4_XS

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;                     // x = d * (q - 8)
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;                  // x = d * q + m
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;      // x = d * (q - 16), q 5 bits
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;   // x = d * q + m
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;                      // x = d * q
typedef struct { uint16_t d, s; int8_t qs[32]; } block_q8_1;                   // s = d * sum(q)
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } block_q3_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } block_q8_K;     // bsums: sums of 16 qs
typedef struct { uint16_t d; uint8_t qs[16]; } block_iq4_nl;                   // x = d * kvalues[q]
typedef struct { uint16_t d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; } block_iq4_xs;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl");
_Static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs");

/// The 16 values of IQ4_NL / IQ4_XS codes.
extern const int8_t ck_kvalues_iq4nl[16];

/// The integer form of one super-block of Q2_K, Q3_K, Q4_K, Q5_K, Q6_K or IQ4_XS: w[e] the signed
/// integer weight, sc/mn the scale/min of each 16 values, d/dmin; returns 1 when the type has mins.
int ck_kblock_ints(int type, const void *blk, int8_t w[256], int32_t sc[16], int32_t mn[16], float *d, float *dmin);

/// IQ4_NL x Q8_0 as llamafile's tinyBLAS_Q0_AVX (batches of 2+ rows): one accumulator, at the SIMD level.
float ck_vec_dot_iq4_nl_batch(int n, const void *w, const void *xq);

/// Whether llamafile's tinyBLAS takes a batch of `type` (F32/F16/BF16) with n columns and `rows`
/// weight rows: n % 16 == 0 (32 for BF16, AVX512-BF16's step) and rows % 4 == 0.
int ck_float_batch_ok(int type, int n, int rows);
/// One float weight row against `count` activation rows (already in the weight's type) as tinyBLAS.
void ck_vec_dot_float_batch(int type, int n, const void *w, const void *const *x, int count, float *out);

/// Reports a tensor type the kernels cannot handle (what, e.g. "dequantize"), then aborts.
_Noreturn void ck_no_kernel(const char *what, int type);

#endif
