// Numeric kernels of the engine: activation quantisation, quantised dot products, matrix-vector
// products split over a persistent worker pool, and attention over an f16 KV cache.
// The SIMD paths are compiled per function and chosen at run time (see ck_simd_level).
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ggml type ids (as stored in GGUF).
enum {
    CK_F32 = 0, CK_F16 = 1, CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8, CK_Q8_1 = 9,
    CK_Q2_K = 10, CK_Q3_K = 11, CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14, CK_Q8_K = 15,
    CK_IQ2_XXS = 16, CK_IQ2_XS = 17, CK_IQ3_XXS = 18, CK_IQ1_S = 19, CK_IQ4_NL = 20, CK_IQ3_S = 21,
    CK_IQ2_S = 22, CK_IQ4_XS = 23, CK_I8 = 24, CK_I16 = 25, CK_I32 = 26, CK_I64 = 27, CK_F64 = 28,
    CK_IQ1_M = 29, CK_BF16 = 30, CK_TQ1_0 = 34, CK_TQ2_0 = 35, CK_MXFP4 = 39, CK_NVFP4 = 40,
    CK_Q1_0 = 41, CK_Q2_0 = 42,
    CK_TYPE_COUNT = 43 // one past the largest id; ids without an entry (4, 5, 31-33, 36-38) are unknown
};

/// What the kernels know about one ggml type: one table (see quants.c) that every size and
/// dispatch in the kernels reads.
typedef struct {
    int type;           // ggml id
    const char *name;   // as ggml/gguf spell the type in upper case: "Q4_K", "IQ4_XS", "BF16"
    int block_size;     // values per block (1 for the scalar types)
    int block_bytes;    // bytes per block
    int vec_dot_type;   // the activation type its dot product takes; -1 when it has no kernel
    int has_kernel;     // 1: usable as a weight (dequantize and vec_dot exist); 0: named only
    int is_activation;  // 1: rows of floats can be quantised to it (F32, Q8_0, Q8_1, Q8_K)
    void (*dequantize)(const void *x, float *y, int n);        // NULL without a kernel
    float (*vec_dot)(int n, const void *w, const void *xq);    // portable C; NULL without a kernel
    float (*vec_dot_avx2)(int n, const void *w, const void *xq); // same bits; NULL: none (uses vec_dot)
    void (*quantize)(const float *x, void *y, int n);          // activation types only
    void (*quantize_avx2)(const float *x, void *y, int n);     // same bits; NULL: none
} ck_type_traits_t;

/// The table entry of a ggml id, or NULL for an id ggml does not define (or has removed).
const ck_type_traits_t *ck_type_traits(int type);
/// The type's name ("Q4_K"), or NULL for an unknown id.
const char *ck_type_name(int type);

/// 0 = portable C, 1 = AVX2+FMA+F16C, 2 = that plus AVX-512 BW/VL/VNNI (the 8-bit products with
/// vpdpbusd). Decided once from cpuid; CK_SIMD=0 or 1 in the environment caps it. Every level gives
/// the same bits: the integer sums are exact and the float steps are the same.
int ck_simd_level(void);
/// Sets the level for the whole process (clamped to what the CPU has); returns the previous one.
/// For tests: call it while no kernel runs.
int ck_set_simd_level(int level);

float ck_fp16_to_fp32(uint16_t h);
uint16_t ck_fp32_to_fp16(float f);
void ck_fp32_to_fp16_row(const float *x, uint16_t *y, int n);

/// The activation type a weight type's dot product takes (CK_Q8_0, CK_Q8_1, CK_Q8_K, CK_F32, CK_F16
/// or CK_BF16: llama.cpp's CPU backend's vec_dot_type); -1 for a type without a kernel.
int ck_vec_dot_type(int weight_type);
/// Bytes of one row of n values of `type` (n a multiple of the block size); 0 for an unknown id.
size_t ck_row_bytes(int type, int n);

