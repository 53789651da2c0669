#pragma once
// Registration of every CPU kernel family; register.cpp runs it while the library loads.

namespace lamina::kernels::cpu {

/// Registers all CPU kernels (once, while the library loads).
void register_all();

void register_copy_kernels();        // copy.cpp: strided copy with dtype conversion, fill
void register_elementwise_kernels();  // elementwise.cpp: the rows of kernels/elementwise_table.h
void register_ternary_kernels();     // ternary.cpp: where, clamp, lerp
void register_reduce_kernels();      // reduce.cpp
void register_softmax_kernels();     // softmax.cpp
void register_index_kernels();       // index.cpp: gather, scatter, index_select, masked ops
void register_sort_kernels();        // sort.cpp
void register_random_kernels();      // random.cpp
void register_linalg_kernels();      // linalg.cpp: GEMM through BLAS
void register_optim_kernels();       // optim.cpp: fused optimizer steps
void register_layer_norm_kernels();  // layer_norm.cpp: fused layer norm
void register_batch_norm_kernels();  // batch_norm.cpp: fused batch norm
void register_attention_kernels();   // attention.cpp: fused scaled_dot_product_attention
void register_window_kernels();      // window.cpp: im2col, col2im, max pooling
void register_simd_kernels();        // simd_*.cpp: Highway, run-time ISA dispatch
void register_onednn_conv_kernels();  // conv_onednn.cpp: convolution through oneDNN (builds that have it)
void register_onednn_matmul_kernels();  // matmul_onednn.cpp: bfloat16 products through oneDNN (same builds)

}  // namespace lamina::kernels::cpu
