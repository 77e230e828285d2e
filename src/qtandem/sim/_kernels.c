/*
 * qtandem.sim._kernels -- in-place CPU statevector kernels (C11 + OpenMP).
 *
 * Conventions (docs/design.md): little-endian basis index, the state is a
 * contiguous array of interleaved complex numbers (complex128 or complex64,
 * chosen from the buffer's item size).  Every kernel works on *sorted* target
 * qubits: the matrix/diagonal/permutation index bit j refers to the j-th
 * smallest target qubit (the Python layer canonicalises, and the public
 * apply_* entry points below canonicalise too).
 *
 * Operations ("ops"):
 *   DENSE (0)  2^k x 2^k matrix on k targets, applied where all controls are 1.
 *   DIAG  (1)  diagonal of 2^k entries on k targets (controls allowed).
 *   PERM  (2)  permutation with phases: new[perm[r]] = phase[r] * old[r].
 *
 * A *program* (run_program) is a stream of segments packed in an int64 array
 * plus a complex128 data array (matrices, diagonals, phases):
 *   GLOBAL segment: [1, nops, op...]                  ops on global qubits,
 *                   each op parallelised over the threads.
 *   CHUNK segment:  [2, L, s_0..s_{L-1}, nops, op...] cache blocking: for each
 *                   of the 2^(n-L) chunks (amplitudes whose bits outside the
 *                   sorted qubit set S={s_i} are fixed) gather the chunk into a
 *                   thread-local contiguous buffer that sits in L2, apply every
 *                   op (qubits given as *local* positions 0..L-1), scatter back.
 *                   One memory pass for the whole segment.  When S = {0..L-1}
 *                   the chunk is contiguous and is processed in place.
 *   op record:      [kind, nt, nc, data_offset, t_0..t_{nt-1}, c_0..c_{nc-1},
 *                    (perm_0..perm_{2^nt-1} if kind == PERM)]
 *   tile marker:    [3, T, count, 0]: the next `count` ops only touch qubits
 *                   < T; they are applied to each 2^T-amplitude tile in turn
 *                   while it sits in L1 (second level of cache blocking).
 *
 * Kernels (AVX2+FMA where the CPU has it, chosen when the module loads; portable
 * scalar loops otherwise), on interleaved complex data:
 *   - dense_span: targets >= log2(amplitudes per vector); two vectors per step
 *     so each coefficient load feeds two FMAs; real matrices (H, RY, CX blocks)
 *     take a path with half the multiply-adds.
 *   - dense_low_span: targets inside a vector (qubit 0, and 1 for complex64):
 *     lanes are duplicated with a permute and multiplied by per-lane coefficients.
 *   - diag_vec: one complex multiply per amplitude, per-lane factors for low qubits.
 *   - perm_vec: pure data movement (phases multiplied only where != 1).
 * Loops walk base indices incrementally (masked increment) rather than
 * re-inserting zero bits per index, and serial calls never enter an OpenMP
 * region. fill() requests transparent huge pages before first touch, which
 * removes most TLB misses of the strided chunk gathers on large states.
 *
 * The file includes itself to instantiate the kernels for double and float
 * (QT_TEMPLATE section), twice more for an AVX2+FMA copy in a portable x86-64
 * build; the Python glue is at the end.
 */
#ifndef QT_TEMPLATE

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif
/* SIMD flavours. Built with AVX2+FMA enabled (-march=native on such a CPU), the
 * AVX2 kernels are the only ones (QT_SIMD_BUILTIN). A portable x86-64 build with
 * GCC compiles both the scalar kernels and an AVX2+FMA copy (#pragma GCC target)
 * and picks one when the module loads (QT_SIMD_DISPATCH, __builtin_cpu_supports).
 * Elsewhere only the scalar kernels exist. */
#if defined(__AVX2__) && defined(__FMA__)
#define QT_SIMD_BUILTIN 1
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(QT_NO_DISPATCH)
#define QT_SIMD_DISPATCH 1
#endif
#if defined(QT_SIMD_BUILTIN) || defined(QT_SIMD_DISPATCH)
#include <immintrin.h>
#endif

#define QT_DENSE 0
#define QT_DIAG 1
#define QT_PERM 2
#define QT_TILE 3 /* marker: the next nc ops act on qubits < nt; apply them tile by tile */
#define QT_SEG_GLOBAL 1
#define QT_SEG_CHUNK 2
#define QT_MAXT 6   /* max targets of a dense / perm op */
#define QT_MAXDT 16 /* max targets of a diagonal op     */
#define QT_MAXQ 64
/* Below this many amplitudes an op is not worth an OpenMP fork. */
#define QT_PAR_MIN (1LL << 14)

typedef struct {
    int kind, nt, nc;
    int tq[QT_MAXQ], cq[QT_MAXQ];
    int64_t doff;
    int perm[1 << QT_MAXT];
} qt_raw_op;

/* Insert zero bits at the ascending positions ins[0..nins-1]. */
static inline int64_t qt_insert(int64_t x, const int *ins, int nins)
{
    for (int k = 0; k < nins; ++k) {
        int p = ins[k];
        x = ((x >> p) << (p + 1)) | (x & ((INT64_C(1) << p) - 1));
    }
    return x;
}

/* Software parallel-bit-deposit of the low bits of x onto mask. */
static inline int64_t qt_pdep(int64_t x, int64_t mask)
{
    int64_t r = 0;
    for (int64_t bit = 1; mask; bit <<= 1) {
        int64_t low = mask & -mask;
        if (x & bit) r |= low;
        mask &= mask - 1;
    }
    return r;
}

/* This thread's share [lo, hi) of n iterations (whole range outside a parallel region). */
static inline void qt_range(int64_t n, int64_t *lo, int64_t *hi)
{
#ifdef _OPENMP
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    int64_t t = 0, nt = 1;
#endif
    int64_t q = n / nt, r = n % nt;
    *lo = t * q + (t < r ? t : r);
    *hi = *lo + q + (t < r);
}

/* Next base index after i: increment within the bit set `free` (controls kept at 1). */
static inline int64_t qt_next(int64_t i, uint64_t free, int64_t cmask)
{
    uint64_t x = (((uint64_t)(i & ~cmask)) | ~free) + 1;
    return (int64_t)(x & free) | cmask;
}

/* Loop skeleton shared by the kernels: runs of 2^p0 contiguous amplitudes
 * starting at every base index (inserted bits ins[] zero, controls one), split
 * into one contiguous range per thread, with incremental indexing. */
#define QT_RUN_RANGE(par_, ins, nins, cmask, p0_, nouter_, free_, ...)                        \
    {                                                                                        \
        int64_t lo_ = 0, hi_ = nouter_;                                                      \
        if (par_) qt_range(nouter_, &lo_, &hi_);                                             \
        int64_t i0 = hi_ > lo_ ? (qt_insert(lo_ << p0_, (ins), (nins)) | (cmask)) : 0;       \
        for (int64_t o_ = lo_; o_ < hi_; ++o_) {                                             \
            __VA_ARGS__;                                                                     \
            i0 = qt_next(i0, free_, (cmask));                                                \
        }                                                                                    \
    }
/* (no OpenMP region at all when serial: even an if(0) region costs a runtime call) */
#define QT_RUN_LOOP(n, ins, nins, cmask, nth, work, ...)                                     \
    do {                                                                                     \
        const int p0_ = (nins) ? (ins)[0] : (n);                                              \
        const int64_t run = INT64_C(1) << p0_;                                               \
        const int64_t nouter_ = INT64_C(1) << ((n) - (nins) - p0_);                          \
        uint64_t insm_ = 0;                                                                  \
        for (int k_ = 0; k_ < (nins); ++k_) insm_ |= UINT64_C(1) << (ins)[k_];               \
        const uint64_t free_ = ((n) >= 64 ? ~UINT64_C(0) : ((UINT64_C(1) << (n)) - 1)) &     \
                               ~insm_ & ~(uint64_t)(run - 1);                                \
        if (nth > 1 && (work) >= QT_PAR_MIN && nouter_ > 1) {                                \
            _Pragma("omp parallel num_threads(nth)")                                         \
            QT_RUN_RANGE(1, ins, nins, cmask, p0_, nouter_, free_, __VA_ARGS__)              \
        } else {                                                                             \
            QT_RUN_RANGE(0, ins, nins, cmask, p0_, nouter_, free_, __VA_ARGS__)              \
        }                                                                                    \
    } while (0)

static void *qt_aligned_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    return p;
}

/* Kernels for double (_d) and float (_f); QT_AVX selects the AVX2+FMA code paths. */
#define QT_TEMPLATE 1
#ifdef QT_SIMD_BUILTIN
#define QT_AVX 1
#endif
#define T double
#define SFX(name) name##_d
#define QT_DBL 1
#include "_kernels.c"
#undef T
#undef SFX
#undef QT_DBL

#define T float
#define SFX(name) name##_f
#define QT_DBL 0
#include "_kernels.c"
#undef T
#undef SFX
#undef QT_DBL
#undef QT_AVX

#ifdef QT_SIMD_DISPATCH
/* The same kernels again, compiled for AVX2+FMA (_d_avx, _f_avx): only called
 * after __builtin_cpu_supports says the CPU has both. */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define QT_AVX 1
#define T double
#define SFX(name) name##_d_avx
#define QT_DBL 1
#include "_kernels.c"
#undef T
#undef SFX
#undef QT_DBL

#define T float
#define SFX(name) name##_f_avx
#define QT_DBL 0
#include "_kernels.c"
#undef T
#undef SFX
#undef QT_DBL
#undef QT_AVX
#pragma GCC pop_options
#endif
#undef QT_TEMPLATE

typedef int (*qt_run_d_fn)(double *, int, const int64_t *, int64_t, const double *, int64_t, int, char *);
typedef int (*qt_run_f_fn)(float *, int, const int64_t *, int64_t, const double *, int64_t, int, char *);

/* The kernels in use (qt_select_simd switches them; scalar until the module initialises). */
static qt_run_d_fn run_program_double = run_program_d;
static qt_run_f_fn run_program_float = run_program_f;
static int qt_simd_avx = 0; /* 1 when the AVX2+FMA kernels are in use */

/* 1 when this build has AVX2+FMA kernels and the CPU runs them. */
static int qt_avx_supported(void)
{
#if defined(QT_SIMD_BUILTIN)
    return 1;
#elif defined(QT_SIMD_DISPATCH)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* Use the AVX2+FMA kernels (avx = 1) or the scalar ones; returns -1 when unavailable. */
static int qt_select_simd(int avx)
{
    if (avx && !qt_avx_supported()) return -1;
#if defined(QT_SIMD_DISPATCH)
    run_program_double = avx ? run_program_d_avx : run_program_d;
    run_program_float = avx ? run_program_f_avx : run_program_f;
#elif defined(QT_SIMD_BUILTIN)
    if (!avx) return -1; /* the AVX2 kernels are the only ones in this build */
#endif
    qt_simd_avx = avx;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Python glue                                                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    Py_buffer view;
    int is_double;
    int n;
} qt_state;

static int qt_get_state(PyObject *obj, qt_state *st)
{
    if (PyObject_GetBuffer(obj, &st->view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *fmt = st->view.format ? st->view.format : "";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') ++fmt;
    if (strcmp(fmt, "Zd") == 0 && st->view.itemsize == 16) {
        st->is_double = 1;
    } else if (strcmp(fmt, "Zf") == 0 && st->view.itemsize == 8) {
        st->is_double = 0;
    } else {
        PyErr_SetString(PyExc_TypeError, "state must be a contiguous complex128 or complex64 buffer");
        PyBuffer_Release(&st->view);
        return -1;
    }
    Py_ssize_t len = st->view.len / st->view.itemsize;
    int n = 0;
    while ((((Py_ssize_t)1) << n) < len) ++n;
    if (len < 1 || (((Py_ssize_t)1) << n) != len) {
        PyErr_SetString(PyExc_ValueError, "state length must be a power of two");
        PyBuffer_Release(&st->view);
        return -1;
    }
    st->n = n;
    return 0;
}

static int qt_get_ro(PyObject *obj, Py_buffer *view, const char *want, Py_ssize_t itemsize, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *fmt = view->format ? view->format : "";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') ++fmt;
    int ok = view->itemsize == itemsize &&
             (strcmp(fmt, want) == 0 || (want[0] == 'q' && (strcmp(fmt, "l") == 0 || strcmp(fmt, "q") == 0)));
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous %s array", what,
                     want[0] == 'q' ? "int64" : "complex128");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int qt_threads(int threads)
{
    if (threads < 1) threads = 1;
    return threads;
}

static PyObject *py_run_program(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *state_obj, *code_obj, *data_obj;
    int threads = 1;
    if (!PyArg_ParseTuple(args, "OOO|i", &state_obj, &code_obj, &data_obj, &threads)) return NULL;
    qt_state st;
    Py_buffer code, data;
    if (qt_get_state(state_obj, &st) < 0) return NULL;
    if (qt_get_ro(code_obj, &code, "q", 8, "code") < 0) {
        PyBuffer_Release(&st.view);
        return NULL;
    }
    if (qt_get_ro(data_obj, &data, "Zd", 16, "data") < 0) {
        PyBuffer_Release(&st.view);
        PyBuffer_Release(&code);
        return NULL;
    }
    const int64_t *c = (const int64_t *)code.buf;
    Py_ssize_t nc = code.len / 8;
    const double *d = (const double *)data.buf;
    Py_ssize_t nd = data.len / 16;
    char err[200] = {0};
    int rc;
    threads = qt_threads(threads);
    Py_BEGIN_ALLOW_THREADS
    if (st.is_double)
        rc = run_program_double((double *)st.view.buf, st.n, c, nc, d, nd, threads, err);
    else
        rc = run_program_float((float *)st.view.buf, st.n, c, nc, d, nd, threads, err);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&st.view);
    PyBuffer_Release(&code);
    PyBuffer_Release(&data);
    if (rc != 0) {
        PyErr_SetString(PyExc_ValueError, err[0] ? err : "invalid program");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Read a sequence of ints (qubits) into out; returns count or -1. */
static int qt_int_seq(PyObject *obj, int *out, int maxn, const char *what)
{
    PyObject *seq = PySequence_Fast(obj, what);
    if (!seq) return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    if (len > maxn) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "too many %s (max %d)", what, maxn);
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; ++i) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        out[i] = (int)v;
    }
    Py_DECREF(seq);
    return (int)len;
}

/*
 * Shared implementation of apply_matrix / apply_diagonal / apply_permutation:
 * canonicalise the targets to ascending order (re-indexing the data), pack a
 * one-op GLOBAL program and run it.
 */
static PyObject *qt_apply_one(int kind, PyObject *state_obj, PyObject *targets_obj, PyObject *controls_obj,
                              PyObject *data_obj, PyObject *perm_obj, int threads)
{
    int tq[QT_MAXQ], cq[QT_MAXQ];
    int nt = qt_int_seq(targets_obj, tq, kind == QT_DIAG ? QT_MAXDT : QT_MAXT, "targets");
    if (nt < 0) return NULL;
    int ncq = 0;
    if (controls_obj && controls_obj != Py_None) {
        ncq = qt_int_seq(controls_obj, cq, QT_MAXQ - 1, "controls");
        if (ncq < 0) return NULL;
    }
    int64_t K = INT64_C(1) << nt;
    Py_buffer dv;
    if (qt_get_ro(data_obj, &dv, "Zd", 16, "data") < 0) return NULL;
    int64_t need = kind == QT_DENSE ? K * K : K;
    if (dv.len / 16 != need) {
        PyBuffer_Release(&dv);
        PyErr_Format(PyExc_ValueError, "data must hold %lld complex numbers", (long long)need);
        return NULL;
    }
    int pin[1 << QT_MAXT];
    if (kind == QT_PERM) {
        int np = qt_int_seq(perm_obj, pin, 1 << QT_MAXT, "perm");
        if (np < 0 || np != K) {
            PyBuffer_Release(&dv);
            if (np >= 0) PyErr_SetString(PyExc_ValueError, "perm must have 2**k entries");
            return NULL;
        }
    }
    /* order[i] = position j in the listed targets of the i-th smallest target */
    int order[QT_MAXQ];
    for (int i = 0; i < nt; ++i) order[i] = i;
    for (int i = 1; i < nt; ++i)
        for (int j = i; j > 0 && tq[order[j - 1]] > tq[order[j]]; --j) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    /* old index of new (sorted-convention) index r */
    int64_t *map = malloc(sizeof(int64_t) * (size_t)K);
    int64_t *inv = malloc(sizeof(int64_t) * (size_t)K);
    double *d2 = malloc(16 * (size_t)need);
    int64_t *code = malloc(sizeof(int64_t) * (size_t)(8 + 2 * QT_MAXQ + K));
    if (!map || !inv || !d2 || !code) {
        free(map); free(inv); free(d2); free(code);
        PyBuffer_Release(&dv);
        return PyErr_NoMemory();
    }
    for (int64_t r = 0; r < K; ++r) {
        int64_t o = 0;
        for (int i = 0; i < nt; ++i)
            if (r >> i & 1) o |= INT64_C(1) << order[i];
        map[r] = o;
        inv[o] = r;
    }
    const double *src = (const double *)dv.buf;
    for (int64_t r = 0; r < K; ++r) {
        if (kind == QT_DENSE) {
            for (int64_t c = 0; c < K; ++c) {
                d2[2 * (r * K + c)] = src[2 * (map[r] * K + map[c])];
                d2[2 * (r * K + c) + 1] = src[2 * (map[r] * K + map[c]) + 1];
            }
        } else {
            d2[2 * r] = src[2 * map[r]];
            d2[2 * r + 1] = src[2 * map[r] + 1];
        }
    }
    PyBuffer_Release(&dv);
    int64_t *w = code;
    *w++ = QT_SEG_GLOBAL;
    *w++ = 1;
    *w++ = kind;
    *w++ = nt;
    *w++ = ncq;
    *w++ = 0;
    for (int i = 0; i < nt; ++i) *w++ = tq[order[i]];
    for (int i = 0; i < ncq; ++i) *w++ = cq[i];
    if (kind == QT_PERM)
        for (int64_t r = 0; r < K; ++r) {
            if (pin[map[r]] < 0 || pin[map[r]] >= K) {
                free(map); free(inv); free(d2); free(code);
                PyErr_SetString(PyExc_ValueError, "perm entries out of range");
                return NULL;
            }
            *w++ = inv[pin[map[r]]];
        }
    PyObject *res = NULL;
    qt_state st;
    if (qt_get_state(state_obj, &st) == 0) {
        char err[200] = {0};
        int rc;
        threads = qt_threads(threads);
        Py_BEGIN_ALLOW_THREADS
        if (st.is_double)
            rc = run_program_double((double *)st.view.buf, st.n, code, w - code, d2, need, threads, err);
        else
            rc = run_program_float((float *)st.view.buf, st.n, code, w - code, d2, need, threads, err);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&st.view);
        if (rc != 0)
            PyErr_SetString(PyExc_ValueError, err);
        else
            res = Py_NewRef(Py_None);
    }
    free(map); free(inv); free(d2); free(code);
    return res;
}

