#pragma once
// A terminal progress bar for C++ training loops: description, step/total, loss, accuracy,
// samples/s, elapsed<ETA. On a terminal it redraws one line with '\r' at most every
// min_interval seconds; elsewhere (files, pipes, CI logs) it prints plain lines at each tenth.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace lamina::train {

/// How and where a ProgressBar draws.
struct ProgressOptions {
  /// Where to draw; nullptr means std::cout.
  std::ostream* out = nullptr;
  /// Redraw in place (true) or print plain lines (false); default: whether stdout is a
  /// terminal when drawing to std::cout, else false.
  std::optional<bool> interactive;
  /// Least time between two in-place redraws, in seconds.
  double min_interval = 0.1;
  /// Width of the bar in characters.
  int width = 30;
  /// Plain mode with an unknown total: print a line every this many steps.
  int64_t plain_every = 100;
};

/// One pass's progress (an epoch or an evaluation); close() or destruction ends the line.
class ProgressBar {
 public:
  /// `description` starts the line ("epoch 1/3"); `total` steps (0: unknown).
  ProgressBar(std::string description, int64_t total, ProgressOptions options = {});
  /// Calls close().
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Records that `step` steps and `samples` samples are done, with the running loss and
  /// (when known) accuracy; draws if due.
  void update(int64_t step, int64_t samples, double loss, std::optional<double> accuracy = std::nullopt);
  /// Draws the final state followed by `postfix` (e.g. validation metrics) and a newline; later
  /// calls do nothing.
  void close(const std::string& postfix = "");
  /// The current line's text (without '\r' or newline).
  std::string line() const;
  /// True when redrawing in place.
  bool interactive() const { return interactive_; }

 private:
  void draw(const std::string& postfix, bool final);
  double elapsed() const;

  std::string description_;
  int64_t total_;
  ProgressOptions options_;
  std::ostream* out_;
  bool interactive_;
  bool closed_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
  size_t last_length_ = 0;
  int64_t step_ = 0;
  int64_t samples_ = 0;
  double loss_ = 0.0;
  std::optional<double> accuracy_;
  int64_t last_plain_mark_ = 0;
};

/// Seconds as "mm:ss" (or "h:mm:ss" from an hour on).
std::string format_duration(double seconds);

}  // namespace lamina::train
