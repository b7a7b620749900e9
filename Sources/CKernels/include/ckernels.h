#ifndef AMNESIA_CKERNELS_H
#define AMNESIA_CKERNELS_H

#include <stdbool.h>

/// One image's convolution geometry, as im2col and col2im see it.
typedef struct {
    int channels, height, width;
    int kernel_height, kernel_width, stride, padding;
    int output_height, output_width;
} amnesia_conv_geometry;

/// Whether this CPU runs the AVX2/FMA kernels below (checked once at run time, so one
/// binary works on every x86-64 machine and elsewhere).
bool amnesia_has_avx2_fma(void);

/// C[m×n] = A[m×k] · B[n×k]ᵀ + beta · C, row-major, C and A dense: every entry is a dot
/// product of a row of A with a row of B. Row r of B starts at b + b_rows[r], or at
/// b + r·k when b_rows is NULL. For the shapes OpenBLAS handles poorly, few rows and
/// columns with a long inner dimension (convolution weight gradients), where its packing
/// costs more than the arithmetic. Only call when amnesia_has_avx2_fma().
void amnesia_gemm_nt_dot(int m, int n, int k, const float *a, const float *b, const int *b_rows,
                         float *c, float beta);

/// C[m×n] = A[m×k] · B[k×n] + beta · C, row-major, C and A dense, for few rows (up to
/// six; more cost a pass over B per six) and a wide B: convolution forward passes with
/// few output channels (LeNet's conv1: 6×784 from k = 25). Row l of B starts at
/// b + b_rows[l], or at b + l·n when b_rows is NULL. Only call when amnesia_has_avx2_fma().
void amnesia_gemm_nn_few_rows(int m, int n, int k, const float *a, const float *b, const int *b_rows,
                              float *c, float beta);

/// Floats of scratch for amnesia_conv_forward_wide and amnesia_conv_weight_gradient_wide:
/// the padded image, kw − 1 zeros after it, and an output-shaped block with padded rows.
int amnesia_conv_wide_scratch(amnesia_conv_geometry g, int out_channels);

/// One image's stride-1 convolution, out[O, Ho, Wo] = weights[O, patch] ⋆ image (+ bias,
/// which may be NULL), with no im2col: the im2col matrix's rows are read in place from
/// the padded image, at Wp/Wo more arithmetic (see wide_rows). `offsets` holds C·kh·kw
/// ints. Only call when amnesia_has_avx2_fma().
void amnesia_conv_forward_wide(const float *image, amnesia_conv_geometry g, int out_channels, const float *weights,
                               const float *bias, float *out, float *scratch, int *offsets);

/// One image's stride-1 convolution weight gradient, gradient[O, patch] = upstream[O, Ho,
/// Wo] · im2col(image)ᵀ + beta · gradient, with no im2col (the upstream rows are padded
/// to Wp with zeros instead). Only call when amnesia_has_avx2_fma().
void amnesia_conv_weight_gradient_wide(const float *image, const float *upstream, amnesia_conv_geometry g,
                                       int out_channels, float *gradient, float beta, float *scratch, int *offsets);

/// Values past the end that im2col may read from its scratch and write to its columns:
/// both buffers are allocated this much longer.
#define AMNESIA_ROW_SLACK 7

/// Unfolds every receptive field of one image (C×H×W) into a column of `cols`
/// [C·kh·kw, Ho·Wo], so its convolution is one GEMM. The image is first copied into
/// `scratch` with its zero padding, so no index needs a bounds test; with stride 1 each
/// row is copied eight values at a time, rounded up (LeNet's rows, 28 and 10 values,
/// are too short for a compiler's vectorized loop). `scratch` holds the padded image
/// plus AMNESIA_ROW_SLACK values, `cols` the matrix plus AMNESIA_ROW_SLACK values.
/// Compiled for AVX2 and for the baseline, chosen at load time.
void amnesia_im2col(const float *image, amnesia_conv_geometry g, float *cols, float *scratch);

/// The adjoint of amnesia_im2col: adds every entry of `cols` back onto the position of
/// `image` it was read from. `scratch` holds the padded image.
void amnesia_col2im(const float *cols, amnesia_conv_geometry g, float *image, float *scratch);

#endif