static PyObject *py_apply_matrix(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "targets", "matrix", "controls", "threads", NULL};
    PyObject *s, *t, *m, *c = NULL;
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|Oi", kwlist, &s, &t, &m, &c, &threads)) return NULL;
    return qt_apply_one(QT_DENSE, s, t, c, m, NULL, threads);
}

static PyObject *py_apply_diagonal(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "targets", "diagonal", "controls", "threads", NULL};
    PyObject *s, *t, *m, *c = NULL;
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|Oi", kwlist, &s, &t, &m, &c, &threads)) return NULL;
    return qt_apply_one(QT_DIAG, s, t, c, m, NULL, threads);
}

static PyObject *py_apply_permutation(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "targets", "perm", "phases", "controls", "threads", NULL};
    PyObject *s, *t, *p, *ph, *c = NULL;
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO|Oi", kwlist, &s, &t, &p, &ph, &c, &threads)) return NULL;
    return qt_apply_one(QT_PERM, s, t, c, ph, p, threads);
}

/*
 * fill(state, source=None, threads=1): ask for transparent huge pages on the
 * (not yet touched) buffer, then write it in parallel: |0...0> when source is
 * None, else a copy of source (same dtype and length). Huge pages cut the TLB
 * misses of strided chunk gathers on large states.
 */
static PyObject *py_fill(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "source", "threads", NULL};
    PyObject *state_obj, *src_obj = Py_None;
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Oi", kwlist, &state_obj, &src_obj, &threads)) return NULL;
    qt_state st;
    if (qt_get_state(state_obj, &st) < 0) return NULL;
    Py_buffer src = {0};
    int have_src = src_obj != Py_None;
    if (have_src) {
        if (PyObject_GetBuffer(src_obj, &src, PyBUF_C_CONTIGUOUS) < 0) {
            PyBuffer_Release(&st.view);
            return NULL;
        }
        if (src.len != st.view.len) {
            PyBuffer_Release(&src);
            PyBuffer_Release(&st.view);
            PyErr_SetString(PyExc_ValueError, "source must have the same size in bytes as state");
            return NULL;
        }
    }
    char *buf = st.view.buf;
    const char *sbuf = have_src ? src.buf : NULL;
    size_t len = (size_t)st.view.len;
    size_t isz = (size_t)st.view.itemsize;
    threads = qt_threads(threads);
    const size_t huge = (size_t)1 << 21;
    Py_BEGIN_ALLOW_THREADS
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t lo = ((uintptr_t)buf + huge - 1) & ~(uintptr_t)(huge - 1);
    uintptr_t hi = ((uintptr_t)buf + len) & ~(uintptr_t)(huge - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#endif
    const int64_t nblk = (int64_t)((len + huge - 1) / huge);
#pragma omp parallel for num_threads(threads) if (threads > 1 && len >= ((size_t)1 << 22)) schedule(static)
    for (int64_t b = 0; b < nblk; ++b) {
        size_t o = (size_t)b * huge, e = o + huge < len ? o + huge : len;
        if (sbuf)
            memcpy(buf + o, sbuf + o, e - o);
        else
            memset(buf + o, 0, e - o);
    }
    if (!sbuf) {
        if (isz == 16)
            ((double *)buf)[0] = 1.0;
        else
            ((float *)buf)[0] = 1.0f;
    }
    Py_END_ALLOW_THREADS
    if (have_src) PyBuffer_Release(&src);
    PyBuffer_Release(&st.view);
    Py_RETURN_NONE;
}

static PyObject *py_info(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    int omp = 0;
#ifdef _OPENMP
    omp = omp_get_max_threads();
#endif
#if defined(QT_SIMD_BUILTIN)
    const char *dispatch = "compile-time";
#elif defined(QT_SIMD_DISPATCH)
    const char *dispatch = "runtime";
#else
    const char *dispatch = "none";
#endif
    return Py_BuildValue("{s:s,s:s,s:O,s:i,s:i,s:i}", "simd", qt_simd_avx ? "avx2+fma" : "scalar", "dispatch",
                         dispatch, "cpu_avx2_fma", qt_avx_supported() ? Py_True : Py_False,
                         "openmp_max_threads", omp, "max_dense_targets", QT_MAXT, "max_diag_targets", QT_MAXDT);
}

/* set_simd(name): switch kernels ("avx2+fma" or "scalar"); returns the previous name. */
static PyObject *py_set_simd(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (!name) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "set_simd expects 'avx2+fma' or 'scalar'");
        return NULL;
    }
    int want;
    if (strcmp(name, "avx2+fma") == 0) {
        want = 1;
    } else if (strcmp(name, "scalar") == 0) {
        want = 0;
    } else {
        PyErr_Format(PyExc_ValueError, "unknown SIMD flavour %R: expected 'avx2+fma' or 'scalar'", arg);
        return NULL;
    }
    const char *previous = qt_simd_avx ? "avx2+fma" : "scalar";
    if (qt_select_simd(want) < 0) {
        PyErr_Format(PyExc_ValueError, "SIMD flavour %R is not available (%s)", arg,
                     want ? "this CPU or build has no AVX2+FMA kernels" : "this build has only AVX2+FMA kernels");
        return NULL;
    }
    return PyUnicode_FromString(previous);
}

