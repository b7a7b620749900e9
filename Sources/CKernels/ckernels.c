#include "ckernels.h"

#include <string.h>

/// Eight and four floats at any alignment.
typedef float f8 __attribute__((vector_size(32), aligned(4)));
typedef float f4 __attribute__((vector_size(16), aligned(4)));

/// The image with `padding` zeros around each plane, in `padded`.
static inline void pad(const float *image, const amnesia_conv_geometry *g, float *padded) {
    const int ph = g->height + 2 * g->padding, pw = g->width + 2 * g->padding;
    if (g->padding == 0) {
        memcpy(padded, image, sizeof(float) * (size_t)(g->channels * ph * pw));
        return;
    }
    memset(padded, 0, sizeof(float) * (size_t)(g->channels * ph * pw));
    for (int c = 0; c < g->channels; c++)
        for (int r = 0; r < g->height; r++)
            memcpy(padded + (c * ph + r + g->padding) * pw + g->padding, image + (c * g->height + r) * g->width,
                   sizeof(float) * (size_t)g->width);
}

__attribute__((target_clones("avx2", "default")))
void amnesia_im2col(const float *image, amnesia_conv_geometry g, float *cols, float *scratch) {
    pad(image, &g, scratch);
    const float *source = scratch;
    const int ph = g.height + 2 * g.padding, pw = g.width + 2 * g.padding;
    const int oh = g.output_height, ow = g.output_width, s = g.stride;
    float *dst = cols;
    for (int c = 0; c < g.channels; c++)
        for (int ki = 0; ki < g.kernel_height; ki++)
            for (int kj = 0; kj < g.kernel_width; kj++) {
                const float *origin = source + (c * ph + ki) * pw + kj;
                for (int i = 0; i < oh; i++, dst += ow) {
                    const float *from = origin + i * s * pw;
                    if (s == 1) {
                        for (int j = 0; j < ow; j += 8) *(f8 *)(dst + j) = *(const f8 *)(from + j);
                    } else {
                        for (int j = 0; j < ow; j++) dst[j] = from[j * s];
                    }
                }
            }
}

/// to[0..<count] += from[0..<count], eight and four at a time, then one by one.
static inline void add_row(const float *from, float *to, int count) {
    int j = 0;
    for (; j + 8 <= count; j += 8) *(f8 *)(to + j) += *(const f8 *)(from + j);
    for (; j + 4 <= count; j += 4) *(f4 *)(to + j) += *(const f4 *)(from + j);
    for (; j < count; j++) to[j] += from[j];
}

__attribute__((target_clones("avx2", "default")))
void amnesia_col2im(const float *cols, amnesia_conv_geometry g, float *image, float *scratch) {
    const int ph = g.height + 2 * g.padding, pw = g.width + 2 * g.padding;
    const int oh = g.output_height, ow = g.output_width, s = g.stride;
    float *target = g.padding > 0 ? scratch : image;
    if (g.padding > 0) memset(scratch, 0, sizeof(float) * (size_t)(g.channels * ph * pw));
    const float *src = cols;
    for (int c = 0; c < g.channels; c++)
        for (int ki = 0; ki < g.kernel_height; ki++)
            for (int kj = 0; kj < g.kernel_width; kj++) {
                float *origin = target + (c * ph + ki) * pw + kj;
                for (int i = 0; i < oh; i++, src += ow) {
                    float *to = origin + i * s * pw;
                    if (s == 1) {
                        add_row(src, to, ow);
                    } else {
                        for (int j = 0; j < ow; j++) to[j * s] += src[j];
                    }
                }
            }
    if (g.padding == 0) return;
    for (int c = 0; c < g.channels; c++)
        for (int r = 0; r < g.height; r++)
            add_row(scratch + (c * ph + r + g.padding) * pw + g.padding, image + (c * g.height + r) * g.width, g.width);
}

/// The wide im2col matrix of a stride-1 convolution needs no copying: its row
/// (c, ki, kj) is the padded image read from offset (c·Hp + ki)·Wp + kj, and its column
/// i·Wp + j is output position (i, j) for j < Wo (columns j ≥ Wo are computed and
/// dropped, Wp/Wo more arithmetic for no im2col). Writes the padded image, followed by
/// the kw − 1 zeros the last row reads past it, and each row's offset.
static void wide_rows(const float *image, const amnesia_conv_geometry *g, float *padded, int *offsets) {
    const int ph = g->height + 2 * g->padding, pw = g->width + 2 * g->padding;
    pad(image, g, padded);
    memset(padded + g->channels * ph * pw, 0, sizeof(float) * (size_t)(g->kernel_width - 1));
    int *offset = offsets;
    for (int c = 0; c < g->channels; c++)
        for (int ki = 0; ki < g->kernel_height; ki++)
            for (int kj = 0; kj < g->kernel_width; kj++) *offset++ = (c * ph + ki) * pw + kj;
}

int amnesia_conv_wide_scratch(amnesia_conv_geometry g, int out_channels) {
    const int ph = g.height + 2 * g.padding, pw = g.width + 2 * g.padding;
    return g.channels * ph * pw + g.kernel_width - 1 + out_channels * g.output_height * pw;
}

