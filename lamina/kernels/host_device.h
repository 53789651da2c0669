#pragma once
// LAMINA_HD marks functions that run on the CPU and, compiled by nvcc, on a CUDA device; empty
// for the host compiler, so headers that use it need no CUDA headers.
#ifdef __CUDACC__
#define LAMINA_HD __host__ __device__
#define LAMINA_UNROLL _Pragma("unroll")
#else
#define LAMINA_HD
#define LAMINA_UNROLL
#endif