static PyMethodDef qt_methods[] = {
    {"run_program", py_run_program, METH_VARARGS,
     "run_program(state, code, data, threads=1)\n\nRun a packed program (int64 code, complex128 data) in place."},
    {"apply_matrix", (PyCFunction)(void (*)(void))py_apply_matrix, METH_VARARGS | METH_KEYWORDS,
     "apply_matrix(state, targets, matrix, controls=(), threads=1)\n\n"
     "Apply a dense 2^k x 2^k complex128 matrix (first target = least significant index bit) in place,\n"
     "only on amplitudes whose control qubits are all 1."},
    {"apply_diagonal", (PyCFunction)(void (*)(void))py_apply_diagonal, METH_VARARGS | METH_KEYWORDS,
     "apply_diagonal(state, targets, diagonal, controls=(), threads=1)\n\nMultiply by a diagonal in place."},
    {"apply_permutation", (PyCFunction)(void (*)(void))py_apply_permutation, METH_VARARGS | METH_KEYWORDS,
     "apply_permutation(state, targets, perm, phases, controls=(), threads=1)\n\n"
     "new[perm[r]] = phases[r] * old[r] on the targets' index r, in place."},
    {"fill", (PyCFunction)(void (*)(void))py_fill, METH_VARARGS | METH_KEYWORDS,
     "fill(state, source=None, threads=1)\n\nRequest huge pages, then write |0...0> (or a copy of source) in parallel."},
    {"info", py_info, METH_NOARGS,
     "Build information: SIMD flavour in use, how it was chosen, CPU support, OpenMP threads, limits."},
    {"set_simd", py_set_simd, METH_O,
     "set_simd(name)\n\nUse the 'avx2+fma' or the 'scalar' kernels from now on; returns the previous name."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef qt_module = {PyModuleDef_HEAD_INIT, "_kernels",
                                       "In-place CPU statevector kernels of qtandem (see _kernels.c).", -1,
                                       qt_methods, NULL, NULL, NULL, NULL};

static int qt_register_extra(PyObject *module); /* functions appended at the end of this file */

PyMODINIT_FUNC PyInit__kernels(void)
{
    qt_select_simd(qt_avx_supported()); /* the fastest flavour this CPU runs */
    PyObject *module = PyModule_Create(&qt_module);
    if (module && qt_register_extra(module) < 0) Py_CLEAR(module);
    return module;
}

#else /* ===================== QT_TEMPLATE: kernels for type T ===================== */

#ifdef QT_AVX
#if QT_DBL
typedef __m256d SFX(vec);
#define VW 2 /* complex numbers per vector */
#define VB 1 /* log2(VW) */
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_storeu_pd((p), (v))
#define VSET1(x) _mm256_set1_pd(x)
#define VMUL(a, b) _mm256_mul_pd((a), (b))
#define VSUB(a, b) _mm256_sub_pd((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define VSWAP(a) _mm256_permute_pd((a), 0x5)
#define VADDSUB(a, b) _mm256_addsub_pd((a), (b))
#define VFMADDSUB(a, b, c) _mm256_fmaddsub_pd((a), (b), (c))
#define VZERO() _mm256_setzero_pd()
#else
typedef __m256 SFX(vec);
#define VW 4
#define VB 2
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(x) _mm256_set1_ps(x)
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VSWAP(a) _mm256_permute_ps((a), 0xB1)
#define VADDSUB(a, b) _mm256_addsub_ps((a), (b))
#define VFMADDSUB(a, b, c) _mm256_fmaddsub_ps((a), (b), (c))
#define VZERO() _mm256_setzero_ps()
#endif
#define V SFX(vec)
#else
#define VB 62 /* never vectorise */
#endif

/* A prepared op: qubit bookkeeping plus data converted to T (and, with AVX,
 * pre-broadcast matrix vectors). Built once per program, shared by chunks. */
typedef struct {
    int kind, nt, nc, nins;
    int real;         /* DENSE: the matrix is real (half the multiply-adds) */
    int ins[QT_MAXQ]; /* sorted targets + controls */
    int64_t cmask;    /* OR-ed into every base index: controls = 1 */
    int64_t *off;     /* offset of target pattern r (K entries) */
    int64_t K;
    T *m;       /* scalar data, interleaved: matrix K*K, diag K, phases K */
    int perm[1 << QT_MAXT];
    int nmove;  /* PERM: number of moved entries */
    int src[1 << QT_MAXT], dst[1 << QT_MAXT], phased[1 << QT_MAXT];
#ifdef QT_AVX
    V *mr, *mi;  /* DENSE: broadcast re/im of M[r][c]; DIAG: per high pattern lane factors */
    int nlow;    /* DIAG: targets below VB folded into the lane factors */
    int dins[QT_MAXQ], ndins; /* DIAG: inserted bits for the run loop (high targets + controls) */
    int64_t *doff; /* DIAG / low DENSE: offset of high target pattern h */
    V *cr, *ci;    /* low DENSE: lane coefficients [r'][c'][s] */
    int sidx[4][8]; /* low DENSE: lane-duplication index per source pattern s */
#endif
} SFX(op);

static void SFX(op_free)(SFX(op) *op)
{
    free(op->m);
    free(op->off);
#ifdef QT_AVX
    free(op->mr);
    free(op->mi);
    free(op->doff);
    free(op->cr);
    free(op->ci);
#endif
}

/* Prepare op from a raw record whose qubits are < n; data = complex128. */
static int SFX(op_prepare)(SFX(op) *op, const qt_raw_op *raw, const double *data, int64_t ndata, int n,
                           char *err)
{
    memset(op, 0, sizeof(*op));
    op->kind = raw->kind;
    op->nt = raw->nt;
    op->nc = raw->nc;
    if (raw->kind == QT_TILE) {
        if (raw->nt < 1 || raw->nt > n || raw->nc < 0) {
            snprintf(err, 200, "bad tile marker (%d bits, %d ops, %d qubits)", raw->nt, raw->nc, n);
            return -1;
        }
        return 0;
    }
    int maxt = raw->kind == QT_DIAG ? QT_MAXDT : QT_MAXT;
    if (raw->nt < 0 || raw->nt > maxt || raw->nc < 0 || raw->nt + raw->nc > n || raw->kind < 0 ||
        raw->kind > 2) {
        snprintf(err, 200, "bad op header (kind %d, %d targets, %d controls, %d qubits)", raw->kind, raw->nt,
                 raw->nc, n);
        return -1;
    }
    int64_t K = INT64_C(1) << raw->nt;
    op->K = K;
    int64_t need = raw->kind == QT_DENSE ? K * K : K;
    if (raw->doff < 0 || raw->doff + need > ndata) {
        snprintf(err, 200, "op data out of range");
        return -1;
    }
    int64_t used = 0;
    for (int i = 0; i < raw->nt + raw->nc; ++i) {
        int q = i < raw->nt ? raw->tq[i] : raw->cq[i - raw->nt];
        if (q < 0 || q >= n || (used >> q & 1)) {
            snprintf(err, 200, "qubit %d out of range or repeated (n=%d)", q, n);
            return -1;
        }
        if (i > 0 && i < raw->nt && raw->tq[i] <= raw->tq[i - 1]) {
            snprintf(err, 200, "targets must be ascending");
            return -1;
        }
        used |= INT64_C(1) << q;
    }
    op->nins = 0;
    for (int q = 0; q < n; ++q)
        if (used >> q & 1) op->ins[op->nins++] = q;
    for (int i = 0; i < raw->nc; ++i) op->cmask |= INT64_C(1) << raw->cq[i];
    op->off = malloc(sizeof(int64_t) * (size_t)K);
    op->m = malloc(sizeof(T) * 2 * (size_t)need);
    if (!op->m || !op->off) {
        snprintf(err, 200, "out of memory");
        return -1;
    }
    for (int64_t r = 0; r < K; ++r) {
        int64_t o = 0;
        for (int j = 0; j < raw->nt; ++j)
            if (r >> j & 1) o |= INT64_C(1) << raw->tq[j];
        op->off[r] = o;
    }
    const double *src = data + 2 * raw->doff;
    for (int64_t i = 0; i < 2 * need; ++i) op->m[i] = (T)src[i];
    op->real = raw->kind == QT_DENSE;
    for (int64_t i = 0; i < need && op->real; ++i) op->real = src[2 * i + 1] == 0.0;
    if (raw->kind == QT_PERM) {
        for (int64_t r = 0; r < K; ++r) {
            if (raw->perm[r] < 0 || raw->perm[r] >= K) {
                snprintf(err, 200, "perm entries out of range");
                return -1;
            }
            op->perm[r] = raw->perm[r];
        }
        int seen[1 << QT_MAXT] = {0};
        for (int64_t r = 0; r < K; ++r) {
            if (seen[op->perm[r]]++) {
                snprintf(err, 200, "perm is not a permutation");
                return -1;
            }
            int ph = !(src[2 * r] == 1.0 && src[2 * r + 1] == 0.0);
            if (op->perm[r] != r || ph) {
                op->src[op->nmove] = (int)r;
                op->dst[op->nmove] = op->perm[r];
                op->phased[op->nmove] = ph;
                op->nmove++;
            }
        }
    }
#ifdef QT_AVX
    if (raw->kind == QT_DENSE) {
        op->mr = qt_aligned_alloc(sizeof(V) * (size_t)(K * K));
        op->mi = qt_aligned_alloc(sizeof(V) * (size_t)(K * K));
        if (!op->mr || !op->mi) {
            snprintf(err, 200, "out of memory");
            return -1;
        }
        for (int64_t i = 0; i < K * K; ++i) {
            op->mr[i] = VSET1(op->m[2 * i]);
            /* (-im, +im) per complex slot: w = sum v*re + swap(v)*im' */
            op->mi[i] = VADDSUB(VZERO(), VSET1(op->m[2 * i + 1]));
        }
        int nlow = 0;
        while (nlow < raw->nt && raw->tq[nlow] < VB) ++nlow;
        op->nlow = nlow;
        if (nlow > 0 && raw->nt <= 5) {
            /* targets inside a vector: w[r'] = sum_{c',s} coef[r'][c'][s] * dup_s(v[c']) */
            int64_t KH = K >> nlow, NS = INT64_C(1) << nlow;
            int lowmask = 0;
            for (int j = 0; j < nlow; ++j) lowmask |= 1 << raw->tq[j];
            op->ndins = 0;
            for (int i = 0; i < op->nins; ++i)
                if (op->ins[i] >= VB || (op->cmask >> op->ins[i] & 1)) op->dins[op->ndins++] = op->ins[i];
            op->cr = qt_aligned_alloc(sizeof(V) * (size_t)(KH * KH * NS));
            op->ci = qt_aligned_alloc(sizeof(V) * (size_t)(KH * KH * NS));
            op->doff = malloc(sizeof(int64_t) * (size_t)KH);
            if (!op->cr || !op->ci || !op->doff) {
                snprintf(err, 200, "out of memory");
                return -1;
            }
            for (int64_t h = 0; h < KH; ++h) op->doff[h] = op->off[h << nlow];
            for (int64_t sp = 0; sp < NS; ++sp) {
                int idx[8];
                int src[VW];
                for (int lane = 0; lane < VW; ++lane) {
                    int l2 = lane & ~lowmask;
                    for (int j = 0; j < nlow; ++j)
                        if (sp >> j & 1) l2 |= 1 << raw->tq[j];
                    src[lane] = l2;
                }
                for (int f = 0; f < 8; ++f) idx[f] = (8 / VW) * src[f / (8 / VW)] + f % (8 / VW);
                memcpy(op->sidx[sp], idx, sizeof(idx));
            }
            for (int64_t rh = 0; rh < KH; ++rh)
                for (int64_t ch = 0; ch < KH; ++ch)
                    for (int64_t sp = 0; sp < NS; ++sp) {
                        T re[2 * VW], im[2 * VW];
                        for (int lane = 0; lane < VW; ++lane) {
                            int64_t rl = 0;
                            for (int j = 0; j < nlow; ++j)
                                if (lane >> raw->tq[j] & 1) rl |= INT64_C(1) << j;
                            int64_t row = (rh << nlow) | rl, col = (ch << nlow) | sp;
                            re[2 * lane] = re[2 * lane + 1] = op->m[2 * (row * K + col)];
                            im[2 * lane] = im[2 * lane + 1] = op->m[2 * (row * K + col) + 1];
                        }
                        int64_t at = (rh * KH + ch) * NS + sp;
#if QT_DBL
                        op->cr[at] = _mm256_loadu_pd(re);
                        op->ci[at] = _mm256_loadu_pd(im);
#else
                        op->cr[at] = _mm256_loadu_ps(re);
                        op->ci[at] = _mm256_loadu_ps(im);
#endif
                    }
        }
    } else if (raw->kind == QT_DIAG) {
        /* targets below VB vary inside a vector: fold them into per-lane factors */
        int nlow = 0;
        while (nlow < raw->nt && raw->tq[nlow] < VB) ++nlow;
        op->nlow = nlow;
        op->ndins = 0;
        for (int i = 0; i < op->nins; ++i)
            if (op->ins[i] >= VB || (op->cmask >> op->ins[i] & 1)) {
                int q = op->ins[i];
                int low_target = 0;
                for (int j = 0; j < nlow; ++j) low_target |= raw->tq[j] == q;
                if (!low_target) op->dins[op->ndins++] = q;
            }
        int64_t KH = K >> nlow;
        op->mr = qt_aligned_alloc(sizeof(V) * (size_t)KH);
        op->mi = qt_aligned_alloc(sizeof(V) * (size_t)KH);
        op->doff = malloc(sizeof(int64_t) * (size_t)KH);
        if (!op->mr || !op->mi || !op->doff) {
            snprintf(err, 200, "out of memory");
            return -1;
        }
        for (int64_t h = 0; h < KH; ++h) {
            T re[2 * VW], im[2 * VW];
            int64_t o = 0;
            for (int j = nlow; j < raw->nt; ++j)
                if (h >> (j - nlow) & 1) o |= INT64_C(1) << raw->tq[j];
            op->doff[h] = o;
            for (int lane = 0; lane < VW; ++lane) {
                int64_t r = h << nlow;
                for (int j = 0; j < nlow; ++j)
                    if (lane >> raw->tq[j] & 1) r |= INT64_C(1) << j;
                re[2 * lane] = re[2 * lane + 1] = op->m[2 * r];
                im[2 * lane] = im[2 * lane + 1] = op->m[2 * r + 1];
            }
#if QT_DBL
            op->mr[h] = _mm256_loadu_pd(re);
            op->mi[h] = _mm256_loadu_pd(im);
#else
            op->mr[h] = _mm256_loadu_ps(re);
            op->mi[h] = _mm256_loadu_ps(im);
#endif
        }
    }
#endif
    return 0;
}

/* ---------------------------- scalar kernels ---------------------------- */

static void SFX(dense_scalar)(T *a, int n, const SFX(op) *op, int nth)
{
    const int64_t K = op->K;
    const T *m = op->m;
    const int64_t work = INT64_C(1) << n;
    QT_RUN_LOOP(n, op->ins, op->nins, op->cmask, nth, work, for (int64_t j0 = 0; j0 < run; ++j0) {
        const int64_t i = i0 + j0;
        T vr[1 << QT_MAXT], vi[1 << QT_MAXT];
        for (int64_t c = 0; c < K; ++c) {
            vr[c] = a[2 * (i + op->off[c])];
            vi[c] = a[2 * (i + op->off[c]) + 1];
        }
        for (int64_t r = 0; r < K; ++r) {
            T sr = 0, si = 0;
            const T *row = m + 2 * r * K;
            for (int64_t c = 0; c < K; ++c) {
                sr += row[2 * c] * vr[c] - row[2 * c + 1] * vi[c];
                si += row[2 * c] * vi[c] + row[2 * c + 1] * vr[c];
            }
            a[2 * (i + op->off[r])] = sr;
            a[2 * (i + op->off[r]) + 1] = si;
        }
    });
}

static void SFX(diag_scalar)(T *a, int n, const SFX(op) *op, int nth)
{
    const int64_t K = op->K;
    const T *m = op->m;
    const int64_t work = INT64_C(1) << n;
    QT_RUN_LOOP(n, op->ins, op->nins, op->cmask, nth, work, for (int64_t j0 = 0; j0 < run; ++j0) {
        for (int64_t r = 0; r < K; ++r) {
            T *p = a + 2 * (i0 + j0 + op->off[r]);
            T xr = p[0], xi = p[1];
            p[0] = m[2 * r] * xr - m[2 * r + 1] * xi;
            p[1] = m[2 * r] * xi + m[2 * r + 1] * xr;
        }
    });
}

static void SFX(perm_scalar)(T *a, int n, const SFX(op) *op, int nth)
{
    const int nm = op->nmove;
    const T *m = op->m;
    const int64_t work = INT64_C(1) << n;
    QT_RUN_LOOP(n, op->ins, op->nins, op->cmask, nth, work, for (int64_t j0 = 0; j0 < run; ++j0) {
        const int64_t i = i0 + j0;
        T vr[1 << QT_MAXT], vi[1 << QT_MAXT];
        for (int k = 0; k < nm; ++k) {
            const T *p = a + 2 * (i + op->off[op->src[k]]);
            vr[k] = p[0];
            vi[k] = p[1];
        }
        for (int k = 0; k < nm; ++k) {
            T *p = a + 2 * (i + op->off[op->dst[k]]);
            int s = op->src[k];
            if (op->phased[k]) {
                p[0] = m[2 * s] * vr[k] - m[2 * s + 1] * vi[k];
                p[1] = m[2 * s] * vi[k] + m[2 * s + 1] * vr[k];
            } else {
                p[0] = vr[k];
                p[1] = vi[k];
            }
        }
    });
}

/* ---------------------------- SIMD kernels ---------------------------- */
#ifdef QT_AVX

/* Dense K x K over vector bases [lo, hi): every inserted bit is >= VB, so each
 * base index starts VW consecutive amplitudes that share their role. Two bases
 * per step, so every coefficient load feeds two multiply-adds (the loop is
 * load-bound otherwise); coefficients are copied to locals so that the compiler
 * may keep them in registers (the SIMD store type may alias anything). */
static inline __attribute__((always_inline)) void SFX(dense_span)(T *a, const SFX(op) *op, int64_t lo, int64_t hi,
                                                                  int n, const int K, const int real)
{
    const int64_t *off = op->off;
    V lr[16], li[16];
    const V *pr = op->mr, *pi = op->mi;
    if (K <= 4) {
        for (int x = 0; x < K * K; ++x) {
            lr[x] = op->mr[x];
            li[x] = op->mi[x];
        }
        pr = lr;
        pi = li;
    }
    uint64_t insm = 0;
    for (int k = 0; k < op->nins; ++k) insm |= UINT64_C(1) << op->ins[k];
    const uint64_t free = ((UINT64_C(1) << n) - 1) & ~insm & ~(uint64_t)(VW - 1);
    const int64_t cm = op->cmask;
    int64_t b0 = qt_insert(lo << VB, op->ins, op->nins) | cm;
    int64_t cnt = hi - lo;
    for (; cnt >= 2; cnt -= 2) {
        const int64_t b1 = qt_next(b0, free, cm);
        V v0[1 << QT_MAXT], v1[1 << QT_MAXT];
        for (int c = 0; c < K; ++c) {
            v0[c] = VLOAD(a + 2 * (b0 + off[c]));
            v1[c] = VLOAD(a + 2 * (b1 + off[c]));
        }
        for (int r = 0; r < K; ++r) {
            V ar0 = VMUL(v0[0], pr[r * K]), ar1 = VMUL(v1[0], pr[r * K]);
            for (int c = 1; c < K; ++c) {
                ar0 = VFMA(v0[c], pr[r * K + c], ar0);
                ar1 = VFMA(v1[c], pr[r * K + c], ar1);
            }
            if (!real) { /* pi holds (-im, +im) per slot: w = ar - swap(sum v * pi) */
                V ai0 = VMUL(v0[0], pi[r * K]), ai1 = VMUL(v1[0], pi[r * K]);
                for (int c = 1; c < K; ++c) {
                    ai0 = VFMA(v0[c], pi[r * K + c], ai0);
                    ai1 = VFMA(v1[c], pi[r * K + c], ai1);
                }
                ar0 = VSUB(ar0, VSWAP(ai0));
                ar1 = VSUB(ar1, VSWAP(ai1));
            }
            VSTORE(a + 2 * (b0 + off[r]), ar0);
            VSTORE(a + 2 * (b1 + off[r]), ar1);
        }
        b0 = qt_next(b1, free, cm);
    }
    if (cnt) {
        V v[1 << QT_MAXT];
        for (int c = 0; c < K; ++c) v[c] = VLOAD(a + 2 * (b0 + off[c]));
        for (int r = 0; r < K; ++r) {
            V ar = VMUL(v[0], pr[r * K]);
            for (int c = 1; c < K; ++c) ar = VFMA(v[c], pr[r * K + c], ar);
            if (!real) {
                V ai = VMUL(v[0], pi[r * K]);
                for (int c = 1; c < K; ++c) ai = VFMA(v[c], pi[r * K + c], ai);
                ar = VSUB(ar, VSWAP(ai));
            }
            VSTORE(a + 2 * (b0 + off[r]), ar);
        }
    }
}

static void SFX(dense_range)(T *a, const SFX(op) *op, int64_t lo, int64_t hi, int n)
{
    switch (op->nt * 2 + op->real) {
    case 2: SFX(dense_span)(a, op, lo, hi, n, 2, 0); break;
    case 3: SFX(dense_span)(a, op, lo, hi, n, 2, 1); break;
    case 4: SFX(dense_span)(a, op, lo, hi, n, 4, 0); break;
    case 5: SFX(dense_span)(a, op, lo, hi, n, 4, 1); break;
    case 6: SFX(dense_span)(a, op, lo, hi, n, 8, 0); break;
    case 7: SFX(dense_span)(a, op, lo, hi, n, 8, 1); break;
    case 8: SFX(dense_span)(a, op, lo, hi, n, 16, 0); break;
    case 9: SFX(dense_span)(a, op, lo, hi, n, 16, 1); break;
    case 10: SFX(dense_span)(a, op, lo, hi, n, 32, 0); break;
    case 11: SFX(dense_span)(a, op, lo, hi, n, 32, 1); break;
    default: SFX(dense_span)(a, op, lo, hi, n, 64, 0); break;
    }
}

static void SFX(dense_vec)(T *a, int n, const SFX(op) *op, int nth)
{
    const int64_t nvec = INT64_C(1) << (n - op->nins - VB);
    if (nth > 1 && (INT64_C(1) << n) >= QT_PAR_MIN && nvec > 1) {
#pragma omp parallel num_threads(nth)
        {
            int64_t lo, hi;
            qt_range(nvec, &lo, &hi);
            if (hi > lo) SFX(dense_range)(a, op, lo, hi, n);
        }
    } else {
        SFX(dense_range)(a, op, 0, nvec, n);
    }
}

#if QT_DBL
#define VPERMV(v, idx) _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v), (idx)))
#else
#define VPERMV(v, idx) _mm256_permutevar8x32_ps((v), (idx))
#endif

/* Dense with targets inside a vector (lane duplication): KH high patterns, NS
 * low ones; w[r'] = sum_{c',s} coef[r'][c'][s] * dup_s(v[c']). Same iteration
 * scheme as dense_span (two vector bases per step, coefficients in locals). */
static inline __attribute__((always_inline)) void SFX(dense_low_span)(T *a, const SFX(op) *op, int64_t lo,
                                                                      int64_t hi, int n, const int KH,
                                                                      const int NS, const int real)
{
    const int64_t *hoff = op->doff;
    enum { NC = 32 };
    V lr[NC], li[NC];
    const V *pr = op->cr, *pi = op->ci;
    if (KH * KH * NS <= 16) {
        for (int x = 0; x < KH * KH * NS; ++x) {
            lr[x] = op->cr[x];
            li[x] = op->ci[x];
        }
        pr = lr;
        pi = li;
    }
    __m256i sidx[4];
    for (int x = 0; x < NS; ++x) sidx[x] = _mm256_loadu_si256((const __m256i *)op->sidx[x]);
    uint64_t insm = 0;
    for (int k = 0; k < op->ndins; ++k) insm |= UINT64_C(1) << op->dins[k];
    const uint64_t free = ((UINT64_C(1) << n) - 1) & ~insm & ~(uint64_t)(VW - 1);
    const int64_t cm = op->cmask;
    int64_t b = qt_insert(lo << VB, op->dins, op->ndins) | cm;
    for (int64_t cnt = hi - lo; cnt > 0; --cnt) {
        V d[32];
        for (int c = 0; c < KH; ++c) {
            V v = VLOAD(a + 2 * (b + hoff[c]));
            for (int x = 0; x < NS; ++x) d[c * NS + x] = VPERMV(v, sidx[x]);
        }
        for (int r = 0; r < KH; ++r) {
            V ar = VMUL(d[0], pr[r * KH * NS]);
            for (int x = 1; x < KH * NS; ++x) ar = VFMA(d[x], pr[r * KH * NS + x], ar);
            if (!real) {
                V ai = VMUL(d[0], pi[r * KH * NS]);
                for (int x = 1; x < KH * NS; ++x) ai = VFMA(d[x], pi[r * KH * NS + x], ai);
                ar = VADDSUB(ar, VSWAP(ai));
            }
            VSTORE(a + 2 * (b + hoff[r]), ar);
        }
        b = qt_next(b, free, cm);
    }
}

static void SFX(dense_low_range)(T *a, const SFX(op) *op, int64_t lo, int64_t hi, int n)
{
#define QT_LOW_CASES(RE)                                                                   \
    switch (op->nt * 4 + op->nlow) {                                                      \
    case 1 * 4 + 1: SFX(dense_low_span)(a, op, lo, hi, n, 1, 2, RE); break;               \
    case 2 * 4 + 1: SFX(dense_low_span)(a, op, lo, hi, n, 2, 2, RE); break;               \
    case 3 * 4 + 1: SFX(dense_low_span)(a, op, lo, hi, n, 4, 2, RE); break;               \
    case 4 * 4 + 1: SFX(dense_low_span)(a, op, lo, hi, n, 8, 2, RE); break;               \
    case 5 * 4 + 1: SFX(dense_low_span)(a, op, lo, hi, n, 16, 2, RE); break;              \
    case 2 * 4 + 2: SFX(dense_low_span)(a, op, lo, hi, n, 1, 4, RE); break;               \
    case 3 * 4 + 2: SFX(dense_low_span)(a, op, lo, hi, n, 2, 4, RE); break;               \
    case 4 * 4 + 2: SFX(dense_low_span)(a, op, lo, hi, n, 4, 4, RE); break;               \
    default: SFX(dense_low_span)(a, op, lo, hi, n, 8, 4, RE); break;                      \
    }
    if (op->real) {
        QT_LOW_CASES(1)
    } else {
        QT_LOW_CASES(0)
    }
#undef QT_LOW_CASES
}

static void SFX(dense_low)(T *a, int n, const SFX(op) *op, int nth)
{
    const int64_t nvec = INT64_C(1) << (n - op->ndins - VB);
    if (nth > 1 && (INT64_C(1) << n) >= QT_PAR_MIN && nvec > 1) {
#pragma omp parallel num_threads(nth)
        {
            int64_t lo, hi;
            qt_range(nvec, &lo, &hi);
            if (hi > lo) SFX(dense_low_range)(a, op, lo, hi, n);
        }
    } else {
        SFX(dense_low_range)(a, op, 0, nvec, n);
    }
}

static void SFX(diag_vec)(T *a, int n, const SFX(op) *op, int nth)
{
    const int64_t KH = op->K >> op->nlow;
    const V *fr = op->mr, *fi = op->mi;
    const int64_t *doff = op->doff;
    const int64_t work = INT64_C(1) << n;
    QT_RUN_LOOP(n, op->dins, op->ndins, op->cmask, nth, work, {
        for (int64_t h = 0; h < KH; ++h) {
            T *p = a + 2 * (i0 + doff[h]);
            const V r = fr[h], im = fi[h];
            for (int64_t j = 0; j < run; j += VW) {
                V v = VLOAD(p + 2 * j);
                VSTORE(p + 2 * j, VFMADDSUB(v, r, VMUL(VSWAP(v), im)));
            }
        }
    });
}

static void SFX(perm_vec)(T *a, int n, const SFX(op) *op, int nth)
{
    const int nm = op->nmove;
    V phr[1 << QT_MAXT], phi[1 << QT_MAXT];
    for (int k = 0; k < nm; ++k) {
        phr[k] = VSET1(op->m[2 * op->src[k]]);
        phi[k] = VSET1(op->m[2 * op->src[k] + 1]);
    }
    int64_t so[1 << QT_MAXT], dof[1 << QT_MAXT];
    for (int k = 0; k < nm; ++k) {
        so[k] = op->off[op->src[k]];
        dof[k] = op->off[op->dst[k]];
    }
    const int64_t work = INT64_C(1) << n;
    QT_RUN_LOOP(n, op->ins, op->nins, op->cmask, nth, work, {
        for (int64_t j = 0; j < run; j += VW) {
            V v[1 << QT_MAXT];
            for (int k = 0; k < nm; ++k) v[k] = VLOAD(a + 2 * (i0 + so[k] + j));
            for (int k = 0; k < nm; ++k) {
                V x = v[k];
                if (op->phased[k]) x = VFMADDSUB(x, phr[k], VMUL(VSWAP(x), phi[k]));
                VSTORE(a + 2 * (i0 + dof[k] + j), x);
            }
        }
    });
}
#endif /* QT_AVX */

/* Apply one prepared op to a 2^n buffer with nth threads. */
static void SFX(apply_op)(T *a, int n, const SFX(op) *op, int nth)
{
    switch (op->kind) {
    case QT_DENSE:
#ifdef QT_AVX
        if (op->nins > 0 && op->ins[0] >= VB) {
            SFX(dense_vec)(a, n, op, nth);
            return;
        }
        if (op->cr && n >= VB && (op->cmask & ((INT64_C(1) << VB) - 1)) == 0) {
            SFX(dense_low)(a, n, op, nth);
            return;
        }
#endif
        SFX(dense_scalar)(a, n, op, nth);
        return;
    case QT_DIAG:
#ifdef QT_AVX
        if (n >= VB && (op->cmask & ((INT64_C(1) << VB) - 1)) == 0) {
            SFX(diag_vec)(a, n, op, nth);
            return;
        }
#endif
        SFX(diag_scalar)(a, n, op, nth);
        return;
    default:
        if (op->nmove == 0) return;
#ifdef QT_AVX
        if (op->nins > 0 && op->ins[0] >= VB) {
            SFX(perm_vec)(a, n, op, nth);
            return;
        }
#endif
        SFX(perm_scalar)(a, n, op, nth);
        return;
    }
}

/* Apply a list of ops (with tile groups) to a 2^n buffer. With nth > 1 the
 * tiles of a group are shared out between threads, other ops parallelise inside. */
static void SFX(apply_ops)(T *a, int n, const SFX(op) *ops, int nops, int nth)
{
    for (int k = 0; k < nops;) {
        if (ops[k].kind != QT_TILE) {
            SFX(apply_op)(a, n, &ops[k], nth);
            ++k;
            continue;
        }
        const int tb = ops[k].nt, cnt = ops[k].nc;
        const int64_t ntiles = INT64_C(1) << (n - tb);
        const SFX(op) *grp = ops + k + 1;
        if (nth > 1 && ntiles > 1 && (INT64_C(1) << n) >= QT_PAR_MIN) {
#pragma omp parallel for num_threads(nth) schedule(static)
            for (int64_t t = 0; t < ntiles; ++t)
                for (int j = 0; j < cnt; ++j) SFX(apply_op)(a + 2 * (t << tb), tb, &grp[j], 1);
        } else {
            for (int64_t t = 0; t < ntiles; ++t)
                for (int j = 0; j < cnt; ++j) SFX(apply_op)(a + 2 * (t << tb), tb, &grp[j], 1);
        }
        k += 1 + cnt;
    }
}

/* Process a CHUNK segment: ops (local qubits) over 2^(n-L) gathered chunks. */
static void SFX(run_chunks)(T *a, int n, int L, const int *S, const SFX(op) *ops, int nops, int nth)
{
    int64_t smask = 0;
    for (int i = 0; i < L; ++i) smask |= INT64_C(1) << S[i];
    int m = 0;
    while (m < L && S[m] == m) ++m;
    const int direct = (m == L);
    const int64_t full = (n >= 63) ? -1 : ((INT64_C(1) << n) - 1);
    const int64_t outmask = full & ~smask;
    const int64_t hmask = smask & ~((INT64_C(1) << m) - 1);
    const int64_t nchunks = INT64_C(1) << (n - L);
    const int64_t nruns = INT64_C(1) << (L - m);
    const size_t runbytes = sizeof(T) * 2 * ((size_t)1 << m);
    if (nth > nchunks) nth = (int)nchunks;
#pragma omp parallel num_threads(nth)
    {
        T *buf = direct ? NULL : qt_aligned_alloc(sizeof(T) * 2 * ((size_t)1 << L));
#pragma omp for schedule(static)
        for (int64_t c = 0; c < nchunks; ++c) {
            int64_t base = qt_pdep(c, outmask);
            T *b;
            if (direct) {
                b = a + 2 * base;
            } else {
                b = buf;
                int64_t g = 0;
                for (int64_t r = 0; r < nruns; ++r) {
                    memcpy(b + 2 * (r << m), a + 2 * (base + g), runbytes);
                    g = ((g | ~hmask) + 1) & hmask;
                }
            }
            SFX(apply_ops)(b, L, ops, nops, 1);
            if (!direct) {
                int64_t g = 0;
                for (int64_t r = 0; r < nruns; ++r) {
                    memcpy(a + 2 * (base + g), b + 2 * (r << m), runbytes);
                    g = ((g | ~hmask) + 1) & hmask;
                }
            }
        }
        free(buf);
    }
}

/* Decode one op record at code[*pos]; advances *pos. */
static int SFX(read_op)(const int64_t *code, int64_t ncode, int64_t *pos, qt_raw_op *raw, char *err)
{
    int64_t p = *pos;
    if (p + 4 > ncode) goto bad;
    raw->kind = (int)code[p];
    raw->nt = (int)code[p + 1];
    raw->nc = (int)code[p + 2];
    raw->doff = code[p + 3];
    p += 4;
    if (raw->kind == QT_TILE) {
        *pos = p;
        return 0;
    }
    if (raw->nt < 0 || raw->nc < 0 || raw->nt + raw->nc > QT_MAXQ || p + raw->nt + raw->nc > ncode) goto bad;
    if (raw->kind == QT_PERM && raw->nt > QT_MAXT) goto bad;
    for (int i = 0; i < raw->nt; ++i) raw->tq[i] = (int)code[p++];
    for (int i = 0; i < raw->nc; ++i) raw->cq[i] = (int)code[p++];
    if (raw->kind == QT_PERM) {
        int64_t K = INT64_C(1) << raw->nt;
        if (p + K > ncode) goto bad;
        for (int64_t r = 0; r < K; ++r) raw->perm[r] = (int)code[p++];
    }
    *pos = p;
    return 0;
bad:
    snprintf(err, 200, "truncated or malformed op record at code offset %lld", (long long)*pos);
    return -1;
}

/* Run a packed program in place. Returns 0, or -1 with a message in err. */
static int SFX(run_program)(T *a, int n, const int64_t *code, int64_t ncode, const double *data, int64_t ndata,
                            int nth, char *err)
{
    int64_t pos = 0;
    qt_raw_op raw;
    while (pos < ncode) {
        int64_t kind = code[pos++];
        int L = n;
        int S[QT_MAXQ];
        if (kind == QT_SEG_CHUNK) {
            if (pos >= ncode) goto trunc;
            L = (int)code[pos++];
            if (L < 1 || L > n || pos + L > ncode) {
                snprintf(err, 200, "bad chunk size %d for %d qubits", L, n);
                return -1;
            }
            for (int i = 0; i < L; ++i) {
                S[i] = (int)code[pos++];
                if (S[i] < 0 || S[i] >= n || (i > 0 && S[i] <= S[i - 1])) {
                    snprintf(err, 200, "chunk qubits must be ascending and < n");
                    return -1;
                }
            }
        } else if (kind != QT_SEG_GLOBAL) {
            snprintf(err, 200, "unknown segment kind %lld", (long long)kind);
            return -1;
        }
        if (pos >= ncode) goto trunc;
        int64_t nops = code[pos++];
        if (nops < 0 || nops > ncode) goto trunc;
        SFX(op) *ops = calloc((size_t)(nops ? nops : 1), sizeof(SFX(op)));
        if (!ops) {
            snprintf(err, 200, "out of memory");
            return -1;
        }
        int rc = 0;
        int64_t k;
        int64_t tile_left = 0;
        int tile_bits = L;
        for (k = 0; k < nops; ++k) {
            if (SFX(read_op)(code, ncode, &pos, &raw, err) < 0) {
                rc = -1;
                break;
            }
            if (raw.kind == QT_TILE && (tile_left > 0 || raw.nc > nops - k - 1)) {
                snprintf(err, 200, "tile marker overlaps another tile group or runs past its segment");
                rc = -1;
                break;
            }
            int nq = tile_left > 0 ? tile_bits : L;
            if (SFX(op_prepare)(&ops[k], &raw, data, ndata, nq, err) < 0) {
                rc = -1;
                ++k;
                break;
            }
            if (raw.kind == QT_TILE) {
                tile_left = raw.nc;
                tile_bits = raw.nt;
            } else if (tile_left > 0) {
                --tile_left;
            }
        }
        if (rc == 0) {
            if (kind == QT_SEG_CHUNK && L < n)
                SFX(run_chunks)(a, n, L, S, ops, (int)nops, nth);
            else
                SFX(apply_ops)(a, n, ops, (int)nops, nth);
        }
        for (int64_t j = 0; j < k; ++j) SFX(op_free)(&ops[j]);
        free(ops);
        if (rc) return rc;
    }
    return 0;
trunc:
    snprintf(err, 200, "truncated program");
    return -1;
}

#undef VW
#undef VB
#ifdef QT_AVX
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VMUL
#undef VSUB
#undef VFMA
#undef VSWAP
#undef VADDSUB
#undef VFMADDSUB
#undef VZERO
#undef VPERMV
#undef V
#endif

#endif /* QT_TEMPLATE */

#if !defined(QT_TEMPLATE) && !defined(__GNUC__)
static int qt_register_extra(PyObject *module) /* the QAOA kernels need GCC/Clang vector extensions */
{
    (void)module;
    return 0;
}
#endif

#if !defined(QT_TEMPLATE) && defined(__GNUC__)
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif
/* ======================================================================== */
/* QAOA kernels (qtandem.sim.diagonal): p layers of a diagonal phase         */
/* exp(-i gamma_k C) and the transverse-field mixer exp(-i beta_k sum_j X_j),  */
/* cache blocked, plus the adjoint (reverse-mode) gradient.                    */
/*                                                                            */
/* A layer is two memory passes over the state instead of n + 1:              */
/*   LOW pass:  contiguous blocks of 2^L amplitudes (L = low_bits): the phase  */
/*              (one table lookup per amplitude when the cost takes few values */
/*              -- uint16 "levels" into a per-layer table of exp(-i gamma c) -- */
/*              or cos/sin of gamma * cost[i] otherwise), then RX on qubits    */
/*              0..L-1 while the block sits in L2.                             */
/*   HIGH pass: qubits L..n-1 in groups of <= 12; for each chunk (2^g rows of  */
/*              W contiguous amplitudes, the rows 2^q0 apart) gather into a    */
/*              thread-local buffer, RX on the g qubits, scatter back.         */
/* All RX commute, so their order is free; two qubits at a time are applied   */
/* as the matrix RX (x) RX (qd_rot4). The adjoint runs the layers backwards on */
/* (phi, lambda = C psi) with the inverse passes and accumulates               */
/*   dE/dbeta_k  = 2 Im <lam_k| sum_j X_j |phi_k>  (invariant under the RX,     */
/*                 so each qubit's term is taken while its pairs are loaded)   */
/*   dE/dgamma_k = 2 Im <lam|C|phi> after the inverse mixer, before the phase. */
/* With one high group (n - low_bits <= 12) the backward sweep is fused        */
/* (qd_adjoint_fused): p + 1 two-vector passes, alternating layouts, each       */
/* finishing one layer's inverse mixer and starting the next one's; inside a   */
/* pass both vectors' L1 tiles get the low bits of both halves and the phase.  */
/* ======================================================================== */
#include <math.h>

#define QD_LOW_DEFAULT 14
#define QD_GROUP 12
#define QD_CHUNK_BITS 14 /* amplitudes per high-pass chunk: 2^14 (256 KiB) */

typedef struct {
    int direct;            /* 1: cost is float64 per amplitude; 0: uint16 levels */
    const uint16_t *lv;    /* levels */
    const double *cost;    /* direct costs */
    const double *values;  /* level -> cost value (adjoint) */
    int64_t K;             /* number of levels */
} qd_cost_t;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
/* One portable build, three copies of the hot loops, picked by the loader (ifunc) for this CPU. */
#define QD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), noinline))
#else
#define QD_CLONES
#endif

/* Im(conj(l) f) */
#define QD_IMD(lr, li, fr, fi) ((lr) * (fi) - (li) * (fr))

/* The sweeps work on interleaved complex data with GCC vector extensions: a v4 holds two
 * complex numbers [r0, i0, r1, i1]. For a pair (a, b) of such vectors
 *   a' = c a + S swap(b),  b' = c b + S swap(a),  S = [s, -s, s, -s], swap = [1, 0, 3, 2],
 * and the adjoint's Im conj(l) f terms are l * swap(f) * [1, -1, 1, -1] (the swaps are shared).
 * A pair inside one vector (bit 0) uses the full reversal [3, 2, 1, 0] instead. */
typedef double qd_v4 __attribute__((vector_size(32), aligned(8)));
typedef long long qd_m4 __attribute__((vector_size(32)));
#define QD_SWAP(v) __builtin_shuffle((v), (qd_m4){1, 0, 3, 2})
#define QD_REV(v) __builtin_shuffle((v), (qd_m4){3, 2, 1, 0})
#define QD_LD(p) (*(const qd_v4 *)(p))
#define QD_ST(p, v) (*(qd_v4 *)(p) = (v))

/* RX on bits 0 and 1 (h = 1): per 4 amplitudes, v01 = [a0, a1], v23 = [a2, a3]. */
static inline __attribute__((always_inline)) void qd_rot_b01(double *x, int64_t len, qd_v4 C, qd_v4 S, int two)
{
    if (!two) {
        for (int64_t t = 0; t < len; t += 2) {
            const qd_v4 v = QD_LD(x + 2 * t);
            QD_ST(x + 2 * t, C * v + S * QD_REV(v));
        }
        return;
    }
    for (int64_t t = 0; t < len; t += 4) {
        qd_v4 u = QD_LD(x + 2 * t), w = QD_LD(x + 2 * t + 4);
        u = C * u + S * QD_REV(u);
        w = C * w + S * QD_REV(w);
        const qd_v4 su = QD_SWAP(u), sw = QD_SWAP(w);
        QD_ST(x + 2 * t, C * u + S * sw);
        QD_ST(x + 2 * t + 4, C * w + S * su);
    }
}

/* RX on bits of strides h and 2h (h >= 2) in one sweep, as the two-qubit matrix
 * RX (x) RX = c^2 I - i c s (X1 + X2) - s^2 X1 X2: with u = a1 + a2, v = a0 + a3,
 *   a0' = c^2 a0 - s^2 a3 - i c s u,  a3' = c^2 a3 - s^2 a0 - i c s u,
 *   a1' = c^2 a1 - s^2 a2 - i c s v,  a2' = c^2 a2 - s^2 a1 - i c s v
 * (two adds, two shuffles and three multiply-adds per amplitude vector instead of two shuffles, two multiplies and
 * two multiply-adds). C2 = c^2, N2 = -s^2, X = [cs, -cs, cs, -cs]. */
static inline __attribute__((always_inline)) void qd_rot4(double *x, int64_t len, int64_t h, qd_v4 C2, qd_v4 N2,
                                                          qd_v4 X)
{
    for (int64_t base = 0; base < len; base += 4 * h) {
        double *p0 = x + 2 * base, *p1 = p0 + 2 * h, *p2 = p0 + 4 * h, *p3 = p0 + 6 * h;
        for (int64_t t = 0; t < 2 * h; t += 4) {
            const qd_v4 a0 = QD_LD(p0 + t), a1 = QD_LD(p1 + t), a2 = QD_LD(p2 + t), a3 = QD_LD(p3 + t);
            const qd_v4 su = QD_SWAP(a1 + a2), sv = QD_SWAP(a0 + a3);
            QD_ST(p0 + t, C2 * a0 + N2 * a3 + X * su);
            QD_ST(p3 + t, C2 * a3 + N2 * a0 + X * su);
            QD_ST(p1 + t, C2 * a1 + N2 * a2 + X * sv);
            QD_ST(p2 + t, C2 * a2 + N2 * a1 + X * sv);
        }
    }
}

/* RX on the bit of stride h (h >= 2). */
static inline __attribute__((always_inline)) void qd_rot2(double *x, int64_t len, int64_t h, qd_v4 C, qd_v4 S)
{
    for (int64_t base = 0; base < len; base += 2 * h) {
        double *p0 = x + 2 * base, *p1 = p0 + 2 * h;
        for (int64_t t = 0; t < 2 * h; t += 4) {
            const qd_v4 a0 = QD_LD(p0 + t), a1 = QD_LD(p1 + t);
            QD_ST(p0 + t, C * a0 + S * QD_SWAP(a1));
            QD_ST(p1 + t, C * a1 + S * QD_SWAP(a0));
        }
    }
}

/* RX on nq consecutive bits starting at stride h0 (amplitudes), two bits per sweep; len >= 2. */
QD_CLONES static void qd_rot_bits(double *x, int64_t len, int64_t h0, int nq, double c, double s)
{
    const qd_v4 C = {c, c, c, c}, S = {s, -s, s, -s};
    int j = 0;
    if (h0 == 1 && nq > 0) {
        qd_rot_b01(x, len, C, S, nq > 1 && len >= 4);
        j = (nq > 1 && len >= 4) ? 2 : 1;
    }
    const qd_v4 C2 = {c * c, c * c, c * c, c * c}, N2 = {-s * s, -s * s, -s * s, -s * s};
    const qd_v4 X = {c * s, -c * s, c * s, -c * s};
    for (; j + 1 < nq; j += 2) qd_rot4(x, len, h0 << j, C2, N2, X);
    if (j < nq) qd_rot2(x, len, h0 << j, C, S);
}

/* Adjoint sweep of one bit (stride h) on (f, l); returns the vector of Im conj(l) X_j f terms (to be signed). */
static inline __attribute__((always_inline)) void qd_adj2(double *f, double *l, int64_t len, int64_t h, qd_v4 C,
                                                          qd_v4 S, qd_v4 *accp)
{
    qd_v4 acc = *accp;
    if (h == 1) {
        for (int64_t t = 0; t < 2 * len; t += 4) {
            const qd_v4 a = QD_LD(f + t), b = QD_LD(l + t), ra = QD_REV(a), rb = QD_REV(b);
            acc += b * ra;
            QD_ST(f + t, C * a + S * ra);
            QD_ST(l + t, C * b + S * rb);
        }
        *accp = acc;
        return;
    }
    for (int64_t base = 0; base < len; base += 2 * h) {
        double *p0 = f + 2 * base, *p1 = p0 + 2 * h, *q0 = l + 2 * base, *q1 = q0 + 2 * h;
        for (int64_t t = 0; t < 2 * h; t += 4) {
            const qd_v4 a0 = QD_LD(p0 + t), a1 = QD_LD(p1 + t), b0 = QD_LD(q0 + t), b1 = QD_LD(q1 + t);
            const qd_v4 sa0 = QD_SWAP(a0), sa1 = QD_SWAP(a1), sb0 = QD_SWAP(b0), sb1 = QD_SWAP(b1);
            acc += b0 * sa1 + b1 * sa0;
            QD_ST(p0 + t, C * a0 + S * sa1);
            QD_ST(p1 + t, C * a1 + S * sa0);
            QD_ST(q0 + t, C * b0 + S * sb1);
            QD_ST(q1 + t, C * b1 + S * sb0);
        }
    }
    *accp = acc;
}

/* Adjoint sweep of bits 0 and 1 (h = 1) on (f, l), as qd_rot_b01; len >= 4. */
static inline __attribute__((always_inline)) void qd_adj_b01(double *f, double *l, int64_t len, qd_v4 C, qd_v4 S,
                                                             qd_v4 *accp)
{
    qd_v4 acc = *accp;
    for (int64_t t = 0; t < 2 * len; t += 8) {
        qd_v4 u = QD_LD(f + t), w = QD_LD(f + t + 4), y = QD_LD(l + t), z = QD_LD(l + t + 4);
        const qd_v4 ru = QD_REV(u), rw = QD_REV(w), ry = QD_REV(y), rz = QD_REV(z);
        acc += y * (ru + QD_SWAP(w)) + z * (rw + QD_SWAP(u)); /* bit 0 and bit 1 terms */
        u = C * u + S * ru;
        w = C * w + S * rw;
        y = C * y + S * ry;
        z = C * z + S * rz;
        const qd_v4 su = QD_SWAP(u), sw = QD_SWAP(w), sy = QD_SWAP(y), sz = QD_SWAP(z);
        QD_ST(f + t, C * u + S * sw);
        QD_ST(f + t + 4, C * w + S * su);
        QD_ST(l + t, C * y + S * sz);
        QD_ST(l + t + 4, C * z + S * sy);
    }
    *accp = acc;
}

/* Adjoint sweep of the bits of strides h and 2h (h >= 2) on (f, l), as qd_rot4. The two bits' terms,
 * l0 s1 + l1 s0 + l2 s3 + l3 s2 (bit h) and l0 s2 + l2 s0 + l1 s3 + l3 s1 (bit 2h), s = swap(f), are
 * (l0 + l3) swap(f1 + f2) + (l1 + l2) swap(f0 + f3): the sums the rotation forms anyway. */
static inline __attribute__((always_inline)) void qd_adj4(double *f, double *l, int64_t len, int64_t h, qd_v4 C2,
                                                          qd_v4 N2, qd_v4 X, qd_v4 *accp)
{
    qd_v4 acc = *accp;
    for (int64_t base = 0; base < len; base += 4 * h) {
        double *p0 = f + 2 * base, *p1 = p0 + 2 * h, *p2 = p0 + 4 * h, *p3 = p0 + 6 * h;
        double *q0 = l + 2 * base, *q1 = q0 + 2 * h, *q2 = q0 + 4 * h, *q3 = q0 + 6 * h;
        for (int64_t t = 0; t < 2 * h; t += 4) {
            const qd_v4 a0 = QD_LD(p0 + t), a1 = QD_LD(p1 + t), a2 = QD_LD(p2 + t), a3 = QD_LD(p3 + t);
            const qd_v4 b0 = QD_LD(q0 + t), b1 = QD_LD(q1 + t), b2 = QD_LD(q2 + t), b3 = QD_LD(q3 + t);
            const qd_v4 su = QD_SWAP(a1 + a2), sv = QD_SWAP(a0 + a3);
            const qd_v4 ub = b1 + b2, vb = b0 + b3, sub = QD_SWAP(ub), svb = QD_SWAP(vb);
            acc += vb * su + ub * sv;
            QD_ST(p0 + t, C2 * a0 + N2 * a3 + X * su);
            QD_ST(p3 + t, C2 * a3 + N2 * a0 + X * su);
            QD_ST(p1 + t, C2 * a1 + N2 * a2 + X * sv);
            QD_ST(p2 + t, C2 * a2 + N2 * a1 + X * sv);
            QD_ST(q0 + t, C2 * b0 + N2 * b3 + X * sub);
            QD_ST(q3 + t, C2 * b3 + N2 * b0 + X * sub);
            QD_ST(q1 + t, C2 * b1 + N2 * b2 + X * svb);
            QD_ST(q2 + t, C2 * b2 + N2 * b1 + X * svb);
        }
    }
    *accp = acc;
}

/* Inverse-mixer sweep of nq consecutive bits from stride h0 on (f, l), two bits per sweep (as qd_rot_bits);
 * returns sum_j Im <l|X_j|f> over those bits (taken before each pair's rotation: the term is invariant). */
QD_CLONES static double qd_adj_bits(double *f, double *l, int64_t len, int64_t h0, int nq, double c, double s)
{
    const qd_v4 C = {c, c, c, c}, S = {s, -s, s, -s};
    qd_v4 acc = {0, 0, 0, 0};
    int j = 0;
    if (h0 == 1 && nq > 1 && len >= 4) {
        qd_adj_b01(f, l, len, C, S, &acc);
        j = 2;
    } else if (h0 == 1 && nq > 0) {
        qd_adj2(f, l, len, 1, C, S, &acc);
        j = 1;
    }
    const qd_v4 C2 = {c * c, c * c, c * c, c * c}, N2 = {-s * s, -s * s, -s * s, -s * s};
    const qd_v4 X = {c * s, -c * s, c * s, -c * s};
    for (; j + 1 < nq; j += 2) qd_adj4(f, l, len, h0 << j, C2, N2, X, &acc);
    if (j < nq) qd_adj2(f, l, len, h0 << j, C, S, &acc);
    return acc[0] - acc[1] + acc[2] - acc[3];
}

/* The bit-flip symmetric half state ("sym"): when C(x) = C(~x) (no odd terms, e.g. MaxCut), |+>^n, the phases
 * and the mixer (which commutes with X^n) keep psi(x) = psi(~x), so the kernels keep only the 2^m amplitudes
 * x < 2^m (m = n - 1, top qubit 0); amplitude x stands for x and ~x. The top qubit's X then maps x to
 * x ^ (2^m - 1), and its RX is a 2x2 rotation on the pairs (x, ~x within m bits). With one high group, chunk t
 * and chunk nchunks - 1 - t hold such partners in reverse order (every bit field of the chunk index and of the
 * in-chunk position flips): a[i] pairs with b[len - 1 - i]; a == b (nchunks == 1) pairs a chunk with itself.
 * Energy and gradient over all n qubits are twice the half's sums (the top qubit's dE/dbeta term included). */
#define QD_CREV(v) __builtin_shuffle((v), (qd_m4){2, 3, 0, 1})

/* RX (c, s) of the top qubit on the partner chunks (a, b); len >= 4, a power of two. */
QD_CLONES static void qd_rot_comp(double *a, double *b, int64_t len, double c, double s)
{
    const qd_v4 C = {c, c, c, c}, S = {s, -s, s, -s};
    const int64_t end = a == b ? len / 2 : len;
    for (int64_t i = 0; i < end; i += 2) {
        double *pb = b + 2 * (len - 2 - i);
        const qd_v4 u = QD_LD(a + 2 * i), v = QD_CREV(QD_LD(pb));
        QD_ST(a + 2 * i, C * u + S * QD_SWAP(v));
        QD_ST(pb, QD_CREV(C * v + S * QD_SWAP(u)));
    }
}

/* The top qubit's term Im sum_x conj(l_x) f_~x over the partner chunks (fa, la) and (fb, lb) (taken before the
 * rotation; invariant), then (rot) its inverse-mixer RX (c, s) on both vectors. */
QD_CLONES static double qd_adj_comp(double *fa, double *la, double *fb, double *lb, int64_t len, double c, double s,
                                    int rot)
{
    const qd_v4 C = {c, c, c, c}, S = {s, -s, s, -s};
    qd_v4 acc = {0, 0, 0, 0};
    const int64_t end = fa == fb ? len / 2 : len;
    for (int64_t i = 0; i < end; i += 2) {
        double *pf = fb + 2 * (len - 2 - i), *pl = lb + 2 * (len - 2 - i);
        const qd_v4 u = QD_LD(fa + 2 * i), y = QD_LD(la + 2 * i), v = QD_CREV(QD_LD(pf)), z = QD_CREV(QD_LD(pl));
        const qd_v4 su = QD_SWAP(u), sv = QD_SWAP(v), sy = QD_SWAP(y), sz = QD_SWAP(z);
        acc += y * sv + z * su;
        if (rot) {
            QD_ST(fa + 2 * i, C * u + S * sv);
            QD_ST(la + 2 * i, C * y + S * sz);
            QD_ST(pf, QD_CREV(C * v + S * su));
            QD_ST(pl, QD_CREV(C * z + S * sy));
        }
    }
    return acc[0] - acc[1] + acc[2] - acc[3];
}

/* x[i] *= phase of amplitude o + i (sign = +1: exp(-i g c); -1: the inverse). init: x = amp0 * phase. */
QD_CLONES static void qd_phase_block(double *restrict x, int64_t o, int64_t len, const qd_cost_t *cc,
                                     const double *restrict table, double gamma, double sign, int init, double amp0)
{
    if (!cc->direct) {
        const uint16_t *lv = cc->lv + o;
        int64_t i = 0;
        /* two amplitudes per vector: [pr0, pr0, pr1, pr1] and [-pi0, pi0, -pi1, pi1] from the table */
        for (; i + 1 < len; i += 2) {
            const double *t0 = table + 2 * lv[i], *t1 = table + 2 * lv[i + 1];
            const double i0 = sign * t0[1], i1 = sign * t1[1];
            if (init) {
                const qd_v4 v = {amp0 * t0[0], amp0 * i0, amp0 * t1[0], amp0 * i1};
                QD_ST(x + 2 * i, v);
            } else {
                const qd_v4 X = QD_LD(x + 2 * i), PR = {t0[0], t0[0], t1[0], t1[0]}, PI = {-i0, i0, -i1, i1};
                QD_ST(x + 2 * i, X * PR + QD_SWAP(X) * PI);
            }
        }
        for (; i < len; ++i) {
            const double pr = table[2 * lv[i]], pi = sign * table[2 * lv[i] + 1];
            if (init) {
                x[2 * i] = amp0 * pr;
                x[2 * i + 1] = amp0 * pi;
            } else {
                const double xr = x[2 * i], xi = x[2 * i + 1];
                x[2 * i] = xr * pr - xi * pi;
                x[2 * i + 1] = xr * pi + xi * pr;
            }
        }
    } else {
        const double *cost = cc->cost + o;
        for (int64_t i = 0; i < len; ++i) {
            const double th = -sign * gamma * cost[i];
            const double pr = cos(th), pi = sin(th);
            if (init) {
                x[2 * i] = amp0 * pr;
                x[2 * i + 1] = amp0 * pi;
            } else {
                const double xr = x[2 * i], xi = x[2 * i + 1];
                x[2 * i] = xr * pr - xi * pi;
                x[2 * i + 1] = xr * pi + xi * pr;
            }
        }
    }
}

/* Adjoint, end of a layer on one block: returns Im sum_i C_i conj(l_i) f_i, then (unphase) f, l *= conj(phase). */
QD_CLONES static double qd_adj_phase_block(double *restrict f, double *restrict l, int64_t o, int64_t len,
                                          const qd_cost_t *cc, const double *restrict table, double gamma,
                                          int unphase)
{
    double acc = 0.0;
    if (!cc->direct) {
        const uint16_t *lv = cc->lv + o;
        const double *values = cc->values;
        /* two amplitudes per vector; acc terms C l * swap(f), unphase by [pr, pr] and [t, -t] (t = Im table) */
        qd_v4 av = {0.0, 0.0, 0.0, 0.0};
        int64_t i = 0;
        for (; i + 1 < len; i += 2) {
            const int v0 = lv[i], v1 = lv[i + 1];
            const qd_v4 F = QD_LD(f + 2 * i), Lv = QD_LD(l + 2 * i), sF = QD_SWAP(F);
            const qd_v4 cv = {values[v0], values[v0], values[v1], values[v1]};
            av += cv * (Lv * sF);
            if (unphase) {
                const double *t0 = table + 2 * v0, *t1 = table + 2 * v1;
                const qd_v4 PR = {t0[0], t0[0], t1[0], t1[0]}, PI = {t0[1], -t0[1], t1[1], -t1[1]};
                QD_ST(f + 2 * i, F * PR + sF * PI);
                QD_ST(l + 2 * i, Lv * PR + QD_SWAP(Lv) * PI);
            }
        }
        acc = av[0] - av[1] + av[2] - av[3];
        for (; i < len; ++i) {
            const int v = lv[i];
            const double fr = f[2 * i], fi = f[2 * i + 1], lr = l[2 * i], li = l[2 * i + 1];
            acc += values[v] * QD_IMD(lr, li, fr, fi);
            if (unphase) {
                const double pr = table[2 * v], pi = -table[2 * v + 1];
                f[2 * i] = fr * pr - fi * pi;
                f[2 * i + 1] = fr * pi + fi * pr;
                l[2 * i] = lr * pr - li * pi;
                l[2 * i + 1] = lr * pi + li * pr;
            }
        }
    } else {
        const double *cost = cc->cost + o;
        for (int64_t i = 0; i < len; ++i) {
            const double fr = f[2 * i], fi = f[2 * i + 1], lr = l[2 * i], li = l[2 * i + 1];
            acc += cost[i] * QD_IMD(lr, li, fr, fi);
            if (unphase) {
                const double th = gamma * cost[i];
                const double pr = cos(th), pi = sin(th);
                f[2 * i] = fr * pr - fi * pi;
                f[2 * i + 1] = fr * pi + fi * pr;
                l[2 * i] = lr * pr - li * pi;
                l[2 * i + 1] = lr * pi + li * pr;
            }
        }
    }
    return acc;
}

static inline double qd_cost_at(const qd_cost_t *cc, int64_t i)
{
    return cc->direct ? cc->cost[i] : cc->values[cc->lv[i]];
}

/* Geometry of one high group. */
typedef struct {
    int q0, g;
    int64_t W, nlow, nchunks;
} qd_group_t;

static int qd_groups_cb(int n, int L, int chunk_bits, qd_group_t *gr)
{
    int ng = 0;
    for (int q0 = L; q0 < n; q0 += QD_GROUP) {
        qd_group_t *G = &gr[ng++];
        G->q0 = q0;
        G->g = (n - q0) < QD_GROUP ? (n - q0) : QD_GROUP;
        int wb = chunk_bits - G->g;
        if (wb < 2) wb = 2;
        if (wb > q0) wb = q0;
        G->W = INT64_C(1) << wb;
        G->nlow = (INT64_C(1) << q0) / G->W;
        G->nchunks = G->nlow * (INT64_C(1) << (n - q0 - G->g));
    }
    return ng;
}

static int qd_groups(int n, int L, qd_group_t *gr)
{
    return qd_groups_cb(n, L, QD_CHUNK_BITS, gr);
}

/* Groups of the symmetric half state: chunks of half the size, since a chunk pair sits in L2 together. */
static int qd_groups_sym(int n, int L, qd_group_t *gr)
{
    return qd_groups_cb(n, L, QD_CHUNK_BITS - 1, gr);
}

static inline int64_t qd_chunk_base(const qd_group_t *G, int64_t t)
{
    return (t % G->nlow) * G->W + ((t / G->nlow) << (G->q0 + G->g));
}

static inline void qd_gather(double *restrict buf, const double *restrict x, const qd_group_t *G, int64_t base)
{
    const int64_t R = INT64_C(1) << G->g;
    for (int64_t r = 0; r < R; ++r) memcpy(buf + 2 * r * G->W, x + 2 * (base + (r << G->q0)), 16 * (size_t)G->W);
}

static inline void qd_scatter(double *restrict x, const double *restrict buf, const qd_group_t *G, int64_t base)
{
    const int64_t R = INT64_C(1) << G->g;
    for (int64_t r = 0; r < R; ++r) memcpy(x + 2 * (base + (r << G->q0)), buf + 2 * r * G->W, 16 * (size_t)G->W);
}

/* Copy len amplitudes to dst with non-temporal stores where possible (the copy is read back much later). */
static inline void qd_stream_copy(double *restrict dst, const double *restrict src, int64_t len)
{
#if defined(__x86_64__) && defined(__SSE2__)
    if (((uintptr_t)dst & 15) == 0 && ((uintptr_t)src & 15) == 0) {
        for (int64_t i = 0; i < 2 * len; i += 2) _mm_stream_pd(dst + i, _mm_load_pd(src + i));
        return;
    }
#endif
    memcpy(dst, src, 16 * (size_t)len);
}

/* Copy len amplitudes from src (read once, much later than written) with non-temporal prefetches, so the stream
 * does not displace the adjoint vector from the caches where the CPU honours the hint. */
static inline void qd_stream_load(double *restrict dst, const double *restrict src, int64_t len)
{
#if defined(__x86_64__) && defined(__SSE2__)
    const int64_t n = 2 * len, ahead = 256; /* doubles: 2 KiB ahead */
    int64_t i = 0;
    for (; i < n; i += 8) {
        _mm_prefetch((const char *)(src + i + ahead), _MM_HINT_NTA);
        memcpy(dst + i, src + i, 64 < 8 * (n - i) ? 64 : 8 * (size_t)(n - i));
    }
#else
    memcpy(dst, src, 16 * (size_t)len);
#endif
}

/* Forward: p layers on x (init: start from |+>^n). tables: p*K complex (levels) or p gammas (direct).
 * store (or NULL): receives phi_pre_k = the state right after layer k's phase, for k = 1..p-1, at
 * store + 2 N (k - 1) (the stored-state adjoint reads them back).
 * sym: x is the symmetric half state of n + 1 qubits (one high group: the caller checks; no store). */
static void qd_forward(double *x, int n, const qd_cost_t *cc, const double *tables, const double *betas, int p,
                       int init, int L, int nth, double *store, int skip_last_high, int sym)
{
    const int64_t N = INT64_C(1) << n, B = INT64_C(1) << L, nblocks = N >> L;
    qd_group_t gr[QT_MAXQ];
    const int ng = sym ? qd_groups_sym(n, L, gr) : qd_groups(n, L, gr);
    const double amp0 = 1.0 / sqrt((double)N * (sym ? 2.0 : 1.0));
    if (nth > 1 && N < QT_PAR_MIN) nth = 1;
    if (p == 0 && init) { /* no layer: |+>^n */
        for (int64_t i = 0; i < N; ++i) {
            x[2 * i] = amp0;
            x[2 * i + 1] = 0.0;
        }
        return;
    }
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        double *buf = ng ? (double *)qt_aligned_alloc((size_t)16 << QD_CHUNK_BITS) : NULL;
        double *buf2 = sym ? (double *)qt_aligned_alloc((size_t)16 << QD_CHUNK_BITS) : NULL;
        for (int k = 0; k < p; ++k) {
            const double c = cos(betas[k]), s = sin(betas[k]);
            const double *tab = cc->direct ? NULL : tables + 2 * cc->K * k;
            const double gam = cc->direct ? tables[k] : 0.0;
#pragma omp for schedule(static)
            for (int64_t b = 0; b < nblocks; ++b) {
                double *blk = x + 2 * b * B;
                qd_phase_block(blk, b * B, B, cc, tab, gam, 1.0, init && k == 0, amp0);
                if (store && k > 0) qd_stream_copy(store + 2 * ((int64_t)(k - 1) * N + b * B), blk, B);
                qd_rot_bits(blk, B, 1, L, c, s);
            }
            if (sym && !(skip_last_high && k == p - 1)) { /* chunk pairs (t, nchunks - 1 - t): the top qubit too */
                const qd_group_t *G = &gr[0];
                const int64_t rowlen = G->W, len = rowlen << G->g;
                const int64_t npairs = G->nchunks > 1 ? G->nchunks / 2 : 1;
#pragma omp for schedule(static)
                for (int64_t t = 0; t < npairs; ++t) {
                    const int64_t t2 = G->nchunks - 1 - t;
                    double *b2 = t2 != t ? buf2 : buf;
                    qd_gather(buf, x, G, qd_chunk_base(G, t));
                    if (t2 != t) qd_gather(buf2, x, G, qd_chunk_base(G, t2));
                    qd_rot_comp(buf, b2, len, c, s);
                    qd_rot_bits(buf, len, rowlen, G->g, c, s);
                    qd_scatter(x, buf, G, qd_chunk_base(G, t));
                    if (t2 != t) {
                        qd_rot_bits(buf2, len, rowlen, G->g, c, s);
                        qd_scatter(x, buf2, G, qd_chunk_base(G, t2));
                    }
                }
            }
            for (int gi = 0; gi < ng && !sym && !(skip_last_high && k == p - 1); ++gi) {
                const qd_group_t *G = &gr[gi];
                const int64_t rowlen = G->W;
#pragma omp for schedule(static)
                for (int64_t t = 0; t < G->nchunks; ++t) {
                    const int64_t base = qd_chunk_base(G, t);
                    const int64_t len = rowlen << G->g;
                    qd_gather(buf, x, G, base);
                    qd_rot_bits(buf, len, rowlen, G->g, c, s);
                    qd_scatter(x, buf, G, base);
                }
            }
        }
        free(buf);
        free(buf2);
    }
#if defined(__x86_64__) && defined(__SSE2__)
    if (store) _mm_sfence();
#endif
}

/* The cost of one high chunk (rows as qd_gather) into buf (8 << QD_CHUNK_BITS bytes); loc reads it at offset 0. */
static inline void qd_gather_cost(qd_cost_t *loc, void *buf, const qd_cost_t *cc, const qd_group_t *G, int64_t base)
{
    const int64_t R = INT64_C(1) << G->g, W = G->W;
    *loc = *cc;
    if (cc->direct) {
        double *d = (double *)buf;
        for (int64_t r = 0; r < R; ++r) memcpy(d + r * W, cc->cost + base + (r << G->q0), 8 * (size_t)W);
        loc->cost = d;
    } else {
        uint16_t *d = (uint16_t *)buf;
        for (int64_t r = 0; r < R; ++r) memcpy(d + r * W, cc->lv + base + (r << G->q0), 2 * (size_t)W);
        loc->lv = d;
    }
}

/* l = C f on one block (cost read at offset 0); returns sum_i C_i |f_i|^2. */
QD_CLONES static double qd_init_lam(const double *restrict f, double *restrict l, int64_t len, const qd_cost_t *cc)
{
    double e = 0.0;
    for (int64_t i = 0; i < len; ++i) {
        const double cv = cc->direct ? cc->cost[i] : cc->values[cc->lv[i]];
        const double fr = f[2 * i], fi = f[2 * i + 1];
        l[2 * i] = cv * fr;
        l[2 * i + 1] = cv * fi;
        e += cv * (fr * fr + fi * fi);
    }
    return e;
}

/* sum_j Im <l|X_j|f> over nq consecutive bits from stride h0 (amplitudes); neither vector changes. The pair
 * sums are those of qd_adj_b01 / qd_adj4 / qd_adj2. */
QD_CLONES static double qd_terms(const double *restrict f, const double *restrict l, int64_t len, int64_t h0, int nq)
{
    qd_v4 acc = {0, 0, 0, 0};
    int j = 0;
    if (h0 == 1 && nq > 1 && len >= 4) {
        for (int64_t t = 0; t < 2 * len; t += 8) {
            const qd_v4 u = QD_LD(f + t), w = QD_LD(f + t + 4), y = QD_LD(l + t), z = QD_LD(l + t + 4);
            acc += y * (QD_REV(u) + QD_SWAP(w)) + z * (QD_REV(w) + QD_SWAP(u));
        }
        j = 2;
    } else if (h0 == 1 && nq > 0) {
        for (int64_t t = 0; t < 2 * len; t += 4) acc += QD_LD(l + t) * QD_REV(QD_LD(f + t));
        j = 1;
    }
    for (; j + 1 < nq; j += 2) {
        const int64_t h = h0 << j;
        for (int64_t base = 0; base < len; base += 4 * h) {
            const double *p0 = f + 2 * base, *p1 = p0 + 2 * h, *p2 = p0 + 4 * h, *p3 = p0 + 6 * h;
            const double *q0 = l + 2 * base, *q1 = q0 + 2 * h, *q2 = q0 + 4 * h, *q3 = q0 + 6 * h;
            for (int64_t t = 0; t < 2 * h; t += 4) {
                const qd_v4 su = QD_SWAP(QD_LD(p1 + t) + QD_LD(p2 + t)), sv = QD_SWAP(QD_LD(p0 + t) + QD_LD(p3 + t));
                acc += (QD_LD(q0 + t) + QD_LD(q3 + t)) * su + (QD_LD(q1 + t) + QD_LD(q2 + t)) * sv;
            }
        }
    }
    if (j < nq) {
        const int64_t h = h0 << j;
        for (int64_t base = 0; base < len; base += 2 * h) {
            const double *p0 = f + 2 * base, *p1 = p0 + 2 * h, *q0 = l + 2 * base, *q1 = q0 + 2 * h;
            for (int64_t t = 0; t < 2 * h; t += 4)
                acc += QD_LD(q0 + t) * QD_SWAP(QD_LD(p1 + t)) + QD_LD(q1 + t) * QD_SWAP(QD_LD(p0 + t));
        }
    }
    return acc[0] - acc[1] + acc[2] - acc[3];
}

/* One layout's share of a fused adjoint pass on (f, l), len amplitudes, mixer bits h0 << 0 .. h0 << (nq - 1):
 *   the inverse mixer half of the finishing layer (cf, sf; skipped when fin == 0), its dE/dgamma term and
 *   unphase (tab/gam, cost read at offset co; unphase when unph), then the starting layer's half (cs, ss; skipped
 *   when st == 0).  Two-level blocking: the bits whose pairs lie inside QD_TILE amplitudes are applied tile by
 *   tile while both vectors' tiles sit in L1 (the finishing half's low bits, the phase and the starting half's
 *   low bits in one visit); the finishing half's other bits go before that loop and the starting half's after it
 *   (all RX of one layer commute). acc[0..2] += beta term of fin, gamma term of fin, beta term of st. */
#define QD_TILE 1024 /* amplitudes: two vectors' tiles = 32 KiB */
static void qd_adj_pass(double *f, double *l, int64_t len, int64_t h0, int nq, int fin, double cf, double sf,
                        const qd_cost_t *cc, int64_t co, const double *tab, double gam, int unph, int st, double cs,
                        double ss, double *acc)
{
    int a = 0;
    while (a < nq && (h0 << (a + 1)) <= QD_TILE && (h0 << (a + 1)) <= len) ++a;
    const int64_t tile = h0 << a;
    if (fin && a < nq) acc[0] += qd_adj_bits(f, l, len, tile, nq - a, cf, sf);
    for (int64_t o = 0; o < len; o += tile) {
        double *ft = f + 2 * o, *lt = l + 2 * o;
        if (fin) {
            if (a > 0) acc[0] += qd_adj_bits(ft, lt, tile, h0, a, cf, sf);
            acc[1] += qd_adj_phase_block(ft, lt, co + o, tile, cc, tab, gam, unph);
        }
        if (st && a > 0) acc[2] += qd_adj_bits(ft, lt, tile, h0, a, cs, ss);
    }
    if (st && a < nq) acc[2] += qd_adj_bits(f, l, len, tile, nq - a, cs, ss);
}

/* Sums the per-thread partials of an adjoint pass (row t: p beta terms, p gamma terms, the energy, at stride),
 * frees them, writes gb/gg (x2: the terms are real parts of <lam|G|phi>) and returns the energy. */
static double qd_reduce_parts(double *part, int nth, int64_t stride, int p, double *gg, double *gb) {
    double energy = 0.0;
    for (int k = 0; k < p; ++k) gb[k] = gg[k] = 0.0;
    for (int t = 0; t < nth; ++t) {
        const double *q = part + (size_t)t * (size_t)stride;
        for (int k = 0; k < p; ++k) {
            gb[k] += 2.0 * q[k];
            gg[k] += 2.0 * q[p + k];
        }
        energy += q[2 * p];
    }
    free(part);
    return energy;
}

/* Fused adjoint for one high group (n - L <= QD_GROUP): p + 1 two-vector memory passes instead of 2p + 1.
 * The inverse mixer of a layer is split into its high half (a chunk pass) and its low half (a block pass);
 * the halves commute, so consecutive passes alternate layouts and each pass finishes one layer and starts
 * the next one in its own layout:
 *   pass 0 (high):     lam = C phi (and the energy), inverse high mixer of layer p-1;
 *   pass j = 1..p:     inverse mixer half of layer k = p - j (the layout of pass j), dE/dgamma_k, unphase k
 *                      (k > 0), then the same layout's half of layer k - 1 (k > 0).
 * Odd passes are block (low) passes, even ones chunk (high) passes; the chunk passes gather the cost too.
 * Per-thread partial sums are added in thread order (deterministic for a given thread count). */
static double qd_adjoint_fused(double *phi, double *lam, int n, const qd_cost_t *cc, const double *tables,
                               const double *betas, int p, int L, int nth, double *gg, double *gb,
                               const qd_group_t *G, int mid, int sym)
{
    const int64_t N = INT64_C(1) << n, B = INT64_C(1) << L, nblocks = N >> L;
    const int stride = 2 * p + 1;
    /* sym: the chunk passes take the partner chunks (t, nchunks - 1 - t) together (the top qubit's pairs) */
    const int64_t nunits = sym && G->nchunks > 1 ? G->nchunks / 2 : G->nchunks;
    double *part = (double *)calloc((size_t)nth * (size_t)stride, sizeof(double));
    if (!part) return NAN;
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
#ifdef _OPENMP
        double *my = part + (size_t)omp_get_thread_num() * (size_t)stride;
#else
        double *my = part;
#endif
        double *bf[2], *bl[2];
        void *cb[2];
        for (int u = 0; u < 2; ++u) {
            bf[u] = u < 1 + sym ? (double *)qt_aligned_alloc((size_t)16 << QD_CHUNK_BITS) : NULL;
            bl[u] = u < 1 + sym ? (double *)qt_aligned_alloc((size_t)16 << QD_CHUNK_BITS) : NULL;
            cb[u] = u < 1 + sym ? qt_aligned_alloc((size_t)8 << QD_CHUNK_BITS) : NULL;
        }
        const int64_t W = G->W, len = G->W << G->g;
        for (int j = 0; j <= p; ++j) {
            const int kf = j == 0 ? -1 : p - j, ks = p - j - 1;
            double cf = 1.0, sf = 0.0, cs = 1.0, ss = 0.0, gamf = 0.0;
            const double *tabf = NULL;
            if (kf >= 0) {
                cf = cos(betas[kf]);
                sf = -sin(betas[kf]);
                tabf = cc->direct ? NULL : tables + 2 * cc->K * kf;
                gamf = cc->direct ? tables[kf] : 0.0;
            }
            if (ks >= 0) {
                cs = cos(betas[ks]);
                ss = -sin(betas[ks]);
            }
            if ((j & 1) == 0) {
#pragma omp for schedule(static)
                for (int64_t t = 0; t < nunits; ++t) {
                    /* nc chunks: t alone, or (sym) t and its partner; the top qubit's pairs join f[0] and f[1] */
                    const int64_t tc[2] = {t, G->nchunks - 1 - t};
                    const int nc = sym && tc[1] != t ? 2 : 1;
                    double *f1 = bf[nc - 1], *l1 = bl[nc - 1];
                    int64_t base[2];
                    qd_cost_t loc[2];
                    for (int u = 0; u < nc; ++u) {
                        base[u] = qd_chunk_base(G, tc[u]);
                        qd_gather(bf[u], phi, G, base[u]);
                        qd_gather_cost(&loc[u], cb[u], cc, G, base[u]);
                    }
                    if (j == 0 && mid) {
                        /* phi is the state before layer p-1's high half (qd_forward skipped it): finish it on the
                         * chunk, lam = C phi, the start half's terms, and undo that half on lam only; phi in memory
                         * is already the state the start half would give back */
                        const double c1 = cos(betas[p - 1]), s1 = sin(betas[p - 1]);
                        if (sym) qd_rot_comp(bf[0], f1, len, c1, s1);
                        for (int u = 0; u < nc; ++u) {
                            qd_rot_bits(bf[u], len, W, G->g, c1, s1);
                            my[2 * p] += qd_init_lam(bf[u], bl[u], len, &loc[u]);
                            my[ks] += qd_terms(bf[u], bl[u], len, W, G->g);
                        }
                        if (sym) { /* the top qubit's term, with both vectors still at the same stage */
                            my[ks] += qd_adj_comp(bf[0], bl[0], f1, l1, len, cs, ss, 0);
                            qd_rot_comp(bl[0], l1, len, cs, ss);
                        }
                        for (int u = 0; u < nc; ++u) qd_rot_bits(bl[u], len, W, G->g, cs, ss);
                        for (int u = 0; u < nc; ++u) qd_scatter(lam, bl[u], G, base[u]);
                        continue;
                    }
                    for (int u = 0; u < nc; ++u) {
                        if (j == 0)
                            my[2 * p] += qd_init_lam(bf[u], bl[u], len, &loc[u]);
                        else
                            qd_gather(bl[u], lam, G, base[u]);
                    }
                    if (sym && kf >= 0) my[kf] += qd_adj_comp(bf[0], bl[0], f1, l1, len, cf, sf, 1);
                    for (int u = 0; u < nc; ++u) {
                        double acc[3] = {0.0, 0.0, 0.0};
                        qd_adj_pass(bf[u], bl[u], len, W, G->g, kf >= 0, cf, sf, &loc[u], 0, tabf, gamf, kf > 0,
                                    ks >= 0, cs, ss, acc);
                        if (kf >= 0) {
                            my[kf] += acc[0];
                            my[p + kf] += acc[1];
                        }
                        if (ks >= 0) my[ks] += acc[2];
                    }
                    if (sym && ks >= 0) my[ks] += qd_adj_comp(bf[0], bl[0], f1, l1, len, cs, ss, 1);
                    for (int u = 0; u < nc; ++u) {
                        qd_scatter(phi, bf[u], G, base[u]);
                        qd_scatter(lam, bl[u], G, base[u]);
                    }
                }
            } else {
#pragma omp for schedule(static)
                for (int64_t b = 0; b < nblocks; ++b) {
                    double *fb = phi + 2 * b * B, *lb = lam + 2 * b * B;
                    double acc[3] = {0.0, 0.0, 0.0};
                    qd_adj_pass(fb, lb, B, 1, L, 1, cf, sf, cc, b * B, tabf, gamf, kf > 0, ks >= 0, cs, ss, acc);
                    my[kf] += acc[0];
                    my[p + kf] += acc[1];
                    if (ks >= 0) my[ks] += acc[2];
                }
            }
        }
        for (int u = 0; u < 2; ++u) {
            free(bf[u]);
            free(bl[u]);
            free(cb[u]);
        }
    }
    const double energy = qd_reduce_parts(part, nth, stride, p, gg, gb);
    if (!sym) return energy;
    for (int k = 0; k < p; ++k) { /* the half's sums count each pair (x, ~x) once */
        gg[k] *= 2.0;
        gb[k] *= 2.0;
    }
    return 2.0 * energy;
}

