#pragma once
// Registration of every CUDA kernel family under Backend::Cuda; register.cu runs it while the
// library loads. A build without CUDA has no CUDA kernels (nor a CUDA device backend): creating a
// CUDA tensor raises DeviceNotAvailableError.

namespace lamina::kernels::cuda {

/// Registers all CUDA kernels (once, while the library loads).
void register_all();

void register_copy_kernels();        // copy.cu: strided copy with dtype conversion, fill
void register_unary_kernels();       // unary.cu
void register_binary_kernels();      // binary.cu: arithmetic, comparisons, bitwise, logical
void register_ternary_kernels();     // ternary.cu: where, clamp
void register_reduce_kernels();      // reduce.cu: sum/mean/max/min/arg*/all/any/norm/var/logsumexp, cumulative
void register_softmax_kernels();     // softmax.cu: softmax / log_softmax forward and backward
void register_layer_norm_kernels();  // layer_norm.cu: layer norm and RMS norm forward and backward
void register_loss_kernels();        // loss.cu: fused cross-entropy forward and backward
void register_index_kernels();       // index.cu: gather, scatter, index_select, masked ops, embedding
void register_sort_kernels();        // sort.cu: sort, topk
void register_random_kernels();      // random.cu: uniform, normal, randint (Philox, as on the CPU)
void register_optim_kernels();       // optim.cu: fused SGD / Adam(W) / RMSprop / Adagrad steps
void register_window_kernels();      // window.cu: im2col, col2im, max pooling
void register_gemm_kernels();        // lamina/kernels/cuda/gemm.cpp: GEMM through cuBLASLt
void register_matmul_int_kernels();  // matmul_int.cu: integer matmul (cuBLASLt has none)
void register_conv_kernels();        // lamina/kernels/cuda/conv.cpp: convolution through cuDNN
void register_attention_kernels();   // attention.cu: fused scaled-dot-product attention

}  // namespace lamina::kernels::cuda
