#!/usr/bin/env python3
"""Reference data for the engine's tensor-type kernels, made by llama.cpp's own CPU kernels.

Runs with bench/.venv's python (llama-cpp-python 0.3.36 built from source, so its libggml-cpu is
llama.cpp's x86 build for this machine) and calls ggml through ctypes:
  ggml_quantize_chunk           weight rows from floats (the way llama-quantize makes them)
  ggml_get_type_traits          to_float (dequantisation), type names and block sizes
  ggml_get_type_traits_cpu      from_float (activation quantisation), vec_dot, vec_dot_type

    bench/.venv/bin/python scripts/kernel_reference.py            # writes Tests/ModelTests/Fixtures/kernels.json
    bench/.venv/bin/python scripts/kernel_reference.py --batch    # writes Tests/ModelTests/Fixtures/batch_kernels.json
    bench/.venv/bin/python scripts/kernel_reference.py --check /tmp/libck.so [--trials 300]

--check compares a shared build of Sources/CKernels (see Sources/CKernels/quants.c's header)
against llama.cpp on many random rows, at both SIMD levels, and prints the mismatches; it writes
nothing. Build the library with the flags SwiftPM uses:
    clang -O3 -fno-math-errno -shared -fPIC -ISources/CKernels/include \\
        Sources/CKernels/kernels.c Sources/CKernels/quants.c Sources/CKernels/pool.c -o /tmp/libck.so -lm -lpthread

The fixture holds, per type with a kernel: two weight rows quantised by llama.cpp (hex bytes),
llama.cpp's dequantisation of them (hex of the float32 bits, little endian), two activation rows
as float32 bits and as quantised by llama.cpp to the type's activation type, and llama.cpp's
vec_dot of every (weight row, activation row) pair (float32 bits). F16/BF16 weights take
F16/BF16 activations (ggml's vec_dot_type), in the engine too.

--batch records llama.cpp's whole mul_mat (a ggml graph run by ggml_graph_compute_with_ctx, two
threads) for every type with 1, 2, 3, 7, 8 and 9 activation rows, so the batch paths that
ggml-cpu takes instead of vec_dot are covered: llamafile's tinyBLAS (F32/F16/BF16 when the row
length is a multiple of 16 (32 for BF16) and the weight rows a multiple of 4; Q4_0, Q5_0, Q8_0
and IQ4_NL from two rows) and ggml-cpu/tiled (Q2_K..Q6_K and IQ4_XS from eight rows). Per type:
the weight rows (hex) and, per row count k, the outputs of the first k activation rows (float32
bits, [token][weight row]); the activation rows (float32 hex) once per row length.
"""
import argparse
import ctypes
import json
import os
import struct
import sys

import numpy as np

import llama_cpp

LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ModelTests", "Fixtures", "kernels.json")

# The types the engine has kernels for, with the activation type llama.cpp's CPU backend uses.
KERNEL_TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
                "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"]
IDS = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q8_1": 9, "Q2_K": 10,
       "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "Q8_K": 15, "IQ4_NL": 20, "IQ4_XS": 23, "BF16": 30}
FLOAT_TYPES = {"F32", "F16", "BF16"}


class TypeTraits(ctypes.Structure):
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


class TypeTraitsCpu(ctypes.Structure):
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]


TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                           ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class Ggml:
    def __init__(self):
        self.base = ctypes.CDLL(os.path.join(LIB, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
        self.cpu = ctypes.CDLL(os.path.join(LIB, "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)
        self.base.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
        self.base.ggml_get_type_traits.argtypes = [ctypes.c_int]
        self.cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(TypeTraitsCpu)
        self.cpu.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]
        self.base.ggml_quantize_chunk.restype = ctypes.c_size_t
        self.base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                  ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
        self.base.ggml_row_size.restype = ctypes.c_size_t
        self.base.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
        self.cpu.ggml_cpu_init()

    def traits(self, t):
        return self.base.ggml_get_type_traits(t).contents

    def cpu_traits(self, t):
        return self.cpu.ggml_get_type_traits_cpu(t).contents

    def row_size(self, t, n):
        return self.base.ggml_row_size(t, n)

    def quantize(self, t, rows):
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        nrows, n = rows.shape
        out = ctypes.create_string_buffer(self.row_size(t, n) * nrows)
        self.base.ggml_quantize_chunk(t, rows.ctypes.data, out, 0, nrows, n, None)
        return out.raw

    def dequantize(self, t, data, n):
        if t == 0:  # F32 has no to_float: its values are the bytes
            return np.frombuffer(data, dtype="<f4", count=n).copy()
        y = np.zeros(n, dtype=np.float32)
        buf = ctypes.create_string_buffer(data, len(data))
        TO_FLOAT(self.traits(t).to_float)(buf, y.ctypes.data, n)
        return y

    def from_float(self, t, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if t == 0:
            return x.tobytes()
        out = ctypes.create_string_buffer(self.row_size(t, len(x)))
        FROM_FLOAT(self.cpu_traits(t).from_float)(x.ctypes.data, out, len(x))
        return out.raw

    def vec_dot(self, t, n, w, a):
        s = ctypes.c_float(0)
        wb = ctypes.create_string_buffer(w, len(w))
        ab = ctypes.create_string_buffer(a, len(a))
        VEC_DOT(self.cpu_traits(t).vec_dot)(n, ctypes.byref(s), 0, wb, 0, ab, 0, 1)
        return s.value


def f32_hex(values):
    return np.asarray(values, dtype="<f4").tobytes().hex()


def f32_bits(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def row_values(rng, n, outliers=True):
    """Normal values of a few magnitudes per block, with about 1% outliers ten to thirty times larger."""
    x = rng.standard_normal(n).astype(np.float32) * np.float32(0.05)
    scale = np.repeat(rng.uniform(0.2, 3.0, n // 32 + 1).astype(np.float32), 32)[:n]
    x *= scale
    if outliers:
        k = max(1, n // 100)
        idx = rng.choice(n, k, replace=False)
        x[idx] *= rng.uniform(10, 30, k).astype(np.float32)
    return x


def length_for(name):
    # 32-value types get 17 blocks (an odd count: IQ4_NL's kernel handles a last unpaired block
    # apart); 256-value types two super-blocks; float types a length that is no multiple of 256.
    if name in FLOAT_TYPES:
        return 544
    return 544 if IDS[name] in (2, 3, 6, 7, 8, 20) else 512


def make_fixture(g, seed):
    rng = np.random.RandomState(seed)
    types = []
    for t in range(43):
        tr = g.traits(t)
        name = tr.type_name.decode() if tr.type_name else ""
        types.append({"id": t, "ggml_name": name, "block_size": int(tr.blck_size), "block_bytes": int(tr.type_size)})
    cases = []
    for name in KERNEL_TYPES:
        t = IDS[name]
        n = length_for(name)
        w = np.stack([row_values(rng, n), row_values(rng, n)])
        acts = [row_values(rng, n), row_values(rng, n, outliers=False)]
        wq = g.quantize(t, w)
        rb = g.row_size(t, n)
        rows = [wq[i * rb:(i + 1) * rb] for i in range(2)]
        deq = [g.dequantize(t, r, n) for r in rows]
        vdt_ggml = g.cpu_traits(t).vec_dot_type
        act_type = g.traits(vdt_ggml).type_name.decode().upper()  # ggml spells them "q8_K"
        aq = [g.from_float(vdt_ggml, a) for a in acts]
        dots = [[f32_bits(g.vec_dot(t, n, r, a)) for a in aq] for r in rows]
        case = {
            "type": name, "id": t, "n": n, "activation_type": act_type,
            "weights": [r.hex() for r in rows],
            "dequantized": [f32_hex(d) for d in deq],
            "activations": [f32_hex(a) for a in acts],
            "activations_quantized": [q.hex() for q in aq],
            "vec_dot": dots, "vec_dot_exact": True,
        }
        cases.append(case)
    return {
        "generator": "scripts/kernel_reference.py (llama-cpp-python %s, libggml-cpu x86 build)" % llama_cpp.__version__,
        "seed": seed, "types": types, "cases": cases,
    }


# ---------------------------------------------------------------- --batch


class InitParams(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p), ("no_alloc", ctypes.c_bool)]


BATCH_OUT = os.path.join(ROOT, "Tests", "ModelTests", "Fixtures", "batch_kernels.json")
BATCH_TOKENS = [1, 2, 3, 7, 8, 9]


def ggml_mul_mat(g, t, wbytes, rows, cols, x, threads=2):
    """llama.cpp's mul_mat of weight rows (type t) with float activation rows x: out[token][row]."""
    P = ctypes.c_void_p
    b, c = g.base, g.cpu
    b.ggml_init.restype = P
    b.ggml_init.argtypes = [InitParams]
    b.ggml_new_tensor_2d.restype = P
    b.ggml_new_tensor_2d.argtypes = [P, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    b.ggml_get_data.restype = P
    b.ggml_get_data.argtypes = [P]
    b.ggml_mul_mat.restype = P
    b.ggml_mul_mat.argtypes = [P, P, P]
    b.ggml_new_graph.restype = P
    b.ggml_new_graph.argtypes = [P]
    b.ggml_build_forward_expand.argtypes = [P, P]
    b.ggml_free.argtypes = [P]
    c.ggml_graph_compute_with_ctx.restype = ctypes.c_int
    c.ggml_graph_compute_with_ctx.argtypes = [P, P, ctypes.c_int]
    n = x.shape[0]
    ctx = b.ggml_init(InitParams(64 << 20, None, False))
    a = b.ggml_new_tensor_2d(ctx, t, cols, rows)
    ctypes.memmove(b.ggml_get_data(a), wbytes, len(wbytes))
    act = b.ggml_new_tensor_2d(ctx, 0, cols, n)
    xb = np.ascontiguousarray(x, dtype=np.float32).tobytes()
    ctypes.memmove(b.ggml_get_data(act), xb, len(xb))
    out = b.ggml_mul_mat(ctx, a, act)
    graph = b.ggml_new_graph(ctx)
    b.ggml_build_forward_expand(graph, out)
    assert c.ggml_graph_compute_with_ctx(ctx, graph, threads) == 0
    res = np.ctypeslib.as_array(ctypes.cast(b.ggml_get_data(out), ctypes.POINTER(ctypes.c_float)), shape=(n * rows,)).copy()
    b.ggml_free(ctx)
    return res.reshape(n, rows)


def make_batch_fixture(g, seed):
    rng = np.random.RandomState(seed)
    acts = {}  # row length -> activation rows, shared by the cases of that length

    def activations(cols):
        if cols not in acts:
            acts[cols] = np.stack([row_values(rng, cols, outliers=i % 2 == 0) for i in range(max(BATCH_TOKENS))])
        return acts[cols]

    cases = []
    for name in KERNEL_TYPES:
        t = IDS[name]
        # 288 = 9 blocks of 32 and no multiple of 64 (the float dots' tail); 256-value types 512.
        shapes = [(8, 288 if name in FLOAT_TYPES or IDS[name] in (2, 3, 6, 7, 8, 20) else 512)]
        if name in FLOAT_TYPES:
            shapes += [(6, 288), (8, 80)]  # rows % 4 != 0, n % 32 != 0: tinyBLAS declines (vec_dot)
        for rows, cols in shapes:
            w = np.stack([row_values(rng, cols) for _ in range(rows)])
            x = activations(cols)
            wq = g.quantize(t, w)
            outs = {str(k): [[f32_bits(v) for v in row] for row in ggml_mul_mat(g, t, wq, rows, cols, x[:k])]
                    for k in BATCH_TOKENS}
            cases.append({"type": name, "id": t, "rows": rows, "n": cols, "weights": wq.hex(), "outputs": outs})
    return {
        "generator": "scripts/kernel_reference.py --batch (llama-cpp-python %s, libggml-cpu x86 build, mul_mat on 2 threads)" % llama_cpp.__version__,
        "seed": seed, "tokens": BATCH_TOKENS,
        "activations": {str(k): f32_hex(v) for k, v in sorted(acts.items())},
        "cases": cases,
    }


# ---------------------------------------------------------------- --check


class Ours:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        L = self.lib
        L.ck_row_bytes.restype = ctypes.c_size_t
        L.ck_row_bytes.argtypes = [ctypes.c_int, ctypes.c_int]
        L.ck_vec_dot.restype = ctypes.c_float
        L.ck_vec_dot.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        L.ck_dequantize_row.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        L.ck_quantize_row.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        L.ck_set_simd_level.argtypes = [ctypes.c_int]
        L.ck_vec_dot_type.argtypes = [ctypes.c_int]

    def level(self, lv):
        self.lib.ck_set_simd_level(lv)

    def dequantize(self, t, data, n):
        y = np.zeros(n, dtype=np.float32)
        self.lib.ck_dequantize_row(t, ctypes.create_string_buffer(data, len(data)), y.ctypes.data, n)
        return y

    def quantize(self, t, x):
        out = ctypes.create_string_buffer(self.lib.ck_row_bytes(t, len(x)))
        x = np.ascontiguousarray(x, dtype=np.float32)
        self.lib.ck_quantize_row(t, x.ctypes.data, out, len(x))
        return out.raw

    def vec_dot(self, t, n, w, a):
        return self.lib.ck_vec_dot(t, n, ctypes.create_string_buffer(w, len(w)), ctypes.create_string_buffer(a, len(a)))


def check(g, path, trials, seed):
    ours = Ours(path)
    rng = np.random.RandomState(seed)
    bad = 0
    for name in KERNEL_TYPES + ["Q8_1", "Q8_K"]:
        t = IDS[name]
        stats = {}
        for level in (1, 0):
            ours.level(level)
            deq_bad = q_bad = dot_bad = 0
            worst = 0.0
            for trial in range(trials):
                r2 = np.random.RandomState((seed * 1009 + trial * 131 + t) % (2 ** 32))
                n = length_for(name) if name not in ("Q8_1", "Q8_K") else 512
                if trial % 4 == 3:
                    n *= 8  # rows as long as a model's
                w = row_values(r2, n)
                a = row_values(r2, n, outliers=trial % 2 == 0)
                if name in ("Q8_1", "Q8_K"):  # activation types: quantisation only
                    if g.from_float(t, a) != ours.quantize(t, a):
                        q_bad += 1
                    continue
                wq = g.quantize(t, w[None, :])
                if g.dequantize(t, wq, n).tobytes() != ours.dequantize(t, wq, n).tobytes():
                    deq_bad += 1
                vdt = g.cpu_traits(t).vec_dot_type
                aq = g.from_float(vdt, a)
                if ours.quantize(vdt, a) != aq:
                    q_bad += 1
                ref = g.vec_dot(t, n, wq, aq)
                got = ours.vec_dot(t, n, wq, aq)
                if f32_bits(ref) != f32_bits(got):
                    dot_bad += 1
                    if dot_bad <= 3:
                        print("  %s level %d trial %d: vec_dot %r (ours) vs %r (llama.cpp)" % (name, level, trial, got, ref))
            stats[level] = (deq_bad, q_bad, dot_bad, worst)
            bad += deq_bad + q_bad + dot_bad
        line = "%-7s" % name
        for level in (1, 0):
            d, q, v, worst = stats[level]
            line += "  %s: dequant %d/%d bad, quantize %d bad, vec_dot %d bad" % ("avx2" if level else "portable", d, trials, q, v)
        print(line)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--seed", type=int, default=20250611)
    ap.add_argument("--check", metavar="LIB", help="compare a shared build of Sources/CKernels instead")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--batch", action="store_true", help="write the batch (mul_mat) fixture instead")
    args = ap.parse_args()
    g = Ggml()
    if args.batch:
        out = BATCH_OUT if args.out == OUT else args.out
        fixture = make_batch_fixture(g, args.seed)
        with open(out, "w") as f:  # one case per line
            head = {k: v for k, v in fixture.items() if k != "cases"}
            f.write(json.dumps(head)[:-1] + ', "cases": [\n')
            f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in fixture["cases"]))
            f.write("\n]}\n")
        print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))
        return
    if args.check:
        bad = check(g, args.check, args.trials, args.seed)
        print("mismatches: %d" % bad)
        sys.exit(1 if bad else 0)
    fixture = make_fixture(g, args.seed)
    with open(args.out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))


if __name__ == "__main__":
    main()