/* One layout's share of a stored-state adjoint pass: lam l (rotated) and f, a cached copy of the forward state
 * phi_pre_kf (the state right after layer kf's phase), len amplitudes, mixer bits h0 << 0 .. nq - 1.
 *   fin: inverse mixer half of layer kf on l (the other half was undone by the previous pass), so l and f are
 *        both "before layer kf's mixer": this half's dE/dbeta_kf terms, dE/dgamma_kf, then unphase both (f is
 *        then the state after layer kf - 1's mixer, l the adjoint at the same point);
 *   st:  the start half of layer kf - 1: its terms (both vectors after that layer's mixer), inverse half on l.
 * Only l is rotated: the forward states come from the store instead of running phi backwards. */
static void qd_adj_pass_st(double *f, double *l, int64_t len, int64_t h0, int nq, int fin, double cf, double sf,
                           const qd_cost_t *cc, int64_t co, const double *tab, double gam, int unph, int st, double cs,
                           double ss, double *acc)
{
    /* bits whose pairs lie inside QD_TILE amplitudes ("inner", as qd_adj_pass) go tile by tile in L1; the others
     * ("outer") in sweeps of the whole block. Every term is taken with l and f at one stage of the layer. */
    int a = 0;
    while (a < nq && (h0 << (a + 1)) <= QD_TILE && (h0 << (a + 1)) <= len) ++a;
    const int64_t tile = h0 << a;
    if (fin) {
        if (a < nq) qd_rot_bits(l, len, tile, nq - a, cf, sf);
        if (a > 0)
            for (int64_t o = 0; o < len; o += tile) {
                qd_rot_bits(l + 2 * o, tile, h0, a, cf, sf);
                acc[0] += qd_terms(f + 2 * o, l + 2 * o, tile, h0, a);
            }
        if (a < nq) acc[0] += qd_terms(f, l, len, tile, nq - a);
    }
    for (int64_t o = 0; o < len; o += tile) {
        if (fin) acc[1] += qd_adj_phase_block(f + 2 * o, l + 2 * o, co + o, tile, cc, tab, gam, unph);
        if (st && a > 0) acc[2] += qd_terms(f + 2 * o, l + 2 * o, tile, h0, a);
    }
    if (st) {
        if (a < nq) {
            acc[2] += qd_terms(f, l, len, tile, nq - a);
            qd_rot_bits(l, len, tile, nq - a, cs, ss);
        }
        if (a > 0)
            for (int64_t o = 0; o < len; o += tile) qd_rot_bits(l + 2 * o, tile, h0, a, cs, ss);
    }
}

