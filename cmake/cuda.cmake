# The CUDA backend. LAMINA_CUDA=AUTO builds it when the CUDA toolkit is found, ON requires it,
# OFF leaves it out. Either way each lamina/cuda/ header has one implementation: *_cuda.cpp (CUDA
# runtime, CUDA libraries) plus the device code of lamina/kernels/cuda/, or *_stub.cpp (no devices,
# DeviceNotAvailableError, no CUDA kernels) — no #ifdefs elsewhere.
set(LAMINA_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO (when the toolkit is found), ON or OFF")
set_property(CACHE LAMINA_CUDA PROPERTY STRINGS AUTO ON OFF)
set(LAMINA_CUDA_ENABLED OFF)
if(NOT LAMINA_CUDA STREQUAL "OFF")
  if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    set(LAMINA_CUDA_ENABLED ON)
  elseif(LAMINA_CUDA STREQUAL "ON")
    message(FATAL_ERROR "LAMINA_CUDA=ON but the CUDA toolkit was not found (set CUDAToolkit_ROOT)")
  endif()
endif()
# Device code (lamina/kernels/cuda/*.cu) targets sm_80 (A100) and sm_90 (H100/H200), with PTX for
# newer GPUs to JIT from.
set(LAMINA_CUDA_ARCHITECTURES "80-real;90")
if(LAMINA_CUDA_ENABLED)
  message(STATUS "lamina: CUDA backend ON (CUDA ${CUDAToolkit_VERSION})")
  if(NOT DEFINED CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_COMPILER ${CUDAToolkit_NVCC_EXECUTABLE})
  endif()
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES ${LAMINA_CUDA_ARCHITECTURES})
  endif()
  enable_language(CUDA)
  # CMake 3.25 does not know nvcc 13's C++20 flag; the host code's standard applies to device code too.
  if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  if(CCACHE_PROGRAM)
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${LAMINA_COMPILER_LAUNCHER})
  endif()
  # Host code of lamina/cuda/ (*_cuda.cpp: CUDA runtime, cuBLASLt, cuDNN calls) and the device code.
  file(GLOB LAMINA_CUDA_HOST_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/lamina/cuda/*_cuda.cpp)
  # lamina/kernels/cuda/: device code (*.cu) and the host code of the kernels that call CUDA
  # libraries (*.cpp: cuBLASLt GEMM, cuDNN convolution).
  file(GLOB LAMINA_CUDA_DEVICE_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/lamina/kernels/cuda/*.cu
       ${PROJECT_SOURCE_DIR}/lamina/kernels/cuda/*.cpp)
  target_sources(lamina PRIVATE ${LAMINA_CUDA_HOST_SOURCES} ${LAMINA_CUDA_DEVICE_SOURCES})
  # std::numeric_limits and other constexpr host functions are used in device code.
  target_compile_options(lamina PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>)
  set_target_properties(lamina PROPERTIES CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}" CUDA_RUNTIME_LIBRARY Static)
  target_include_directories(lamina PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
  # The static runtime: the library needs no libcudart at run time, only the driver where a GPU is.
  # cuBLASLt and cuDNN are opened with dlopen at first use (lamina/cuda/library_cuda.cpp), not linked.
  target_link_libraries(lamina PRIVATE CUDA::cudart_static ${CMAKE_DL_LIBS})
else()
  message(STATUS "lamina: CUDA backend OFF (stubs)")
  file(GLOB LAMINA_CUDA_STUB_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/lamina/cuda/*_stub.cpp)
  target_sources(lamina PRIVATE ${LAMINA_CUDA_STUB_SOURCES})
endif()

# The kernel lab (dev/cuda/*.cu: naive and tuned kernels, CPU reference, GB/s) runs only on a GPU
# (dev/cuda/run.sh); here CTest keeps every program compiling.
if(LAMINA_CUDA_ENABLED AND LAMINA_BUILD_TESTS AND NOT LAMINA_BUILD_PYTHON AND CUDAToolkit_NVCC_EXECUTABLE)
  file(GLOB LAMINA_LAB_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/dev/cuda/*.cu)
  foreach(src ${LAMINA_LAB_SOURCES})
    get_filename_component(name ${src} NAME_WE)
    add_test(NAME cuda_lab_${name}_compiles
             COMMAND ${CUDAToolkit_NVCC_EXECUTABLE} -O3 -std=c++17 -arch=sm_90 ${src} -o ${PROJECT_BINARY_DIR}/lab_${name})
  endforeach()
endif()
