// Data readers: IDX files, raw and gzipped, every element type, and every malformed file.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "lamina/data/idx.h"
#include "lamina/lamina.h"

using namespace lamina;

namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "lamina_" + name; }

void write_raw(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::vector<unsigned char> header(unsigned char type, std::vector<uint32_t> dims) {
  std::vector<unsigned char> b{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  return b;
}

}  // namespace

TEST(DataIdx, ReadsRawAndGzippedFilesOfEveryType) {
  std::vector<unsigned char> u8 = header(0x08, {2, 3});
  for (int i = 0; i < 6; ++i) u8.push_back(static_cast<unsigned char>(250 + i % 6));
  write_raw(temp_path("u8.idx"), u8);
  write_gz(temp_path("u8.idx.gz"), u8);
  for (const char* name : {"u8.idx", "u8.idx.gz"}) {
    const Tensor t = data::read_idx(temp_path(name));
    EXPECT_EQ(t.dtype(), Dtype::UInt8);
    EXPECT_EQ(t.shape(), Shape({2, 3}));
    EXPECT_EQ(t.select(1, 2).select(0, 1).item<int64_t>(), 255);
  }
  std::vector<unsigned char> i16 = header(0x0B, {2});
  for (unsigned char b : {0xFF, 0xFE, 0x01, 0x02}) i16.push_back(b);  // -2, 258
  write_raw(temp_path("i16.idx"), i16);
  const Tensor s = data::read_idx(temp_path("i16.idx"));
  EXPECT_EQ(s.dtype(), Dtype::Int32);
  EXPECT_EQ(s.select(0, 0).item<int64_t>(), -2);
  EXPECT_EQ(s.select(0, 1).item<int64_t>(), 258);
  std::vector<unsigned char> f32 = header(0x0D, {1});
  for (unsigned char b : {0x3F, 0xC0, 0x00, 0x00}) f32.push_back(b);  // 1.5f big-endian
  write_gz(temp_path("f32.idx.gz"), f32);
  EXPECT_EQ(data::read_idx(temp_path("f32.idx.gz")).select(0, 0).item<float>(), 1.5f);
  std::vector<unsigned char> f64 = header(0x0E, {});
  for (unsigned char b : {0xC0, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}) f64.push_back(b);  // -pi
  write_raw(temp_path("f64.idx"), f64);
  EXPECT_DOUBLE_EQ(data::read_idx(temp_path("f64.idx")).item<double>(), -3.141592653589793);
}

TEST(DataIdx, MalformedFilesAreTypedErrorsNamingThePath) {
  EXPECT_THROW(data::read_idx(temp_path("does_not_exist.idx")), IOError);
  write_raw(temp_path("short.idx"), {0, 0});
  EXPECT_THROW(data::read_idx(temp_path("short.idx")), FormatError);
  write_raw(temp_path("magic.idx"), {1, 0, 8, 1, 0, 0, 0, 1, 7});
  EXPECT_THROW(data::read_idx(temp_path("magic.idx")), FormatError);
  write_raw(temp_path("type.idx"), {0, 0, 0x42, 1, 0, 0, 0, 1, 7});
  EXPECT_THROW(data::read_idx(temp_path("type.idx")), FormatError);
  std::vector<unsigned char> truncated = header(0x08, {4, 4});
  truncated.push_back(1);
  write_gz(temp_path("trunc.idx.gz"), truncated);
  try {
    data::read_idx(temp_path("trunc.idx.gz"));
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("trunc.idx.gz"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
  }
  write_raw(temp_path("dims.idx"), {0, 0, 8, 2, 0, 0});
  EXPECT_THROW(data::read_idx(temp_path("dims.idx")), FormatError);
}
