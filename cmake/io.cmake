# safetensors (nlohmann-json) and the safetensors parser's libFuzzer target.
# The fuzz target builds standalone with clang (fuzz/CMakeLists.txt, `make test-fuzz`).
find_package(nlohmann_json 3.2 REQUIRED)
target_link_libraries(lamina PRIVATE nlohmann_json::nlohmann_json)