/* Stored-state adjoint for one high group: the pass schedule of qd_adjoint_fused (p + 1 passes, alternating
 * layouts), but each pass reads the forward state of its layer from store (phi_pre_k for k = 1..p-1, written by
 * qd_forward; phi_pre_0 = P_0 |+> is recomputed, the final state phi is read by pass 0) and rotates only lam. */
static double qd_adjoint_stored(const double *phi, double *lam, const double *store, int n, const qd_cost_t *cc,
                                const double *tables, const double *betas, int p, int L, int nth, double *gg,
                                double *gb, const qd_group_t *G)
{
    const int64_t N = INT64_C(1) << n, B = INT64_C(1) << L, nblocks = N >> L;
    const double amp0 = 1.0 / sqrt((double)N);
    const int stride = 2 * p + 1;
    const int64_t cap = B > (INT64_C(1) << QD_CHUNK_BITS) ? B : (INT64_C(1) << QD_CHUNK_BITS);
    double *part = (double *)calloc((size_t)nth * (size_t)stride, sizeof(double));
    if (!part) return NAN;
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
#ifdef _OPENMP
        double *my = part + (size_t)omp_get_thread_num() * (size_t)stride;
#else
        double *my = part;
#endif
        double *bf = (double *)qt_aligned_alloc((size_t)16 * (size_t)cap);
        double *bl = (double *)qt_aligned_alloc((size_t)16 << QD_CHUNK_BITS);
        void *cb = qt_aligned_alloc((size_t)8 << QD_CHUNK_BITS);
        const int64_t W = G->W, len = G->W << G->g;
        for (int j = 0; j <= p; ++j) {
            const int kf = j == 0 ? -1 : p - j, ks = p - j - 1;
            double cf = 1.0, sf = 0.0, cs = 1.0, ss = 0.0, gamf = 0.0, gam0 = 0.0;
            const double *tabf = NULL, *tab0 = NULL;
            if (kf >= 0) {
                cf = cos(betas[kf]);
                sf = -sin(betas[kf]);
                tabf = cc->direct ? NULL : tables + 2 * cc->K * kf;
                gamf = cc->direct ? tables[kf] : 0.0;
            }
            if (kf == 0) {
                tab0 = tabf;
                gam0 = gamf;
            }
            if (ks >= 0) {
                cs = cos(betas[ks]);
                ss = -sin(betas[ks]);
            }
            /* the forward state this pass reads: phi (pass 0), the store (kf >= 1), recomputed (kf == 0) */
            const double *src = j == 0 ? phi : (kf >= 1 ? store + 2 * (int64_t)(kf - 1) * N : NULL);
            if ((j & 1) == 0) {
#pragma omp for schedule(static)
                for (int64_t t = 0; t < G->nchunks; ++t) {
                    const int64_t base = qd_chunk_base(G, t);
                    qd_cost_t loc;
                    qd_gather_cost(&loc, cb, cc, G, base);
                    if (src && j > 0) {
                        const int64_t R = INT64_C(1) << G->g;
                        for (int64_t r = 0; r < R; ++r)
                            qd_stream_load(bf + 2 * r * W, src + 2 * (base + (r << G->q0)), W);
                    } else if (src)
                        qd_gather(bf, src, G, base);
                    else
                        qd_phase_block(bf, 0, len, &loc, tab0, gam0, 1.0, 1, amp0);
                    if (j == 0) /* phi is the state before layer p-1's high half (qd_forward skipped it) */
                        qd_rot_bits(bf, len, W, G->g, cos(betas[p - 1]), sin(betas[p - 1]));
                    double acc[3] = {0.0, 0.0, 0.0};
                    if (j == 0)
                        my[2 * p] += qd_init_lam(bf, bl, len, &loc);
                    else
                        qd_gather(bl, lam, G, base);
                    qd_adj_pass_st(bf, bl, len, W, G->g, kf >= 0, cf, sf, &loc, 0, tabf, gamf, kf > 0, ks >= 0, cs,
                                   ss, acc);
                    if (kf >= 0) {
                        my[kf] += acc[0];
                        my[p + kf] += acc[1];
                    }
                    if (ks >= 0) my[ks] += acc[2];
                    qd_scatter(lam, bl, G, base);
                }
            } else {
#pragma omp for schedule(static)
                for (int64_t b = 0; b < nblocks; ++b) {
                    double *lb = lam + 2 * b * B;
                    if (src)
                        qd_stream_load(bf, src + 2 * b * B, B);
                    else
                        qd_phase_block(bf, b * B, B, cc, tab0, gam0, 1.0, 1, amp0);
                    double acc[3] = {0.0, 0.0, 0.0};
                    qd_adj_pass_st(bf, lb, B, 1, L, 1, cf, sf, cc, b * B, tabf, gamf, kf > 0, ks >= 0, cs, ss, acc);
                    my[kf] += acc[0];
                    my[p + kf] += acc[1];
                    if (ks >= 0) my[ks] += acc[2];
                }
            }
        }
        free(bf);
        free(bl);
        free(cb);
    }
    return qd_reduce_parts(part, nth, stride, p, gg, gb);
}

