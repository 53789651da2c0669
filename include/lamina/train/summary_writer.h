#pragma once
// SummaryWriter: TensorBoard event files (events.out.tfevents.<time>.<host>.<pid>.<n>) in TFRecord
// framing, like torch.utils.tensorboard.SummaryWriter: scalars, histograms, text and hparams.
// Messages are encoded with protobuf (lamina/train/proto/*.proto); no header here includes them.
// Events are buffered and flushed every `max_queue` events, when `flush_secs` have passed at a
// write, on flush() and on close() (torch flushes from a background thread instead).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::train {

/// A hyper-parameter value for add_hparams.
using HParamValue = std::variant<double, std::string, bool>;

/// A histogram as TensorBoard's HistogramProto holds it.
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;  ///< statistics of all values
  std::vector<double> bucket_limit;  ///< right edge of each bucket
  std::vector<double> bucket;        ///< count of each bucket
};

/// TensorBoard's default bucket edges (torch's bins='tensorflow'): -1e20..-1e-12, 0, 1e-12..1e20, ratio 1.1.
const std::vector<double>& default_histogram_edges();
/// `bins` equal-width edges over [min, max] of `values` (numpy's histogram(values, bins=int)).
std::vector<double> uniform_histogram_edges(const std::vector<double>& values, int64_t bins);
/// numpy.histogram(values, edges) trimmed to the non-empty range as torch's make_histogram does;
/// ValueError for empty values or fewer than 2 edges.
Histogram make_histogram(const std::vector<double>& values, const std::vector<double>& edges);

/// Settings of a SummaryWriter beyond its directory.
struct SummaryWriterOptions {
  std::string comment;           ///< appended to the default log_dir (runs/<time>_<host><comment>)
  std::string filename_suffix;   ///< appended to the event file's name
  double flush_secs = 120;       ///< flush when this many seconds have passed since the last flush (checked at writes)
  int64_t max_queue = 10;        ///< flush after this many buffered events
  std::optional<int64_t> purge_step;  ///< writes a SessionLog START at this step (TensorBoard drops later old events)
};

/// Writes TensorBoard event files into a log directory.
class SummaryWriter {
 public:
  /// Creates `log_dir` (empty: runs/<Mon>DD_HH-MM-SS_<host><comment>) and its first event file.
  explicit SummaryWriter(std::string log_dir = "", SummaryWriterOptions options = {});
  /// Closes (flushes) all files.
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  /// A scalar (simple_value, float32) at `step`; wall_time defaults to now (seconds since the epoch).
  void add_scalar(const std::string& tag, double value, int64_t step = 0, std::optional<double> wall_time = {});
  /// Several scalars under `main_tag`, each in its own run <log_dir>/<main_tag>_<key> as torch does.
  void add_scalars(const std::string& main_tag, const std::map<std::string, double>& values, int64_t step = 0,
                   std::optional<double> wall_time = {});
  /// A histogram of a tensor's values; bins <= 0 uses default_histogram_edges(), else bins equal-width buckets.
  void add_histogram(const std::string& tag, const Tensor& values, int64_t step = 0, int64_t bins = 0,
                     std::optional<double> wall_time = {});
  /// A histogram of `values`; bins as above.
  void add_histogram(const std::string& tag, const std::vector<double>& values, int64_t step = 0, int64_t bins = 0,
                     std::optional<double> wall_time = {});
  /// A histogram of `values` over explicit bucket edges (ascending).
  void add_histogram_edges(const std::string& tag, const std::vector<double>& values, const std::vector<double>& edges,
                           int64_t step = 0, std::optional<double> wall_time = {});
  /// A precomputed histogram.
  void add_histogram_raw(const std::string& tag, const Histogram& histogram, int64_t step = 0,
                         std::optional<double> wall_time = {});
  /// Text (markdown) under "<tag>/text_summary", a string tensor with the text plugin's metadata.
  void add_text(const std::string& tag, const std::string& text, int64_t step = 0,
                std::optional<double> wall_time = {});
  /// One hparams session in the run <log_dir>/<run_name> (default: the current time in seconds):
  /// the experiment, session_start_info and session_end_info summaries and each metric as a scalar.
  void add_hparams(const std::map<std::string, HParamValue>& hparams, const std::map<std::string, double>& metrics,
                   const std::string& run_name = "", int64_t step = 0);
  /// Writes buffered events of every file to disk.
  void flush();
  /// Flushes and closes every file; later adds raise IOError.
  void close();
  /// The log directory.
  const std::string& log_dir() const;
  /// Path of the main event file.
  const std::string& file_path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lamina::train
