#include "lamina/data/npz.h"

#include <zip.h>

#include <memory>
#include <vector>

#include "lamina/data/npy.h"

namespace lamina::data {
namespace {

struct Archive {
  zip_t* z = nullptr;
  ~Archive() {
    if (z) zip_discard(z);
  }
};

struct Member {
  zip_file_t* f = nullptr;
  ~Member() {
    if (f) zip_fclose(f);
  }
};

std::string zip_message(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string msg = zip_error_strerror(&err);
  zip_error_fini(&err);
  return msg;
}

}  // namespace

std::map<std::string, Tensor> load_npz(const std::string& path) {
  int code = 0;
  Archive archive;
  archive.z = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (archive.z == nullptr) {
    // Open/read failures are I/O problems; everything else means the bytes are not a valid zip.
    if (code == ZIP_ER_NOENT || code == ZIP_ER_OPEN || code == ZIP_ER_READ)
      LAMINA_THROW(IOError, "load_npz", "cannot open '", path, "': ", zip_message(code));
    LAMINA_THROW(FormatError, "load_npz", "'", path, "' is not a .npz (zip) archive: ", zip_message(code));
  }
  std::map<std::string, Tensor> out;
  const zip_int64_t count = zip_get_num_entries(archive.z, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    LAMINA_CHECK(zip_stat_index(archive.z, static_cast<zip_uint64_t>(i), 0, &st) == 0 && (st.valid & ZIP_STAT_NAME) &&
                     (st.valid & ZIP_STAT_SIZE),
                 FormatError, "load_npz", "'", path, "' has an unreadable directory entry ", i, ": ",
                 zip_strerror(archive.z));
    std::string name = st.name;
    if (!name.empty() && name.back() == '/') continue;  // a directory entry
    const std::string where = path + ":" + name;
    // Deflate expands at most 1032:1, so a larger declared size is a lie; checking it first keeps a
    // crafted archive from making us allocate terabytes.
    const bool plausible = !(st.valid & ZIP_STAT_COMP_SIZE) || st.size <= 1032 * st.comp_size + 64;
    LAMINA_CHECK(plausible && st.size <= (zip_uint64_t{1} << 40), FormatError, "load_npz", "'", where,
                 "' declares an implausible uncompressed size ", st.size);
    std::vector<unsigned char> bytes(static_cast<size_t>(st.size));
    Member member;
    member.f = zip_fopen_index(archive.z, static_cast<zip_uint64_t>(i), 0);
    LAMINA_CHECK(member.f != nullptr, FormatError, "load_npz", "cannot open member '", where, "': ",
                 zip_strerror(archive.z));
    const zip_int64_t got = zip_fread(member.f, bytes.data(), st.size);
    // A second read must hit the end: it is where libzip reports a CRC mismatch.
    unsigned char extra;
    const bool ok = got == static_cast<zip_int64_t>(st.size) && zip_fread(member.f, &extra, 1) == 0;
    LAMINA_CHECK(ok, FormatError, "load_npz", "member '", where, "' is corrupt or truncated: ",
                 zip_file_strerror(member.f));
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out[name] = npy_from_bytes(bytes.data(), static_cast<int64_t>(bytes.size()), where);
  }
  return out;
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compress) {
  std::vector<std::vector<unsigned char>> buffers;  // must outlive zip_close, which reads them
  buffers.reserve(arrays.size());
  for (const auto& [name, t] : arrays) buffers.push_back(npy_to_bytes(t));
  int code = 0;
  Archive archive;
  archive.z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  LAMINA_CHECK(archive.z != nullptr, IOError, "save_npz", "cannot create '", path, "': ", zip_message(code));
  size_t k = 0;
  for (const auto& [name, t] : arrays) {
    const auto& b = buffers[k++];
    zip_source_t* src = zip_source_buffer(archive.z, b.data(), b.size(), 0);
    LAMINA_CHECK(src != nullptr, IOError, "save_npz", "cannot add '", name, "' to '", path, "': ", zip_strerror(archive.z));
    const zip_int64_t index = zip_file_add(archive.z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      LAMINA_THROW(IOError, "save_npz", "cannot add '", name, "' to '", path, "': ", zip_strerror(archive.z));
    }
    LAMINA_CHECK(zip_set_file_compression(archive.z, static_cast<zip_uint64_t>(index),
                                          compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) == 0,
                 IOError, "save_npz", "cannot set compression for '", name, "': ", zip_strerror(archive.z));
  }
  LAMINA_CHECK(zip_close(archive.z) == 0, IOError, "save_npz", "cannot write '", path, "': ", zip_strerror(archive.z));
  archive.z = nullptr;
}

}  // namespace lamina::data