/* Adjoint: phi = final state (overwritten), lam = workspace. Returns energy; fills gg[p], gb[p]. */
static double qd_adjoint(double *phi, double *lam, int n, const qd_cost_t *cc, const double *tables,
                         const double *betas, int p, int L, int nth, double *gg, double *gb)
{
    const int64_t N = INT64_C(1) << n, B = INT64_C(1) << L, nblocks = N >> L;
    qd_group_t gr[QT_MAXQ];
    const int ng = qd_groups(n, L, gr);
    if (nth > 1 && N < QT_PAR_MIN) nth = 1;
    if (ng == 1) return qd_adjoint_fused(phi, lam, n, cc, tables, betas, p, L, nth, gg, gb, &gr[0], 0, 0);
    double energy = 0.0;
#pragma omp parallel for num_threads(nth) if (nth > 1) schedule(static) reduction(+ : energy)
    for (int64_t i = 0; i < N; ++i) {
        const double cv = qd_cost_at(cc, i);
        lam[2 * i] = cv * phi[2 * i];
        lam[2 * i + 1] = cv * phi[2 * i + 1];
        energy += cv * (phi[2 * i] * phi[2 * i] + phi[2 * i + 1] * phi[2 * i + 1]);
    }
    for (int k = p - 1; k >= 0; --k) {
        const double c = cos(betas[k]), s = -sin(betas[k]);
        const double *tab = cc->direct ? NULL : tables + 2 * cc->K * k;
        const double gam = cc->direct ? tables[k] : 0.0;
        double xacc = 0.0, cacc = 0.0;
#pragma omp parallel num_threads(nth) if (nth > 1) reduction(+ : xacc, cacc)
        {
            double *bf = ng ? (double *)qt_aligned_alloc((size_t)16 << QD_CHUNK_BITS) : NULL;
            double *bl = ng ? (double *)qt_aligned_alloc((size_t)16 << QD_CHUNK_BITS) : NULL;
            for (int gi = 0; gi < ng; ++gi) {
                const qd_group_t *G = &gr[gi];
                const int64_t rowlen = G->W;
#pragma omp for schedule(static)
                for (int64_t t = 0; t < G->nchunks; ++t) {
                    const int64_t base = qd_chunk_base(G, t);
                    const int64_t len = rowlen << G->g;
                    qd_gather(bf, phi, G, base);
                    qd_gather(bl, lam, G, base);
                    xacc += qd_adj_bits(bf, bl, len, rowlen, G->g, c, s);
                    qd_scatter(phi, bf, G, base);
                    qd_scatter(lam, bl, G, base);
                }
            }
#pragma omp for schedule(static)
            for (int64_t b = 0; b < nblocks; ++b) {
                double *fb = phi + 2 * b * B, *lb = lam + 2 * b * B;
                xacc += qd_adj_bits(fb, lb, B, 1, L, c, s);
                cacc += qd_adj_phase_block(fb, lb, b * B, B, cc, tab, gam, k > 0);
            }
            free(bf);
            free(bl);
        }
        gb[k] = 2.0 * xacc;
        gg[k] = 2.0 * cacc;
    }
    return energy;
}

