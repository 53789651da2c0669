// SummaryWriter framing and CRC32C, CSVLogger, structured log levels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/runtime/log.h"
#include "lamina/train/crc32c.h"
#include "lamina/train/csv_logger.h"
#include "lamina/train/summary_writer.h"

namespace fs = std::filesystem;
using namespace lamina;
using namespace lamina::train;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("lamina_tb_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t le64(const std::string& s, size_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}
uint32_t le32(const std::string& s, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

// Splits a TFRecord file into its payloads, checking both CRCs of every record.
std::vector<std::string> read_records(const std::string& bytes) {
  std::vector<std::string> out;
  size_t off = 0;
  while (off < bytes.size()) {
    EXPECT_GE(bytes.size() - off, 16u);
    uint64_t len = le64(bytes, off);
    EXPECT_EQ(crc32c_unmask(le32(bytes, off + 8)), crc32c(bytes.data() + off, 8));
    std::string data = bytes.substr(off + 12, len);
    EXPECT_EQ(le32(bytes, off + 12 + len), crc32c_mask(crc32c(data)));
    out.push_back(data);
    off += 16 + len;
  }
  EXPECT_EQ(off, bytes.size());
  return out;
}

std::vector<fs::path> event_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) out.push_back(e.path());
  return out;
}

std::vector<std::string> g_lines;
void capture(const std::string& line) { g_lines.push_back(line); }

}  // namespace

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("a"), 0xC1D04330u);
  std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  std::string inc(32, 0);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
  // Extending piecewise equals one pass (every split, covering the 8-byte path and the tail).
  std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t k = 0; k <= text.size(); ++k)
    EXPECT_EQ(crc32c_extend(crc32c(text.data(), k), text.data() + k, text.size() - k), crc32c(text));
  EXPECT_EQ(crc32c_unmask(crc32c_mask(0x12345678u)), 0x12345678u);
}

TEST(SummaryWriter, FramingAndFileName) {
  fs::path dir = temp_dir("framing");
  std::string path;
  {
    SummaryWriterOptions opt;
    opt.filename_suffix = ".v1";
    SummaryWriter w(dir.string(), opt);
    path = w.file_path();
    for (int i = 0; i < 25; ++i) w.add_scalar("loss", 1.0 / (i + 1), i);
    w.add_histogram("h", std::vector<double>{1, 2, 2, 3}, 0, 3);
    w.add_text("note", "hello *world*", 1);
  }
  std::string name = fs::path(path).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u);
  EXPECT_EQ(name.substr(name.size() - 3), ".v1");
  auto recs = read_records(read_all(path));
  ASSERT_EQ(recs.size(), 1u + 25 + 1 + 1);
  EXPECT_NE(recs[0].find("brain.Event:2"), std::string::npos);
  EXPECT_NE(recs[27].find("hello *world*"), std::string::npos);
  EXPECT_NE(recs[27].find("note/text_summary"), std::string::npos);
  fs::remove_all(dir);
}

TEST(SummaryWriter, FlushAndCloseAndSubRuns) {
  fs::path dir = temp_dir("flush");
  SummaryWriterOptions opt;
  opt.max_queue = 1000;
  SummaryWriter w(dir.string(), opt);
  w.add_scalar("a", 1.0, 0);
  w.flush();
  EXPECT_EQ(read_records(read_all(w.file_path())).size(), 2u);
  w.add_scalars("run/loss", {{"train", 1.0}, {"val", 2.0}}, 3);
  w.add_hparams({{"lr", 0.1}, {"opt", std::string("sgd")}, {"nesterov", true}}, {{"acc", 0.5}}, "hp");
  w.close();
  EXPECT_EQ(event_files(dir / "run_loss_train").size(), 1u);
  EXPECT_EQ(event_files(dir / "run_loss_val").size(), 1u);
  auto hp = event_files(dir / "hp");
  ASSERT_EQ(hp.size(), 1u);
  auto recs = read_records(read_all(hp[0]));
  ASSERT_EQ(recs.size(), 5u);  // file_version, experiment, start, end, one metric
  EXPECT_NE(recs[1].find("_hparams_/experiment"), std::string::npos);
  EXPECT_THROW(w.add_scalar("a", 1.0, 1), IOError);
  fs::remove_all(dir);
}

