# safetensors (nlohmann-json) and the safetensors parser's libFuzzer target.
