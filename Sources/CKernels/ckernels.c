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

// ---------------------------------------------------------------------------------------
// Direct stride-1 convolutions for few channels: no im2col, no col2im.

/// One correlation's shape: `channels` padded planes of ph × pw in, out_channels planes
/// of oh × ow out, with a kh × kw kernel.
typedef struct {
    int channels, ph, pw, kh, kw, oh, ow, out_channels;
} correlation;

/// Zeros read past a padded image by the vector loads (a block's last vectors start
/// up to fifteen values past the row's end, plus the kernel's width).
static int read_slack(int kw) { return 32 + kw; }

/// Floats one padded image (padding pad_h above and below, pad_w left and right) takes in
/// scratch, with the zeros the vector loads read past it.
static int padded_size(int channels, int height, int width, int pad_h, int pad_w, int kw) {
    return channels * (height + 2 * pad_h) * (width + 2 * pad_w) + read_slack(kw);
}

/// to[0..<count] = from[0..<count], four at a time: LeNet's rows (10 to 28 values) are
/// too short for a memcpy call, whose overhead profiling showed as a tenth of the time.
static inline void copy_row(const float *from, float *to, int count) {
    int j = 0;
    for (; j + 4 <= count; j += 4) *(f4 *)(to + j) = *(const f4 *)(from + j);
    for (; j < count; j++) to[j] = from[j];
}

/// `image` (channels × height × width) with its zero padding and read slack, in `padded`.
static void pad_image(const float *image, int channels, int height, int width, int pad_h, int pad_w, int kw,
                      float *padded) {
    const int ph = height + 2 * pad_h, pw = width + 2 * pad_w;
    memset(padded, 0, sizeof(float) * (size_t)padded_size(channels, height, width, pad_h, pad_w, kw));
    for (int c = 0; c < channels; c++)
        for (int r = 0; r < height; r++)
            copy_row(image + (c * height + r) * width, padded + (c * ph + r + pad_h) * pw + pad_w, width);
}

/// out[o, i, j] = bias[o] + Σ weights[o, c, ki, kj] · padded[c, i + ki, j + kj]: plain
/// loops whose inner loop over a row the compiler vectorizes for any CPU.
static void correlate_portable(const float *padded, correlation s, const float *weights, const float *bias,
                               float *out) {
    const int plane = s.ph * s.pw;
    for (int o = 0; o < s.out_channels; o++)
        for (int i = 0; i < s.oh; i++) {
            float *y = out + (o * s.oh + i) * s.ow;
            const float start = bias ? bias[o] : 0;
            for (int j = 0; j < s.ow; j++) y[j] = start;
            const float *w = weights + o * s.channels * s.kh * s.kw;
            for (int c = 0; c < s.channels; c++)
                for (int ki = 0; ki < s.kh; ki++)
                    for (int kj = 0; kj < s.kw; kj++) {
                        const float value = *w++;
                        const float *x = padded + c * plane + (i + ki) * s.pw + kj;
                        for (int j = 0; j < s.ow; j++) y[j] += value * x[j];
                    }
        }
}