TEST(SummaryWriter, HistogramMatchesNumpyLayout) {
  // numpy.histogram([0,1,1,2,9], bins=3) -> counts [3,1,1]... edges [0,3,6,9]; torch prepends an empty bucket.
  std::vector<double> v{0, 1, 1, 2, 9};
  auto e = uniform_histogram_edges(v, 3);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_DOUBLE_EQ(e[1], 3.0);
  Histogram h = make_histogram(v, e);
  EXPECT_EQ(h.bucket, (std::vector<double>{0, 4, 0, 1}));
  EXPECT_EQ(h.bucket_limit, (std::vector<double>{0, 3, 6, 9}));
  EXPECT_EQ(h.min, 0);
  EXPECT_EQ(h.max, 9);
  EXPECT_EQ(h.num, 5);
  EXPECT_EQ(h.sum, 13);
  EXPECT_EQ(h.sum_squares, 87);
  // Non-empty range starting after the first bucket keeps one bucket on its left.
  Histogram g = make_histogram({5, 5.5}, {0, 1, 2, 4, 6, 8});
  EXPECT_EQ(g.bucket, (std::vector<double>{0, 2}));
  EXPECT_EQ(g.bucket_limit, (std::vector<double>{4, 6}));
  const auto& d = default_histogram_edges();
  EXPECT_EQ(d.size() % 2, 1u);
  EXPECT_EQ(d[d.size() / 2], 0.0);
  EXPECT_THROW(make_histogram({}, e), ValueError);
  EXPECT_THROW(uniform_histogram_edges(v, 0), ValueError);
}

TEST(CSVLogger, HeaderRowsAndUnknownKey) {
  fs::path dir = temp_dir("csv");
  fs::path p = dir / "m.csv";
  {
    CSVLogger log(p.string());
    log.log(0, {{"loss", 0.5}, {"acc", 0.25}});
    log.log(1, {{"loss", 0.125}});
    EXPECT_EQ(read_all(p), "step,acc,loss\n0,0.25,0.5\n1,,0.125\n");  // flushed each row
    try {
      log.log(2, {{"lr", 0.1}});
      FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("'lr'"), std::string::npos);
    }
  }
  {
    CSVLogger log(p.string(), /*append=*/true);
    EXPECT_EQ(log.fieldnames(), (std::vector<std::string>{"acc", "loss"}));
    log.log(3, {{"acc", 1.0}, {"loss", 0.1}});
  }
  EXPECT_EQ(read_all(p), "step,acc,loss\n0,0.25,0.5\n1,,0.125\n3,1,0.1\n");
  {
    CSVLogger log((dir / "f.csv").string(), false, std::vector<std::string>{"b,c", "a"});
    log.log(7, {{"a", 2}});
  }
  EXPECT_EQ(read_all(dir / "f.csv"), "step,\"b,c\",a\n7,,2\n");
  EXPECT_THROW(CSVLogger((dir / "no" / "such" / "x.csv").string()), IOError);
  fs::remove_all(dir);
}

TEST(Log, ParseLevels) {
  using logging::Level;
  EXPECT_EQ(logging::parse_level("debug"), Level::Debug);
  EXPECT_EQ(logging::parse_level("INFO"), Level::Info);
  EXPECT_EQ(logging::parse_level("warning"), Level::Warning);
  EXPECT_EQ(logging::parse_level("warn"), Level::Warning);
  EXPECT_EQ(logging::parse_level("error"), Level::Error);
  EXPECT_EQ(logging::parse_level("off"), Level::Off);
  try {
    logging::parse_level("loud");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("debug|info|warning|error|off"), std::string::npos);
  }
}

TEST(Log, FormatAndFilter) {
  using logging::Level;
  std::string line = logging::format_line(Level::Info, "trainer", "epoch done",
                                          {{"epoch", 3}, {"loss", 0.25}, {"name", "a b"}, {"ok", true}},
                                          1796249400123);  // 2026-12-02T22:10:00.123Z
  EXPECT_EQ(line, "2026-12-02T22:10:00.123Z INFO [trainer] epoch done epoch=3 loss=0.25 name=\"a b\" ok=true");

  const char* old = std::getenv("LAMINA_LOG_LEVEL");
  std::string saved = old ? old : "";
  logging::set_sink(capture);
  g_lines.clear();
  ::setenv("LAMINA_LOG_LEVEL", "bogus", 1);
  logging::reset_level_from_env();
  EXPECT_THROW(logging::info("t", "x"), ConfigError);
  ::setenv("LAMINA_LOG_LEVEL", "warning", 1);
  logging::reset_level_from_env();
  logging::info("t", "hidden");
  logging::warn("t", "shown", {{"k", 1}});
  logging::error("t", "also");
  ASSERT_EQ(g_lines.size(), 2u);
  EXPECT_NE(g_lines[0].find(" WARNING [t] shown k=1\n"), std::string::npos);
  logging::set_level(Level::Off);
  logging::error("t", "silent");
  EXPECT_EQ(g_lines.size(), 2u);
  logging::set_level(Level::Debug);
  logging::debug("t", "dbg");
  EXPECT_EQ(g_lines.size(), 3u);
  ::unsetenv("LAMINA_LOG_LEVEL");
  logging::reset_level_from_env();
  EXPECT_EQ(logging::level(), Level::Info);
  if (old) ::setenv("LAMINA_LOG_LEVEL", saved.c_str(), 1);
  logging::reset_level_from_env();
  logging::set_sink(nullptr);
}
