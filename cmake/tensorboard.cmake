# TensorBoard event files: protobuf messages compiled by protoc.
# lamina/train/proto/*.proto (trimmed TensorBoard messages with the official field numbers) are
# compiled into the build dir and built into the lamina target; libprotobuf stays a private
# dependency (no lamina header includes a generated one).
find_package(Protobuf REQUIRED)
set(LAMINA_TB_PROTOS tb_event tb_hparams)
set(LAMINA_TB_GEN_DIR ${PROJECT_BINARY_DIR}/lamina_proto)
file(MAKE_DIRECTORY ${LAMINA_TB_GEN_DIR}/lamina/train/proto)
set(LAMINA_TB_GEN_SOURCES)
foreach(name ${LAMINA_TB_PROTOS})
  set(src ${PROJECT_SOURCE_DIR}/lamina/train/proto/${name}.proto)
  set(out ${LAMINA_TB_GEN_DIR}/lamina/train/proto/${name}.pb)
  add_custom_command(
    OUTPUT ${out}.cc ${out}.h
    COMMAND protobuf::protoc --proto_path=${PROJECT_SOURCE_DIR} --proto_path=${Protobuf_INCLUDE_DIRS}
            --cpp_out=${LAMINA_TB_GEN_DIR} ${src}
    DEPENDS ${src} protobuf::protoc
    COMMENT "protoc ${name}.proto"
    VERBATIM)
  list(APPEND LAMINA_TB_GEN_SOURCES ${out}.cc)
endforeach()
# Generated code is not ours to keep -Wall -Wextra clean.
set_source_files_properties(${LAMINA_TB_GEN_SOURCES} PROPERTIES COMPILE_OPTIONS -w)
target_sources(lamina PRIVATE ${LAMINA_TB_GEN_SOURCES})
target_include_directories(lamina PRIVATE ${LAMINA_TB_GEN_DIR})
target_link_libraries(lamina PRIVATE protobuf::libprotobuf)
