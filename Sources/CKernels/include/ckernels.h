#ifndef AMNESIA_CKERNELS_H
#define AMNESIA_CKERNELS_H

#include <stdbool.h>

/// Whether this CPU runs the AVX2/FMA kernels below (checked once at run time, so one
/// binary works on every x86-64 machine and elsewhere).
bool amnesia_has_avx2_fma(void);

/// C[m×n] = A[m×k] · B[n×k]ᵀ + beta · C, all row-major and dense: every entry is a dot
/// product of a row of A with a row of B. For the shapes OpenBLAS handles poorly, few
/// rows and columns with a long inner dimension (convolution weight gradients), where
/// its packing costs more than the arithmetic. Only call when amnesia_has_avx2_fma().
void amnesia_gemm_nt_dot(int m, int n, int k, const float *a, const float *b, float *c, float beta);

/// C[m×n] = A[m×k] · B[k×n] + beta · C, row-major and dense, for few rows (m of a few
/// times six) and a wide B: convolution forward passes with few output channels (LeNet's
/// conv1: 6×784 from k = 25). Only call when amnesia_has_avx2_fma().
void amnesia_gemm_nn_few_rows(int m, int n, int k, const float *a, const float *b, float *c, float beta);

#endif
