#pragma once
// cuBLASLt and cuDNN loaded at first use (dlopen), so the lamina library loads and runs its CPU
// and other CUDA paths on machines that lack them. Only CUDA builds compile this header (its
// users are lamina/cuda/*_cuda.cpp).
#include <cublasLt.h>
#include <cudnn.h>

#include <cstddef>

namespace lamina::cuda {

// The entry points used, each called through a pointer of the header's own declared type.
#define LAMINA_CUBLASLT_FUNCTIONS(X)      \
  X(cublasLtCreate)                       \
  X(cublasLtMatmulDescCreate)             \
  X(cublasLtMatmulDescDestroy)            \
  X(cublasLtMatmulDescSetAttribute)       \
  X(cublasLtMatrixLayoutCreate)           \
  X(cublasLtMatrixLayoutDestroy)          \
  X(cublasLtMatrixLayoutSetAttribute)     \
  X(cublasLtMatmulPreferenceCreate)       \
  X(cublasLtMatmulPreferenceDestroy)      \
  X(cublasLtMatmulPreferenceSetAttribute) \
  X(cublasLtMatmulAlgoGetHeuristic)       \
  X(cublasLtMatmul)

#define LAMINA_CUDNN_FUNCTIONS(X)                   \
  X(cudnnCreate)                                    \
  X(cudnnSetStream)                                 \
  X(cudnnGetErrorString)                            \
  X(cudnnCreateTensorDescriptor)                    \
  X(cudnnSetTensor4dDescriptor)                     \
  X(cudnnDestroyTensorDescriptor)                   \
  X(cudnnCreateFilterDescriptor)                    \
  X(cudnnSetFilter4dDescriptor)                     \
  X(cudnnDestroyFilterDescriptor)                   \
  X(cudnnCreateConvolutionDescriptor)               \
  X(cudnnSetConvolution2dDescriptor)                \
  X(cudnnSetConvolutionGroupCount)                  \
  X(cudnnSetConvolutionMathType)                    \
  X(cudnnDestroyConvolutionDescriptor)              \
  X(cudnnGetConvolutionForwardAlgorithm_v7)         \
  X(cudnnGetConvolutionForwardWorkspaceSize)        \
  X(cudnnConvolutionForward)                        \
  X(cudnnGetConvolutionBackwardDataAlgorithm_v7)    \
  X(cudnnGetConvolutionBackwardDataWorkspaceSize)   \
  X(cudnnConvolutionBackwardData)                   \
  X(cudnnGetConvolutionBackwardFilterAlgorithm_v7)  \
  X(cudnnGetConvolutionBackwardFilterWorkspaceSize) \
  X(cudnnConvolutionBackwardFilter)

#define LAMINA_LIBRARY_POINTER(name) decltype(&::name) name = nullptr;

/// cuBLASLt's functions, resolved from libcublasLt.so.13 / .12 / .so.
struct CublasLt {
  LAMINA_CUBLASLT_FUNCTIONS(LAMINA_LIBRARY_POINTER)
};

/// cuDNN's functions, resolved from libcudnn.so.9 / .so.
struct Cudnn {
  LAMINA_CUDNN_FUNCTIONS(LAMINA_LIBRARY_POINTER)
};

#undef LAMINA_LIBRARY_POINTER

/// cuBLASLt, loaded at the first call; NotImplementedError naming `op` and the library when it
/// cannot be loaded (the failure is remembered, later calls throw the same).
const CublasLt& cublaslt(const char* op);
/// cuDNN, loaded at the first call; NotImplementedError naming `op` and the library when it
/// cannot be loaded.
const Cudnn& cudnn(const char* op);
/// True when cuDNN can be loaded (conv picks its cuDNN path or its im2col path with this).
bool cudnn_available();

/// Scratch memory on device `device` from its caching allocator for work queued on `stream`;
/// returned at the end of the scope (stream-ordered, so queued work may still use it).
class Workspace {
 public:
  /// `bytes` of scratch (none for 0).
  Workspace(int device, size_t bytes, void* stream);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  /// The scratch memory (nullptr for 0 bytes).
  void* get() const { return ptr_; }
  /// Its size in bytes.
  size_t size() const { return bytes_; }

 private:
  int device_;
  size_t bytes_;
  void* ptr_ = nullptr;
};

}  // namespace lamina::cuda