/* Expectation sum_i C_i |x_i|^2. */
static double qd_energy(const double *x, int n, const qd_cost_t *cc, int nth)
{
    const int64_t N = INT64_C(1) << n;
    if (nth > 1 && N < QT_PAR_MIN) nth = 1;
    double e = 0.0;
#pragma omp parallel for num_threads(nth) if (nth > 1) schedule(static) reduction(+ : e)
    for (int64_t i = 0; i < N; ++i) e += qd_cost_at(cc, i) * (x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1]);
    return e;
}

/* Parse (cost, tables, values, betas) into a qd_cost_t; views released by qd_release. */
typedef struct {
    Py_buffer cost, tables, values, betas;
    int have_values;
} qd_views_t;

static void qd_release(qd_views_t *v)
{
    PyBuffer_Release(&v->cost);
    PyBuffer_Release(&v->tables);
    PyBuffer_Release(&v->betas);
    if (v->have_values) PyBuffer_Release(&v->values);
}

static int qd_fmt_is(const Py_buffer *v, const char *want)
{
    const char *fmt = v->format ? v->format : "";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') ++fmt;
    return strcmp(fmt, want) == 0;
}

static int qd_parse(PyObject *cost_obj, PyObject *tables_obj, PyObject *values_obj, PyObject *betas_obj, int n,
                    qd_views_t *v, qd_cost_t *cc, int64_t *p)
{
    memset(v, 0, sizeof(*v));
    const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    if (PyObject_GetBuffer(cost_obj, &v->cost, flags) < 0) return -1;
    if (PyObject_GetBuffer(tables_obj, &v->tables, flags) < 0) {
        PyBuffer_Release(&v->cost);
        return -1;
    }
    if (PyObject_GetBuffer(betas_obj, &v->betas, flags) < 0) {
        PyBuffer_Release(&v->cost);
        PyBuffer_Release(&v->tables);
        return -1;
    }
    v->have_values = 0;
    if (values_obj != Py_None) {
        if (PyObject_GetBuffer(values_obj, &v->values, flags) < 0) {
            qd_release(v);
            return -1;
        }
        v->have_values = 1;
    }
    const int64_t N = INT64_C(1) << n;
    *p = v->betas.len / 8;
    if (!qd_fmt_is(&v->betas, "d") || v->betas.itemsize != 8) goto bad;
    if (qd_fmt_is(&v->cost, "H") && v->cost.itemsize == 2) {
        cc->direct = 0;
        cc->lv = (const uint16_t *)v->cost.buf;
        if (!v->have_values || !qd_fmt_is(&v->values, "d") || v->values.itemsize != 8) goto bad;
        cc->values = (const double *)v->values.buf;
        cc->K = v->values.len / 8;
        if (!qd_fmt_is(&v->tables, "Zd") || v->tables.len != 16 * cc->K * (*p)) goto bad;
        for (int64_t i = 0; i < N; ++i)
            if (cc->lv[i] >= cc->K) goto bad;
    } else if (qd_fmt_is(&v->cost, "d") && v->cost.itemsize == 8) {
        cc->direct = 1;
        cc->cost = (const double *)v->cost.buf;
        cc->K = 0;
        if (!qd_fmt_is(&v->tables, "d") || v->tables.len != 8 * (*p)) goto bad;
    } else {
        goto bad;
    }
    if (v->cost.len / v->cost.itemsize != N) goto bad;
    return 0;
bad:
    qd_release(v);
    PyErr_SetString(PyExc_TypeError,
                    "qaoa kernels: cost must be uint16 levels (with float64 values and complex128 tables of shape "
                    "(p, K)) or float64 costs (with float64 gammas), of the state's length; betas float64");
    return -1;
}