#if defined(__x86_64__)
#include <immintrin.h>

bool amnesia_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma")))
static inline float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Where row `r` of B starts: at `b_rows[r]` when given, else densely at r · ld.
static inline const float *row_of(const float *b, const int *b_rows, int ld, int r) {
    return b + (b_rows ? b_rows[r] : r * ld);
}

/// One 3×4 block of dot products, written out so that its twelve accumulators stay in
/// registers. Rows past the matrix's edge repeat its last
/// row (computed, not stored), so the inner loop has no branches.
__attribute__((target("avx2,fma")))
static void block3x4(int rows, int cols, int k, const float *a, const float *b, const int *b_rows,
                     float *c, int ldc, float beta) {
    const float *a0 = a, *a1 = a + (rows > 1 ? 1 : 0) * k, *a2 = a + (rows > 2 ? 2 : rows - 1) * k;
    const float *b0 = row_of(b, b_rows, k, 0), *b1 = row_of(b, b_rows, k, cols > 1 ? 1 : 0);
    const float *b2 = row_of(b, b_rows, k, cols > 2 ? 2 : cols - 1);
    const float *b3 = row_of(b, b_rows, k, cols > 3 ? 3 : cols - 1);
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
    __m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    int l = 0;
    for (; l + 8 <= k; l += 8) {
        __m256 x0 = _mm256_loadu_ps(a0 + l), x1 = _mm256_loadu_ps(a1 + l), x2 = _mm256_loadu_ps(a2 + l);
        __m256 y = _mm256_loadu_ps(b0 + l);
        c00 = _mm256_fmadd_ps(x0, y, c00); c10 = _mm256_fmadd_ps(x1, y, c10); c20 = _mm256_fmadd_ps(x2, y, c20);
        y = _mm256_loadu_ps(b1 + l);
        c01 = _mm256_fmadd_ps(x0, y, c01); c11 = _mm256_fmadd_ps(x1, y, c11); c21 = _mm256_fmadd_ps(x2, y, c21);
        y = _mm256_loadu_ps(b2 + l);
        c02 = _mm256_fmadd_ps(x0, y, c02); c12 = _mm256_fmadd_ps(x1, y, c12); c22 = _mm256_fmadd_ps(x2, y, c22);
        y = _mm256_loadu_ps(b3 + l);
        c03 = _mm256_fmadd_ps(x0, y, c03); c13 = _mm256_fmadd_ps(x1, y, c13); c23 = _mm256_fmadd_ps(x2, y, c23);
    }
    const __m256 acc[3][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}};
    const float *ar[3] = {a0, a1, a2}, *br[4] = {b0, b1, b2, b3};
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            float total = sum8(acc[i][j]);
            for (int t = l; t < k; t++) total += ar[i][t] * br[j][t];
            float *out = c + i * ldc + j;
            *out = beta == 0 ? total : beta * *out + total;
        }
    }
}

__attribute__((target("avx2,fma")))
void amnesia_gemm_nt_dot(int m, int n, int k, const float *a, const float *b, const int *b_rows,
                         float *c, float beta) {
    for (int i = 0; i < m; i += 3) {
        int rows = m - i < 3 ? m - i : 3;
        for (int j = 0; j < n; j += 4) {
            int cols = n - j < 4 ? n - j : 4;
            block3x4(rows, cols, k, a + i * k, b_rows ? b : b + j * k, b_rows ? b_rows + j : NULL,
                     c + i * n + j, n, beta);
        }
    }
}

/// A mask of the first `count` lanes: none for count ≤ 0, all for count ≥ 8.
__attribute__((target("avx2,fma")))
static inline __m256i lanes(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Up to six rows × sixteen columns of C = A · B + beta · C, accumulated in twelve
/// registers over the whole inner dimension: each step loads two vectors of a row of B
/// and broadcasts one value of each row of A. Rows past the edge repeat the last row
/// (computed, not stored); columns past the edge are masked.
__attribute__((target("avx2,fma")))
static void block6x16(int rows, int cols, int k, const float *a, int lda, const float *b, const int *b_rows,
                      int ldb, float *c, int ldc, float beta) {
    const float *ar[6];
    for (int i = 0; i < 6; i++) ar[i] = a + (i < rows ? i : rows - 1) * lda;
    const __m256i mask0 = lanes(cols), mask1 = lanes(cols - 8);
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int l = 0; l < k; l++) {
        const float *row = row_of(b, b_rows, ldb, l);
        __m256 y0 = cols >= 16 ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, mask0);
        __m256 y1 = cols >= 16 ? _mm256_loadu_ps(row + 8) : _mm256_maskload_ps(row + 8, mask1);
        __m256 x = _mm256_broadcast_ss(ar[0] + l);
        c00 = _mm256_fmadd_ps(x, y0, c00); c01 = _mm256_fmadd_ps(x, y1, c01);
        x = _mm256_broadcast_ss(ar[1] + l);
        c10 = _mm256_fmadd_ps(x, y0, c10); c11 = _mm256_fmadd_ps(x, y1, c11);
        x = _mm256_broadcast_ss(ar[2] + l);
        c20 = _mm256_fmadd_ps(x, y0, c20); c21 = _mm256_fmadd_ps(x, y1, c21);
        x = _mm256_broadcast_ss(ar[3] + l);
        c30 = _mm256_fmadd_ps(x, y0, c30); c31 = _mm256_fmadd_ps(x, y1, c31);
        x = _mm256_broadcast_ss(ar[4] + l);
        c40 = _mm256_fmadd_ps(x, y0, c40); c41 = _mm256_fmadd_ps(x, y1, c41);
        x = _mm256_broadcast_ss(ar[5] + l);
        c50 = _mm256_fmadd_ps(x, y0, c50); c51 = _mm256_fmadd_ps(x, y1, c51);
    }
    const __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    const __m256 scale = _mm256_set1_ps(beta);
    for (int i = 0; i < rows; i++) {
        float *out = c + i * ldc;
        for (int half = 0; half < 2; half++) {
            const __m256i mask = half == 0 ? mask0 : mask1;
            float *at = out + 8 * half;
            __m256 value = acc[i][half];
            if (beta != 0) value = _mm256_fmadd_ps(scale, _mm256_maskload_ps(at, mask), value);
            _mm256_maskstore_ps(at, mask, value);
        }
    }
}

