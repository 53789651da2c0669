# Distributed training: Gloo (Debian's libgloo-dev) for CPU tensors, always; MPI (OpenMPI's
# libopenmpi-dev) when found; NCCL in CUDA builds (cmake/cuda.cmake). The backends' sources
# are left out of LAMINA_SOURCES and added here with what they link.
find_package(Gloo CONFIG REQUIRED)
target_sources(lamina PRIVATE ${PROJECT_SOURCE_DIR}/lamina/distributed/process_group_gloo.cpp)
target_link_libraries(lamina PRIVATE gloo)

find_package(MPI COMPONENTS C QUIET)
if(MPI_C_FOUND)
  target_sources(lamina PRIVATE ${PROJECT_SOURCE_DIR}/lamina/distributed/process_group_mpi.cpp)
  target_link_libraries(lamina PRIVATE MPI::MPI_C)
  target_compile_definitions(lamina PRIVATE LAMINA_HAVE_MPI=1)
else()
  message(STATUS "MPI not found: the mpi backend of lamina.distributed is left out")
endif()
