# The CUDA backend. LAMINA_CUDA=AUTO builds it when the CUDA toolkit is found, ON requires it,
# OFF leaves it out. Either way lamina/cuda/device.h has one implementation: device_cuda.cpp
# (CUDA runtime) or device_stub.cpp (no devices, DeviceNotAvailableError) — no #ifdefs elsewhere.
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
# Device code (.cu, lamina/kernels/cuda/) will target sm_80 and sm_90.
set(LAMINA_CUDA_ARCHITECTURES "80;90")
if(LAMINA_CUDA_ENABLED)
  message(STATUS "lamina: CUDA backend ON (CUDA ${CUDAToolkit_VERSION})")
  target_sources(lamina PRIVATE ${PROJECT_SOURCE_DIR}/lamina/cuda/device_cuda.cpp
                                ${PROJECT_SOURCE_DIR}/lamina/cuda/memory_cuda.cpp
                                ${PROJECT_SOURCE_DIR}/lamina/cuda/copy_cuda.cpp)
  # The static runtime: the library needs no libcudart at run time, only the driver where a GPU is.
  target_link_libraries(lamina PRIVATE CUDA::cudart_static)
else()
  message(STATUS "lamina: CUDA backend OFF (stubs)")
  target_sources(lamina PRIVATE ${PROJECT_SOURCE_DIR}/lamina/cuda/device_stub.cpp
                                ${PROJECT_SOURCE_DIR}/lamina/cuda/memory_stub.cpp
                                ${PROJECT_SOURCE_DIR}/lamina/cuda/copy_stub.cpp)
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