/// Quantises one row of n floats to `vec_dot_type` (rounding as llama.cpp does). For CK_F32 it copies.
/// Aborts with the type's name for a type that is not an activation type.
void ck_quantize_row(int vec_dot_type, const float *x, void *y, int n);
/// Dequantises one row of n weights of `type` into floats, bit for bit as ggml's to_float.
/// Aborts with the type's name for a type without a kernel (callers refuse such tensors at load).
void ck_dequantize_row(int type, const void *x, float *y, int n);
/// Dot product of one weight row (`type`) with one activation row already in ck_vec_dot_type(type),
/// bit for bit as ggml's x86 vec_dot. Aborts with the type's name for a type without a kernel.
float ck_vec_dot(int type, int n, const void *w, const void *xq);

typedef struct ck_pool ck_pool;
typedef void (*ck_task_fn)(void *ctx, int ith, int nth);

/// A pool of n_threads-1 workers that stay alive; the calling thread is worker 0.
ck_pool *ck_pool_create(int n_threads);
void ck_pool_destroy(ck_pool *pool);
int ck_pool_threads(const ck_pool *pool);
/// Runs fn(ctx, ith, nth) on every thread and returns when all are done.
void ck_pool_run(ck_pool *pool, ck_task_fn fn, void *ctx);

/// One weight matrix of a batched product: rows x cols weights of `type`, row-major (ggml dims {cols, rows}).
typedef struct {
    int type;
    const void *w;
    int rows;
    float *out;        // out[t * out_stride + r]
    int out_stride;
} ck_matmul_job;

/// For each job: out[t][r] = W[r,:] . x[t,:] for t < ntok, where xq holds ntok activation rows of
/// `cols` values already quantised to the jobs' common vec-dot type (row stride xq_stride bytes).
/// All jobs share cols and the input; they run in one pool dispatch. Rounds as llama.cpp's
/// mul_mat does for the same ntok: vec_dot for one row; for batches the paths ggml-cpu takes
/// instead: ggml-cpu/tiled for Q2_K..Q6_K and IQ4_XS from 8 rows, llamafile's tinyBLAS for
/// IQ4_NL (and Q4_0/Q5_0/Q8_0, the same bits as vec_dot) from 2 rows and for F32/F16/BF16 from 2
/// rows when cols % 16 == 0 (32 for BF16) and the job's rows % 4 == 0.
void ck_matmul(ck_pool *pool, const ck_matmul_job *jobs, int njobs, int cols,
               const void *xq, size_t xq_stride, int ntok);

/// Causal grouped-query attention for ntok new tokens at positions pos0..pos0+ntok-1.
/// q: [ntok][n_head*hd] f32; k_cache, v_cache: [pos][n_kv*hd] f16 holding positions 0..pos0+ntok-1;
/// out: [ntok][n_head*hd] f32. scratch: n_threads * (pos0+ntok) floats.
void ck_attention(ck_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                  float *out, int ntok, int pos0, int n_head, int n_kv, int hd, float scale,
                  float *scratch);

/// gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g).
void ck_swiglu(float *gate, const float *up, int n);

/// e^x as ggml_v_expf's AVX-512 variant computes it (one lane; identical on every path).
float ck_expf_avx512(float x);
/// e^x as ggml_v_expf's AVX2+FMA variant computes it (one lane).
float ck_expf_avx2(float x);

/// Which llama.cpp CPU build the width-dependent kernels (ggml_v_expf in softmax and SwiGLU,
/// tinyBLAS and ggml_vec_dot_f16 in attention) round like: its AVX-512 build (the default) or its
/// AVX2 build (CK_REFERENCE_ISA=avx2 in the environment; auto: AVX-512 when this CPU has
/// AVX-512F and DQ, else AVX2). The AVX2 attention path is portable C, slower on long contexts.
enum { CK_REFERENCE_AVX512 = 0, CK_REFERENCE_AVX2 = 1 };
int ck_reference_isa(void);
/// Sets it for the whole process; returns the previous one. Call it while no kernel runs.
int ck_set_reference_isa(int isa);

/// In-place RoPE on `heads` vectors of hd floats (adjacent pairs), cosT/sinT: hd/2 values for the
/// position. Rounds as ggml's gcc build does: x0*c - x1*s and x0*s + x1*c each with one fma.
void ck_rope(float *v, int heads, int hd, const float *cosT, const float *sinT);

#ifdef __cplusplus
}
#endif
#endif
