#include "lamina/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "lamina/core/error.h"

namespace lamina::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<int64_t>(seconds);
  const int64_t h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[32];
  if (h > 0)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(s));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  return buf;
}

ProgressBar::ProgressBar(std::string description, int64_t total, ProgressOptions options)
    : description_(std::move(description)), total_(total), options_(options) {
  LAMINA_CHECK(total >= 0, ValueError, "ProgressBar", "total must be >= 0, got ", total);
  LAMINA_CHECK(options.width >= 0 && options.plain_every >= 1 && options.min_interval >= 0, ValueError, "ProgressBar",
               "width and min_interval must be >= 0 and plain_every >= 1");
  out_ = options.out ? options.out : &std::cout;
  interactive_ = options.interactive.value_or(out_ == &std::cout && ::isatty(STDOUT_FILENO));
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() {
  // A destructor must not throw; a failing stream only loses the last line.
  try {
    close();
  } catch (...) {
  }
}

double ProgressBar::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(int64_t step, int64_t samples, double loss, std::optional<double> accuracy) {
  if (closed_) return;
  step_ = step;
  samples_ = samples;
  loss_ = loss;
  accuracy_ = accuracy;
  if (interactive_) {
    const auto now = std::chrono::steady_clock::now();
    if (!drawn_ || std::chrono::duration<double>(now - last_draw_).count() >= options_.min_interval) draw("", false);
    return;
  }
  // Plain mode prints at each tenth of a known total (the last one is left to close()), or
  // every plain_every steps when the total is unknown.
  const int64_t mark = total_ > 0 ? step * 10 / total_ : step / options_.plain_every;
  if (mark > last_plain_mark_ && (total_ == 0 || step < total_)) {
    last_plain_mark_ = mark;
    draw("", false);
  }
}

std::string ProgressBar::line() const {
  std::ostringstream os;
  os << description_;
  if (total_ > 0) {
    const int64_t filled = options_.width * std::min(step_, total_) / total_;
    if (options_.width > 0)
      os << " [" << std::string(filled, '#') << std::string(options_.width - filled, '.') << "]";
    os << " " << step_ << "/" << total_;
  } else {
    os << " " << step_ << " steps";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, " loss %.4f", loss_);
  os << buf;
  if (accuracy_) {
    std::snprintf(buf, sizeof buf, " acc %.4f", *accuracy_);
    os << buf;
  }
  const double t = elapsed();
  std::snprintf(buf, sizeof buf, " %.0f samples/s", t > 0 ? samples_ / t : 0.0);
  os << buf << " " << format_duration(t);
  if (total_ > 0) os << "<" << (step_ > 0 ? format_duration(t / step_ * (total_ - step_)) : "--:--");
  return os.str();
}

void ProgressBar::draw(const std::string& postfix, bool final) {
  std::string text = line();
  if (!postfix.empty()) text += " " + postfix;
  if (interactive_) {
    // Pad with spaces so a shorter line fully covers the previous one.
    const size_t length = text.size();
    if (length < last_length_) text += std::string(last_length_ - length, ' ');
    last_length_ = length;
    *out_ << '\r' << text;
    if (final) *out_ << '\n';
  } else {
    *out_ << text << '\n';
  }
  out_->flush();
  drawn_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBar::close(const std::string& postfix) {
  if (closed_) return;
  closed_ = true;
  draw(postfix, true);
}

}  // namespace lamina::train