/// gradient[o, c, ki, kj] += Σ upstream[o, i, j] · padded[c, i + ki, j + kj] (the
/// weight gradient of one image), in four interleaved partial sums per row.
static void weight_gradient_portable(const float *padded, const float *upstream, correlation s, float *gradient) {
    const int plane = s.ph * s.pw;
    for (int o = 0; o < s.out_channels; o++)
        for (int c = 0; c < s.channels; c++)
            for (int ki = 0; ki < s.kh; ki++)
                for (int kj = 0; kj < s.kw; kj++) {
                    float partial[4] = {0, 0, 0, 0};
                    for (int i = 0; i < s.oh; i++) {
                        const float *g = upstream + (o * s.oh + i) * s.ow;
                        const float *x = padded + c * plane + (i + ki) * s.pw + kj;
                        for (int j = 0; j < s.ow; j++) partial[j & 3] += g[j] * x[j];
                    }
                    gradient[((o * s.channels + c) * s.kh + ki) * s.kw + kj] +=
                        (partial[0] + partial[1]) + (partial[2] + partial[3]);
                }
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

/// One 3×4 block of dot products, written out so that its twelve accumulators stay in
/// registers. Rows past the matrix's edge repeat its last
/// row (computed, not stored), so the inner loop has no branches.
__attribute__((target("avx2,fma")))
static void block3x4(int rows, int cols, int k, const float *a, const float *b, float *c, int ldc, float beta) {
    const float *a0 = a, *a1 = a + (rows > 1 ? 1 : 0) * k, *a2 = a + (rows > 2 ? 2 : rows - 1) * k;
    const float *b0 = b, *b1 = b + (cols > 1 ? 1 : 0) * k;
    const float *b2 = b + (cols > 2 ? 2 : cols - 1) * k, *b3 = b + (cols > 3 ? 3 : cols - 1) * k;
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
void amnesia_gemm_nt_dot(int m, int n, int k, const float *a, const float *b, float *c, float beta) {
    for (int i = 0; i < m; i += 3) {
        int rows = m - i < 3 ? m - i : 3;
        for (int j = 0; j < n; j += 4) {
            int cols = n - j < 4 ? n - j : 4;
            block3x4(rows, cols, k, a + i * k, b + j * k, c + i * n + j, n, beta);
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
static void block6x16(int rows, int cols, int k, const float *a, int lda, const float *b, int ldb, float *c,
                      int ldc, float beta) {
    const float *ar[6];
    for (int i = 0; i < 6; i++) ar[i] = a + (i < rows ? i : rows - 1) * lda;
    const __m256i mask0 = lanes(cols), mask1 = lanes(cols - 8);
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int l = 0; l < k; l++) {
        const float *row = b + l * ldb;
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
void amnesia_gemm_nn_few_rows(int m, int n, int k, const float *a, const float *b, float *c, float beta) {
    for (int i = 0; i < m; i += 6) {
        int rows = m - i < 6 ? m - i : 6;
        for (int j = 0; j < n; j += 16) {
            int cols = n - j < 16 ? n - j : 16;
            block6x16(rows, cols, k, a + i * k, k, b + j, n, c + i * n + j, n, beta);
        }
    }
}

/// One block of a correlation's output, OB channels × RB rows × JB vectors of eight
/// columns, accumulated in registers over every tap (C · kh · kw): each tap loads RB · JB
/// input vectors and broadcasts OB weights. Channels and rows past the edge repeat the
/// last one (computed, not stored); columns past the edge are computed and masked off.
/// Always inlined with constant OB, RB and JB, so the accumulator array is registers.
__attribute__((target("avx2,fma"), always_inline))
static inline void correlate_block(const int OB, const int RB, const int JB, const float *padded, correlation s,
                                   const float *weights, const float *bias, float *out, int o0, int i0, int j0) {
    const int plane = s.ph * s.pw, taps = s.channels * s.kh * s.kw;
    const float *w[6];
    int rows[4];
    __m256 acc[12];
    for (int o = 0; o < OB; o++) {
        const int channel = o0 + o < s.out_channels ? o0 + o : s.out_channels - 1;
        w[o] = weights + channel * taps;
        const __m256 start = _mm256_set1_ps(bias ? bias[channel] : 0);
        for (int a = 0; a < RB * JB; a++) acc[o * RB * JB + a] = start;
    }
    for (int r = 0; r < RB; r++) rows[r] = (i0 + r < s.oh ? i0 + r : s.oh - 1) * s.pw + j0;
    int t = 0;
    for (int c = 0; c < s.channels; c++)
        for (int ki = 0; ki < s.kh; ki++) {
            const float *base = padded + c * plane + ki * s.pw;
            for (int kj = 0; kj < s.kw; kj++, t++) {
                __m256 x[8];
                for (int r = 0; r < RB; r++)
                    for (int v = 0; v < JB; v++) x[r * JB + v] = _mm256_loadu_ps(base + rows[r] + kj + 8 * v);
                for (int o = 0; o < OB; o++) {
                    const __m256 weight = _mm256_broadcast_ss(w[o] + t);
                    for (int a = 0; a < RB * JB; a++)
                        acc[o * RB * JB + a] = _mm256_fmadd_ps(weight, x[a], acc[o * RB * JB + a]);
                }
            }
        }
    for (int o = 0; o < OB && o0 + o < s.out_channels; o++)
        for (int r = 0; r < RB && i0 + r < s.oh; r++) {
            float *y = out + ((o0 + o) * s.oh + i0 + r) * s.ow + j0;
            for (int v = 0; v < JB; v++) {
                const int valid = s.ow - j0 - 8 * v;
                if (valid >= 8) _mm256_storeu_ps(y + 8 * v, acc[(o * RB + r) * JB + v]);
                else if (valid > 0) _mm256_maskstore_ps(y + 8 * v, lanes(valid), acc[(o * RB + r) * JB + v]);
            }
        }
}

/// correlate_portable with AVX2/FMA blocks: six or four channels × one row × sixteen
/// columns (whichever leaves fewer channels computed twice: LeNet's 6 and 16 none), or,
/// for one or two channels, one channel × four rows × sixteen columns, so that at least
/// eight accumulators hide the FMA latency. (Blocks of positions × vectors of channels,
/// which waste no lanes on LeNet's conv2 rows of 10, measured a quarter slower.)
__attribute__((target("avx2,fma")))
static void correlate_avx2(const float *padded, correlation s, const float *weights, const float *bias, float *out) {
    const int o = s.out_channels;
    if (o <= 2) {
        for (int o0 = 0; o0 < o; o0++)
            for (int i = 0; i < s.oh; i += 4)
                for (int j = 0; j < s.ow; j += 16) correlate_block(1, 4, 2, padded, s, weights, bias, out, o0, i, j);
    } else if ((6 - o % 6) % 6 <= (4 - o % 4) % 4) {
        for (int o0 = 0; o0 < o; o0 += 6)
            for (int i = 0; i < s.oh; i++)
                for (int j = 0; j < s.ow; j += 16) correlate_block(6, 1, 2, padded, s, weights, bias, out, o0, i, j);
    } else {
        for (int o0 = 0; o0 < o; o0 += 4)
            for (int i = 0; i < s.oh; i++)
                for (int j = 0; j < s.ow; j += 16) correlate_block(4, 1, 2, padded, s, weights, bias, out, o0, i, j);
    }
}

/// Two output channels × five taps of a weight gradient, summed over `images` padded
/// images (`stride` floats apart) and their upstream gradients (rows of `row` floats,
/// zero past ow, so the lanes past a row's end add nothing): each step loads two upstream
/// and five input vectors for ten FMAs. Channels and taps past the edge repeat the last
/// one (computed, not stored). LeNet's 6 and 16 channels and 25 and 150 taps divide evenly.
__attribute__((target("avx2,fma")))
static void weight_gradient_block(const float *padded, int stride, const float *upstream, int row, int images,
                                  correlation s, int o0, int t0, float *gradient) {
    enum { OB = 2, TB = 5 };
    const int taps = s.channels * s.kh * s.kw, upstream_image = s.out_channels * s.oh * row;
    int offset[TB];
    for (int t = 0; t < TB; t++) {
        const int tap = t0 + t < taps ? t0 + t : taps - 1, c = tap / (s.kh * s.kw), k = tap % (s.kh * s.kw);
        offset[t] = (c * s.ph + k / s.kw) * s.pw + k % s.kw;
    }
    int channel[OB];
    for (int o = 0; o < OB; o++) channel[o] = o0 + o < s.out_channels ? o0 + o : s.out_channels - 1;
    __m256 acc[OB * TB];
    for (int a = 0; a < OB * TB; a++) acc[a] = _mm256_setzero_ps();
    for (int n = 0; n < images; n++) {
        const float *x = padded + n * stride, *g = upstream + n * upstream_image;
        for (int i = 0; i < s.oh; i++)
            for (int j = 0; j < s.ow; j += 8) {
                __m256 gv[OB];
                for (int o = 0; o < OB; o++) gv[o] = _mm256_loadu_ps(g + (channel[o] * s.oh + i) * row + j);
                for (int t = 0; t < TB; t++) {
                    const __m256 xv = _mm256_loadu_ps(x + offset[t] + i * s.pw + j);
                    for (int o = 0; o < OB; o++) acc[o * TB + t] = _mm256_fmadd_ps(gv[o], xv, acc[o * TB + t]);
                }
            }
    }
    for (int o = 0; o < OB && o0 + o < s.out_channels; o++)
        for (int t = 0; t < TB && t0 + t < taps; t++) gradient[(o0 + o) * taps + t0 + t] += sum8(acc[o * TB + t]);
}

/// Adds the weight gradient of `images` padded images to `gradient`, from their upstream
/// gradients copied into `rows` with each row rounded up to whole vectors of zeros.
__attribute__((target("avx2,fma")))
static void weight_gradient_avx2(const float *padded, int stride, const float *upstream, int images, correlation s,
                                 float *rows, float *gradient) {
    const int row = (s.ow + 7) / 8 * 8, taps = s.channels * s.kh * s.kw;
    memset(rows, 0, sizeof(float) * (size_t)(images * s.out_channels * s.oh * row));
    for (int r = 0; r < images * s.out_channels * s.oh; r++) copy_row(upstream + r * s.ow, rows + r * row, s.ow);
    for (int o0 = 0; o0 < s.out_channels; o0 += 2)
        for (int t0 = 0; t0 < taps; t0 += 5) weight_gradient_block(padded, stride, rows, row, images, s, o0, t0, gradient);
}

#else

// The kernels below exist for x86-64 only; callers check amnesia_has_avx2_fma() first.
bool amnesia_has_avx2_fma(void) { return false; }
void amnesia_gemm_nt_dot(int m, int n, int k, const float *a, const float *b, float *c, float beta) {
    __builtin_trap();
}
void amnesia_gemm_nn_few_rows(int m, int n, int k, const float *a, const float *b, float *c, float beta) {
    __builtin_trap();
}
#endif

// ---------------------------------------------------------------------------------------
// The direct convolutions' entry points, on the AVX2 blocks or the portable loops.

/// The correlation that computes `g`'s convolution from its padded input.
static correlation forward_correlation(amnesia_conv_geometry g, int out_channels) {
    return (correlation){g.channels, g.height + 2 * g.padding, g.width + 2 * g.padding, g.kernel_height,
                         g.kernel_width, g.output_height, g.output_width, out_channels};
}

/// The correlation that computes `g`'s input gradient: the upstream gradient padded by
/// kernel − 1 − padding, with the kernel flipped and its channel axes swapped.
static correlation input_gradient_correlation(amnesia_conv_geometry g, int out_channels) {
    const int qh = g.kernel_height - 1 - g.padding, qw = g.kernel_width - 1 - g.padding;
    return (correlation){out_channels, g.output_height + 2 * qh, g.output_width + 2 * qw, g.kernel_height,
                         g.kernel_width, g.height, g.width, g.channels};
}

static void correlate(const float *padded, correlation s, const float *weights, const float *bias, float *out,
                      bool avx2) {
#if defined(__x86_64__)
    if (avx2) {
        correlate_avx2(padded, s, weights, bias, out);
        return;
    }
#endif
    correlate_portable(padded, s, weights, bias, out);
}

/// Images per pass of the weight gradient: as many as keep their padded copies and
/// upstream rows within about 96 KB (the block sums stay in registers across them).
static int weight_gradient_chunk(amnesia_conv_geometry g, int out_channels) {
    const int per_image = padded_size(g.channels, g.height, g.width, g.padding, g.padding, g.kernel_width)
        + out_channels * g.output_height * ((g.output_width + 7) / 8 * 8);
    const int chunk = 24576 / per_image;
    return chunk < 1 ? 1 : chunk > 16 ? 16 : chunk;
}

int amnesia_direct_scratch(amnesia_conv_geometry g, int out_channels) {
    const int forward = padded_size(g.channels, g.height, g.width, g.padding, g.padding, g.kernel_width);
    const correlation back = input_gradient_correlation(g, out_channels);
    const int input_gradient = padded_size(out_channels, g.output_height, g.output_width, (back.ph - g.output_height) / 2,
                                           (back.pw - g.output_width) / 2, g.kernel_width)
        + out_channels * g.channels * g.kernel_height * g.kernel_width;
    const int weight_gradient = weight_gradient_chunk(g, out_channels)
        * (forward + out_channels * g.output_height * ((g.output_width + 7) / 8 * 8));
    const int larger = forward > input_gradient ? forward : input_gradient;
    return larger > weight_gradient ? larger : weight_gradient;
}

void amnesia_direct_conv_forward(const float *input, int batch, amnesia_conv_geometry g, int out_channels,
                                 const float *weights, const float *bias, float *out, float *scratch, bool avx2) {
    const correlation s = forward_correlation(g, out_channels);
    for (int n = 0; n < batch; n++) {
        pad_image(input + n * g.channels * g.height * g.width, g.channels, g.height, g.width, g.padding, g.padding,
                  g.kernel_width, scratch);
        correlate(scratch, s, weights, bias, out + n * out_channels * s.oh * s.ow, avx2);
    }
}

void amnesia_direct_conv_input_gradient(const float *upstream, int batch, amnesia_conv_geometry g, int out_channels,
                                        const float *weights, float *gradient, float *scratch, bool avx2) {
    const correlation s = input_gradient_correlation(g, out_channels);
    const int qh = (s.ph - g.output_height) / 2, qw = (s.pw - g.output_width) / 2, kh = s.kh, kw = s.kw;
    float *flipped = scratch + padded_size(out_channels, g.output_height, g.output_width, qh, qw, kw);
    for (int o = 0; o < out_channels; o++)
        for (int c = 0; c < g.channels; c++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++)
                    flipped[((c * out_channels + o) * kh + kh - 1 - ki) * kw + kw - 1 - kj] =
                        weights[((o * g.channels + c) * kh + ki) * kw + kj];
    for (int n = 0; n < batch; n++) {
        pad_image(upstream + n * out_channels * g.output_height * g.output_width, out_channels, g.output_height,
                  g.output_width, qh, qw, kw, scratch);
        correlate(scratch, s, flipped, NULL, gradient + n * g.channels * g.height * g.width, avx2);
    }
}

void amnesia_direct_conv_weight_gradient(const float *input, const float *upstream, int batch,
                                         amnesia_conv_geometry g, int out_channels, float *gradient, float *scratch,
                                         bool avx2) {
    const correlation s = forward_correlation(g, out_channels);
    const int stride = padded_size(g.channels, g.height, g.width, g.padding, g.padding, g.kernel_width);
    const int chunk = weight_gradient_chunk(g, out_channels), image = g.channels * g.height * g.width;
    const int upstream_image = out_channels * s.oh * s.ow;
    memset(gradient, 0, sizeof(float) * (size_t)(out_channels * g.channels * s.kh * s.kw));
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int images = batch - n0 < chunk ? batch - n0 : chunk;
        for (int n = 0; n < images; n++)
            pad_image(input + (n0 + n) * image, g.channels, g.height, g.width, g.padding, g.padding, g.kernel_width,
                      scratch + n * stride);
#if defined(__x86_64__)
        if (avx2) {
            weight_gradient_avx2(scratch, stride, upstream + n0 * upstream_image, images, s, scratch + chunk * stride,
                                 gradient);
            continue;
        }
#endif
        for (int n = 0; n < images; n++)
            weight_gradient_portable(scratch + n * stride, upstream + (n0 + n) * upstream_image, s, gradient);
    }
}