__attribute__((target("avx2,fma")))
void amnesia_gemm_nn_few_rows(int m, int n, int k, const float *a, const float *b, const int *b_rows,
                              float *c, float beta) {
    for (int i = 0; i < m; i += 6) {
        int rows = m - i < 6 ? m - i : 6;
        for (int j = 0; j < n; j += 16) {
            int cols = n - j < 16 ? n - j : 16;
            block6x16(rows, cols, k, a + i * k, k, b + j, b_rows, n, c + i * n + j, n, beta);
        }
    }
}

__attribute__((target("avx2,fma")))
void amnesia_conv_forward_wide(const float *image, amnesia_conv_geometry g, int out_channels, const float *weights,
                               const float *bias, float *out, float *scratch, int *offsets) {
    const int pw = g.width + 2 * g.padding, oh = g.output_height, ow = g.output_width;
    const int patch = g.channels * g.kernel_height * g.kernel_width;
    wide_rows(image, &g, scratch, offsets);
    float *wide = scratch + amnesia_conv_wide_scratch(g, 0);
    amnesia_gemm_nn_few_rows(out_channels, oh * pw, patch, weights, scratch, offsets, wide, 0);
    for (int o = 0; o < out_channels; o++) {
        const float shift = bias ? bias[o] : 0;
        for (int i = 0; i < oh; i++) {
            const float *from = wide + (o * oh + i) * pw;
            float *to = out + (o * oh + i) * ow;
            for (int j = 0; j < ow; j++) to[j] = from[j] + shift;
        }
    }
}

__attribute__((target("avx2,fma")))
void amnesia_conv_weight_gradient_wide(const float *image, const float *upstream, amnesia_conv_geometry g,
                                       int out_channels, float *gradient, float beta, float *scratch, int *offsets) {
    const int pw = g.width + 2 * g.padding, oh = g.output_height, ow = g.output_width;
    const int patch = g.channels * g.kernel_height * g.kernel_width;
    wide_rows(image, &g, scratch, offsets);
    float *wide = scratch + amnesia_conv_wide_scratch(g, 0);
    // Zeros in the dropped columns: they meet real pixels at the image's edges, which
    // then add nothing (unless a pixel is infinite or NaN, when the result is NaN anyway).
    for (int o = 0; o < out_channels; o++)
        for (int i = 0; i < oh; i++) {
            float *to = wide + (o * oh + i) * pw;
            memcpy(to, upstream + (o * oh + i) * ow, sizeof(float) * (size_t)ow);
            memset(to + ow, 0, sizeof(float) * (size_t)(pw - ow));
        }
    amnesia_gemm_nt_dot(out_channels, patch, oh * pw, wide, scratch, offsets, gradient, beta);
}

#else

// The kernels below exist for x86-64 only; callers check amnesia_has_avx2_fma() first.
bool amnesia_has_avx2_fma(void) { return false; }
void amnesia_gemm_nt_dot(int m, int n, int k, const float *a, const float *b, const int *b_rows, float *c,
                         float beta) { __builtin_trap(); }
void amnesia_gemm_nn_few_rows(int m, int n, int k, const float *a, const float *b, const int *b_rows, float *c,
                              float beta) { __builtin_trap(); }
void amnesia_conv_forward_wide(const float *image, amnesia_conv_geometry g, int out_channels, const float *weights,
                               const float *bias, float *out, float *scratch, int *offsets) { __builtin_trap(); }
void amnesia_conv_weight_gradient_wide(const float *image, const float *upstream, amnesia_conv_geometry g,
                                       int out_channels, float *gradient, float beta, float *scratch,
                                       int *offsets) { __builtin_trap(); }

#endif