/* sym needs one high group (low_bits < n <= low_bits + 12: the top qubit's pairs are chunk pairs) and |+>. */
static int qd_sym_ok(int n, int L, int init)
{
    qd_group_t gr[QT_MAXQ];
    if (init && L < n && qd_groups_sym(n, L, gr) == 1) return 1;
    PyErr_SetString(PyExc_ValueError, "qaoa kernels: sym=True (the bit-flip symmetric half state) needs init=1 "
                                      "and low_bits < log2(len(state)) <= low_bits + 12");
    return 0;
}

static PyObject *py_qaoa_evolve(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "cost", "tables", "values", "betas", "init", "threads", "low_bits", "sym",
                             NULL};
    PyObject *state_obj, *cost_obj, *tables_obj, *values_obj, *betas_obj;
    int init = 1, threads = 1, low_bits = QD_LOW_DEFAULT, sym = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOO|iiip", kwlist, &state_obj, &cost_obj, &tables_obj, &values_obj,
                                     &betas_obj, &init, &threads, &low_bits, &sym))
        return NULL;
    qt_state st;
    if (qt_get_state(state_obj, &st) < 0) return NULL;
    if (!st.is_double) {
        PyBuffer_Release(&st.view);
        PyErr_SetString(PyExc_TypeError, "qaoa_evolve: state must be complex128");
        return NULL;
    }
    qd_views_t v;
    qd_cost_t cc;
    int64_t p;
    if (qd_parse(cost_obj, tables_obj, values_obj, betas_obj, st.n, &v, &cc, &p) < 0) {
        PyBuffer_Release(&st.view);
        return NULL;
    }
    int L = low_bits < 2 ? 2 : low_bits;
    if (L > st.n) L = st.n;
    const int nth = qt_threads(threads);
    if (sym && !qd_sym_ok(st.n, L, init)) {
        qd_release(&v);
        PyBuffer_Release(&st.view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    qd_forward((double *)st.view.buf, st.n, &cc, (const double *)v.tables.buf, (const double *)v.betas.buf, (int)p,
               init, L, nth, NULL, 0, sym);
    Py_END_ALLOW_THREADS
    qd_release(&v);
    PyBuffer_Release(&st.view);
    Py_RETURN_NONE;
}

/* (energy, dgammas, dbetas) as Python floats and lists; frees gg and gb. */
static PyObject *qd_grad_result(double energy, double *gg, double *gb, int64_t p)
{
    PyObject *lg = PyList_New(p), *lb = PyList_New(p);
    for (int64_t k = 0; lg && lb && k < p; ++k) {
        PyList_SET_ITEM(lg, k, PyFloat_FromDouble(gg[k]));
        PyList_SET_ITEM(lb, k, PyFloat_FromDouble(gb[k]));
    }
    free(gg);
    free(gb);
    if (!lg || !lb) {
        Py_XDECREF(lg);
        Py_XDECREF(lb);
        return NULL;
    }
    return Py_BuildValue("(dNN)", energy, lg, lb);
}

static PyObject *py_qaoa_adjoint(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "work", "cost", "tables", "values", "betas", "threads", "low_bits", NULL};
    PyObject *state_obj, *work_obj, *cost_obj, *tables_obj, *values_obj, *betas_obj;
    int threads = 1, low_bits = QD_LOW_DEFAULT;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOO|ii", kwlist, &state_obj, &work_obj, &cost_obj, &tables_obj,
                                     &values_obj, &betas_obj, &threads, &low_bits))
        return NULL;
    qt_state st, wk;
    if (qt_get_state(state_obj, &st) < 0) return NULL;
    if (qt_get_state(work_obj, &wk) < 0) {
        PyBuffer_Release(&st.view);
        return NULL;
    }
    if (!st.is_double || !wk.is_double || wk.n != st.n || st.view.buf == wk.view.buf) {
        PyBuffer_Release(&st.view);
        PyBuffer_Release(&wk.view);
        PyErr_SetString(PyExc_TypeError, "qaoa_adjoint: state and work must be distinct complex128 arrays of one length");
        return NULL;
    }
    qd_views_t v;
    qd_cost_t cc;
    int64_t p;
    if (qd_parse(cost_obj, tables_obj, values_obj, betas_obj, st.n, &v, &cc, &p) < 0) {
        PyBuffer_Release(&st.view);
        PyBuffer_Release(&wk.view);
        return NULL;
    }
    int L = low_bits < 2 ? 2 : low_bits;
    if (L > st.n) L = st.n;
    const int nth = qt_threads(threads);
    double *gg = (double *)calloc((size_t)(p > 0 ? p : 1), sizeof(double));
    double *gb = (double *)calloc((size_t)(p > 0 ? p : 1), sizeof(double));
    double energy = 0.0;
    Py_BEGIN_ALLOW_THREADS
    energy = qd_adjoint((double *)st.view.buf, (double *)wk.view.buf, st.n, &cc, (const double *)v.tables.buf,
                        (const double *)v.betas.buf, (int)p, L, nth, gg, gb);
    Py_END_ALLOW_THREADS
    qd_release(&v);
    PyBuffer_Release(&st.view);
    PyBuffer_Release(&wk.view);
    return qd_grad_result(energy, gg, gb, p);
}

static PyObject *py_qaoa_gradient(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "work", "store", "cost", "tables", "values", "betas", "threads", "low_bits",
                             "sym", NULL};
    PyObject *state_obj, *work_obj, *store_obj, *cost_obj, *tables_obj, *values_obj, *betas_obj;
    int threads = 1, low_bits = QD_LOW_DEFAULT, sym = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOO|iip", kwlist, &state_obj, &work_obj, &store_obj, &cost_obj,
                                     &tables_obj, &values_obj, &betas_obj, &threads, &low_bits, &sym))
        return NULL;
    qt_state st, wk;
    if (qt_get_state(state_obj, &st) < 0) return NULL;
    if (qt_get_state(work_obj, &wk) < 0) {
        PyBuffer_Release(&st.view);
        return NULL;
    }
    Py_buffer sv;
    memset(&sv, 0, sizeof(sv));
    const int have_store = store_obj != Py_None;
    if (have_store && PyObject_GetBuffer(store_obj, &sv, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&st.view);
        PyBuffer_Release(&wk.view);
        return NULL;
    }
    qd_views_t v;
    qd_cost_t cc;
    int64_t p = 0;
    const char *err = NULL;
    if (!st.is_double || !wk.is_double || wk.n != st.n || st.view.buf == wk.view.buf)
        err = "qaoa_gradient: state and work must be distinct complex128 arrays of one length";
    else if (qd_parse(cost_obj, tables_obj, values_obj, betas_obj, st.n, &v, &cc, &p) < 0)
        err = "";
    else if (have_store && (!qd_fmt_is(&sv, "Zd") || sv.len < 16 * (p > 1 ? p - 1 : 0) * (INT64_C(1) << st.n))) {
        qd_release(&v);
        err = "qaoa_gradient: store must be a complex128 array of at least (p - 1) * 2**n entries";
    }
    if (err) {
        if (have_store) PyBuffer_Release(&sv);
        PyBuffer_Release(&st.view);
        PyBuffer_Release(&wk.view);
        if (*err) PyErr_SetString(PyExc_TypeError, err);
        return NULL;
    }
    int L = low_bits < 2 ? 2 : low_bits;
    if (L > st.n) L = st.n;
    int nth = qt_threads(threads);
    if (nth > 1 && (INT64_C(1) << st.n) < QT_PAR_MIN) nth = 1;
    qd_group_t gr[QT_MAXQ];
    const int ng = sym ? qd_groups_sym(st.n, L, gr) : qd_groups(st.n, L, gr);
    if (sym && (have_store || p < 1 || !qd_sym_ok(st.n, L, 1))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "qaoa_gradient: sym=True needs p >= 1 and no store");
        qd_release(&v);
        if (have_store) PyBuffer_Release(&sv);
        PyBuffer_Release(&st.view);
        PyBuffer_Release(&wk.view);
        return NULL;
    }
    double *gg = (double *)calloc((size_t)(p > 0 ? p : 1), sizeof(double));
    double *gb = (double *)calloc((size_t)(p > 0 ? p : 1), sizeof(double));
    double energy = 0.0;
    Py_BEGIN_ALLOW_THREADS
    if (ng == 1 && p > 0 && !have_store) {
        qd_forward((double *)st.view.buf, st.n, &cc, (const double *)v.tables.buf, (const double *)v.betas.buf,
                   (int)p, 1, L, nth, NULL, 1, sym);
        energy = qd_adjoint_fused((double *)st.view.buf, (double *)wk.view.buf, st.n, &cc,
                                  (const double *)v.tables.buf, (const double *)v.betas.buf, (int)p, L, nth, gg, gb,
                                  &gr[0], 1, sym);
    } else if (ng == 1 && p > 0) {
        qd_forward((double *)st.view.buf, st.n, &cc, (const double *)v.tables.buf, (const double *)v.betas.buf,
                   (int)p, 1, L, nth, (double *)sv.buf, 1, 0);
        energy = qd_adjoint_stored((const double *)st.view.buf, (double *)wk.view.buf, (const double *)sv.buf, st.n,
                                   &cc, (const double *)v.tables.buf, (const double *)v.betas.buf, (int)p, L, nth, gg,
                                   gb, &gr[0]);
    } else { /* no single high group: the two-vector adjoint, store unused */
        qd_forward((double *)st.view.buf, st.n, &cc, (const double *)v.tables.buf, (const double *)v.betas.buf,
                   (int)p, 1, L, nth, NULL, 0, 0);
        energy = qd_adjoint((double *)st.view.buf, (double *)wk.view.buf, st.n, &cc, (const double *)v.tables.buf,
                            (const double *)v.betas.buf, (int)p, L, nth, gg, gb);
    }
    Py_END_ALLOW_THREADS
    qd_release(&v);
    if (have_store) PyBuffer_Release(&sv);
    PyBuffer_Release(&st.view);
    PyBuffer_Release(&wk.view);
    return qd_grad_result(energy, gg, gb, p);
}

static PyObject *py_qaoa_energy(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"state", "cost", "values", "threads", NULL};
    PyObject *state_obj, *cost_obj, *values_obj;
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|i", kwlist, &state_obj, &cost_obj, &values_obj, &threads))
        return NULL;
    qt_state st;
    if (qt_get_state(state_obj, &st) < 0) return NULL;
    if (!st.is_double) {
        PyBuffer_Release(&st.view);
        PyErr_SetString(PyExc_TypeError, "qaoa_energy: state must be complex128");
        return NULL;
    }
    qd_cost_t cc;
    memset(&cc, 0, sizeof(cc));
    int rc = -1;
    Py_buffer cost, values;
    memset(&cost, 0, sizeof(cost));
    int have_values = 0;
    if (PyObject_GetBuffer(cost_obj, &cost, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) == 0) {
        if (qd_fmt_is(&cost, "H") && cost.itemsize == 2 && values_obj != Py_None &&
            PyObject_GetBuffer(values_obj, &values, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) == 0) {
            have_values = 1;
            cc.direct = 0;
            cc.lv = (const uint16_t *)cost.buf;
            cc.values = (const double *)values.buf;
            cc.K = values.len / 8;
            rc = (qd_fmt_is(&values, "d") && cost.len / 2 == (INT64_C(1) << st.n)) ? 0 : -1;
            for (int64_t i = 0; rc == 0 && i < (INT64_C(1) << st.n); ++i)
                if (cc.lv[i] >= cc.K) rc = -1;
        } else if (qd_fmt_is(&cost, "d") && cost.itemsize == 8 && cost.len / 8 == (INT64_C(1) << st.n)) {
            cc.direct = 1;
            cc.cost = (const double *)cost.buf;
            rc = 0;
        }
    }
    double e = 0.0;
    if (rc == 0) {
        const int nth = qt_threads(threads);
        Py_BEGIN_ALLOW_THREADS
        e = qd_energy((const double *)st.view.buf, st.n, &cc, nth);
        Py_END_ALLOW_THREADS
    }
    if (have_values) PyBuffer_Release(&values);
    PyBuffer_Release(&cost);
    PyBuffer_Release(&st.view);
    if (rc != 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "qaoa_energy: bad cost/values");
        return NULL;
    }
    return PyFloat_FromDouble(e);
}

static PyMethodDef qd_methods[] = {
    {"qaoa_evolve", (PyCFunction)(void (*)(void))py_qaoa_evolve, METH_VARARGS | METH_KEYWORDS,
     "qaoa_evolve(state, cost, tables, values, betas, init=1, threads=1, low_bits=14, sym=False)\n\n"
     "p QAOA layers in place: x *= exp(-i gamma_k C) (uint16 levels + complex128 tables (p, K), or float64 costs\n"
     "+ float64 gammas), then exp(-i beta_k sum_j X_j). init=1 starts from |+>^n (the state's content is ignored).\n"
     "sym=True: C(x) = C(~x) on n + 1 qubits and state (and cost) hold the amplitudes with the top qubit 0."},
    {"qaoa_adjoint", (PyCFunction)(void (*)(void))py_qaoa_adjoint, METH_VARARGS | METH_KEYWORDS,
     "qaoa_adjoint(state, work, cost, tables, values, betas, threads=1, low_bits=14) -> (energy, dgammas, dbetas)\n\n"
     "Reverse-mode gradient from the final state (overwritten; work is scratch). tables as in qaoa_evolve."},
    {"qaoa_gradient", (PyCFunction)(void (*)(void))py_qaoa_gradient, METH_VARARGS | METH_KEYWORDS,
     "qaoa_gradient(state, work, store, cost, tables, values, betas, threads=1, low_bits=14) -> (energy, dgammas, "
     "dbetas)\n\nForward from |+>^n into state, storing the state after each layer's phase (layers 1..p-1) in\n"
     "store ((p - 1) * 2**n complex128), then the adjoint that reads them back and runs only lambda backwards\n"
     "(one high group, n - low_bits <= 12; otherwise the two-vector adjoint, store unused).\n"
     "sym=True (store None): the symmetric half state as in qaoa_evolve; values are those of all n + 1 qubits."},
    {"qaoa_energy", (PyCFunction)(void (*)(void))py_qaoa_energy, METH_VARARGS | METH_KEYWORDS,
     "qaoa_energy(state, cost, values, threads=1) -> sum_i C_i |x_i|^2."},
    {NULL, NULL, 0, NULL},
};

static int qt_register_extra(PyObject *module)
{
    if (PyModule_AddIntConstant(module, "QAOA_SYMMETRIC", 1) < 0) return -1; /* qaoa_evolve/_gradient take sym */
    return PyModule_AddFunctions(module, qd_methods);
}
#endif /* !QT_TEMPLATE && __GNUC__ (QAOA kernels) */
