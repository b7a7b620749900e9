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

/// C[m×n] = A[m×k] · B[n×k]ᵀ + beta · C, row-major and dense: every entry is a dot
/// product of a row of A with a row of B. For the shapes OpenBLAS handles poorly, few
/// rows and columns with a long inner dimension (convolution weight gradients), where
/// its packing costs more than the arithmetic. Only call when amnesia_has_avx2_fma().
void amnesia_gemm_nt_dot(int m, int n, int k, const float *a, const float *b, float *c, float beta);

/// C[m×n] = A[m×k] · B[k×n] + beta · C, row-major and dense, for few rows (up to six;
/// more cost a pass over B per six) and a wide B: convolution forward passes with few
/// output channels. Only call when amnesia_has_avx2_fma().
void amnesia_gemm_nn_few_rows(int m, int n, int k, const float *a, const float *b, float *c, float beta);

/// Direct stride-1 convolutions of a batch of NCHW images with OIHW weights, for few
/// channels (LeNet's 1→6 and 6→16): no im2col and no col2im. Each output row is
/// accumulated in registers over every (channel, kernel row, kernel column) from a
/// zero-padded copy of the image, blocked over output channels (see correlate_block).
/// `avx2` chooses the AVX2/FMA blocks (pass it only when amnesia_has_avx2_fma()) over
/// portable C loops. Padding must be below the kernel size (the input gradient pads the
/// upstream gradient by kernel − 1 − padding). `scratch` holds amnesia_direct_scratch floats.
int amnesia_direct_scratch(amnesia_conv_geometry g, int out_channels);

/// out[N, O, Ho, Wo] = input ⋆ weights (+ bias per channel, which may be NULL).
void amnesia_direct_conv_forward(const float *input, int batch, amnesia_conv_geometry g, int out_channels,
                                 const float *weights, const float *bias, float *out, float *scratch, bool avx2);

/// gradient[N, C, H, W] = the transposed convolution of upstream [N, O, Ho, Wo] with the
/// weights: the correlation of the padded upstream gradient with the flipped kernel.
void amnesia_direct_conv_input_gradient(const float *upstream, int batch, amnesia_conv_geometry g, int out_channels,
                                        const float *weights, float *gradient, float *scratch, bool avx2);

/// gradient[O, C, kh, kw] = Σ over the batch and output positions of upstream · input.
void amnesia_direct_conv_weight_gradient(const float *input, const float *upstream, int batch,
                                         amnesia_conv_geometry g, int out_channels, float *gradient, float *scratch,
                                         bool avx2);

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
