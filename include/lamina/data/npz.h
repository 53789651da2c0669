#pragma once
// NumPy .npz archives (a zip of .npy members), through libzip.
#include <map>
#include <string>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// Reads every member of a .npz archive (stored or deflated) into name -> tensor; the name drops
/// the ".npy" suffix as numpy.load does. IOError for a missing file; FormatError naming the path
/// (and member) for a file that is not a zip, a corrupt member or a malformed .npy inside.
std::map<std::string, Tensor> load_npz(const std::string& path);

/// Writes `arrays` as a .npz archive, deflated when `compress` (like numpy.savez_compressed).
void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compress = false);

}  // namespace lamina::data
