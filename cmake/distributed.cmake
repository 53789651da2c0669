# Distributed training: Gloo (Debian's libgloo-dev) for CPU tensors, always; MPI (OpenMPI's
# libopenmpi-dev) when found; NCCL in CUDA builds (cmake/cuda.cmake). The backends' sources
# are left out of LAMINA_SOURCES and added here with what they link.
find_package(Gloo CONFIG REQUIRED)
target_sources(lamina PRIVATE ${PROJECT_SOURCE_DIR}/lamina/distributed/process_group_gloo.cpp)
target_link_libraries(lamina PRIVATE gloo)

# The project enables C++ only: MPI's C API through FindMPI's CXX component, without OpenMPI's
# deprecated C++ bindings.
find_package(MPI COMPONENTS CXX QUIET)
if(MPI_CXX_FOUND)
  target_sources(lamina PRIVATE ${PROJECT_SOURCE_DIR}/lamina/distributed/process_group_mpi.cpp)
  target_include_directories(lamina PRIVATE ${MPI_CXX_INCLUDE_DIRS})
  target_link_libraries(lamina PRIVATE ${MPI_CXX_LIBRARIES})
  target_compile_definitions(lamina PRIVATE LAMINA_HAVE_MPI=1 OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
else()
  message(STATUS "MPI not found: the mpi backend of lamina.distributed is left out")
endif()
