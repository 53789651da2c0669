# TensorBoard event files: protobuf messages compiled by protoc.
