#pragma once
// Process-wide switches of the CUDA backend's math (torch.backends.cuda's names). They exist in
// every build; a build without CUDA keeps them but nothing reads them.

namespace lamina::runtime {

/// Whether float32 matrix products on CUDA may use TF32 tensor cores (default false, as in
/// PyTorch's torch.backends.cuda.matmul.allow_tf32).
bool allow_tf32();
/// Sets whether float32 matrix products on CUDA may use TF32 tensor cores.
void set_allow_tf32(bool allow);

}  // namespace lamina::runtime
