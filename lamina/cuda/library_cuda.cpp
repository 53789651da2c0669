#include "lamina/cuda/library_cuda.h"

#include <dlfcn.h>

#include <string>

#include "lamina/core/error.h"
#include "lamina/cuda/memory.h"

namespace lamina::cuda {
namespace {

// The outcome of loading one library: its functions, or why it failed.
template <class Api>
struct Loaded {
  Api api;
  bool ok = false;
  std::string error;
};

void* open_first(const char* const* names, std::string& tried) {
  for (const char* const* n = names; *n != nullptr; ++n) {
    if (void* h = dlopen(*n, RTLD_NOW | RTLD_LOCAL)) return h;
    const char* why = dlerror();
    tried += std::string(tried.empty() ? "" : "; ") + (why != nullptr ? why : *n);
  }
  return nullptr;
}

template <class Api, class Resolve>
Loaded<Api> load(const char* const* names, const char* library, Resolve resolve) {
  Loaded<Api> out;
  std::string tried;
  void* h = open_first(names, tried);
  if (h == nullptr) {
    out.error = std::string(library) + " could not be loaded (" + tried + ")";
    return out;
  }
  // The handle is kept open for the life of the process: the function pointers point into it.
  std::string missing = resolve(h, out.api);
  if (!missing.empty()) {
    out.error = std::string(library) + " lacks " + missing + " (an incompatible version)";
    return out;
  }
  out.ok = true;
  return out;
}

#define LAMINA_RESOLVE(name)                                       \
  api.name = reinterpret_cast<decltype(&::name)>(dlsym(h, #name)); \
  if (api.name == nullptr) return std::string(#name);

const Loaded<CublasLt>& cublaslt_library() {
  static const Loaded<CublasLt> lib = [] {
    static const char* const names[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so", nullptr};
    return load<CublasLt>(names, "cuBLASLt (libcublasLt.so)", [](void* h, CublasLt& api) {
      LAMINA_CUBLASLT_FUNCTIONS(LAMINA_RESOLVE)
      return std::string();
    });
  }();
  return lib;
}

const Loaded<Cudnn>& cudnn_library() {
  static const Loaded<Cudnn> lib = [] {
    static const char* const names[] = {"libcudnn.so.9", "libcudnn.so", nullptr};
    return load<Cudnn>(names, "cuDNN 9 (libcudnn.so.9)", [](void* h, Cudnn& api) {
      LAMINA_CUDNN_FUNCTIONS(LAMINA_RESOLVE)
      return std::string();
    });
  }();
  return lib;
}

#undef LAMINA_RESOLVE

}  // namespace

const CublasLt& cublaslt(const char* op) {
  const auto& lib = cublaslt_library();
  LAMINA_CHECK(lib.ok, NotImplementedError, op, "needs ", lib.error,
               " for CUDA matrix products; install the CUDA toolkit's cuBLAS or put it on LD_LIBRARY_PATH");
  return lib.api;
}

const Cudnn& cudnn(const char* op) {
  const auto& lib = cudnn_library();
  LAMINA_CHECK(lib.ok, NotImplementedError, op, "needs ", lib.error,
               " for CUDA convolutions; install cuDNN 9 or put it on LD_LIBRARY_PATH");
  return lib.api;
}

bool cudnn_available() { return cudnn_library().ok; }

Workspace::Workspace(int device, size_t bytes, void* stream) : device_(device), bytes_(bytes) {
  if (bytes > 0) ptr_ = allocator(device).allocate(bytes, reinterpret_cast<runtime::StreamId>(stream));
}

Workspace::~Workspace() {
  if (ptr_ != nullptr) allocator(device_).free(ptr_);
}

}  // namespace lamina::cuda
