// SummaryWriter: protobuf-encoded TensorBoard events in TFRecord framing, one file per run.
#include "lamina/train/summary_writer.h"

#include <google/protobuf/struct.pb.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "lamina/core/error.h"
#include "lamina/train/crc32c.h"
#include "lamina/train/proto/tb_event.pb.h"
#include "lamina/train/proto/tb_hparams.pb.h"

namespace lamina::train {
namespace {

namespace fs = std::filesystem;

std::atomic<int64_t> g_file_counter{0};

double now_secs() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// One events.out.tfevents file: TFRecord records, buffered by stdio, flushed by policy.
class EventFile {
 public:
  EventFile(const std::string& dir, const SummaryWriterOptions& opt) : opt_(opt) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    LAMINA_CHECK(!ec, IOError, "SummaryWriter", "cannot create log directory '", dir, "': ", ec.message());
    char name[512];
    std::snprintf(name, sizeof name, "events.out.tfevents.%010lld.%s.%d.%lld%s",
                  static_cast<long long>(std::time(nullptr)), hostname().c_str(), static_cast<int>(getpid()),
                  static_cast<long long>(g_file_counter.fetch_add(1)), opt.filename_suffix.c_str());
    path_ = (fs::path(dir) / name).string();
    file_ = std::fopen(path_.c_str(), "wb");
    LAMINA_CHECK(file_ != nullptr, IOError, "SummaryWriter", "cannot open '", path_, "': ", std::strerror(errno));
    last_flush_ = now_secs();
    tb::Event ev;
    ev.set_wall_time(last_flush_);
    ev.set_file_version("brain.Event:2");
    write(ev, /*force_flush=*/true);
  }
  ~EventFile() { close(); }

  void write(const tb::Event& ev, bool force_flush = false) {
    LAMINA_CHECK(file_ != nullptr, IOError, "SummaryWriter", "'", path_, "' is closed");
    std::string data = ev.SerializeAsString();
    std::string rec;
    rec.reserve(data.size() + 16);
    uint64_t len = data.size();
    for (int i = 0; i < 8; ++i) rec += static_cast<char>((len >> (8 * i)) & 0xFF);
    put_u32(rec, crc32c_mask(crc32c(rec.data(), 8)));
    rec += data;
    put_u32(rec, crc32c_mask(crc32c(data)));
    LAMINA_CHECK(std::fwrite(rec.data(), 1, rec.size(), file_) == rec.size(), IOError, "SummaryWriter",
                 "write to '", path_, "' failed: ", std::strerror(errno));
    ++pending_;
    double t = now_secs();
    if (force_flush || pending_ >= opt_.max_queue || t - last_flush_ >= opt_.flush_secs) flush();
  }

  void flush() {
    if (!file_) return;
    LAMINA_CHECK(std::fflush(file_) == 0, IOError, "SummaryWriter", "flush of '", path_, "' failed: ",
                 std::strerror(errno));
    pending_ = 0;
    last_flush_ = now_secs();
  }

  void close() {
    if (!file_) return;
    std::fflush(file_);
    std::fclose(file_);
    file_ = nullptr;
  }

  const std::string& path() const { return path_; }

 private:
  SummaryWriterOptions opt_;
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t pending_ = 0;
  double last_flush_ = 0;
};

tb::Event summary_event(int64_t step, std::optional<double> wall_time) {
  tb::Event ev;
  ev.set_wall_time(wall_time ? *wall_time : now_secs());
  ev.set_step(step);
  return ev;
}

std::string hparams_content(const tb::hparams::HParamsPluginData& data) { return data.SerializeAsString(); }

void set_plugin(tb::Summary::Value* v, const char* plugin, const std::string& content) {
  auto* pd = v->mutable_metadata()->mutable_plugin_data();
  pd->set_plugin_name(plugin);
  pd->set_content(content);
}

std::vector<double> tensor_values(const Tensor& t) {
  LAMINA_CHECK(t.defined(), ValueError, "add_histogram", "values is an undefined tensor");
  Tensor c = t;
  if (!c.device().is_cpu()) c = c.to(Device());
  c = c.to(Dtype::Float64).contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

}  // namespace

const std::vector<double>& default_histogram_edges() {
  static const std::vector<double> edges = [] {
    std::vector<double> pos;
    for (double v = 1e-12; v < 1e20; v *= 1.1) pos.push_back(v);
    std::vector<double> e;
    e.reserve(pos.size() * 2 + 1);
    for (auto it = pos.rbegin(); it != pos.rend(); ++it) e.push_back(-*it);
    e.push_back(0);
    e.insert(e.end(), pos.begin(), pos.end());
    return e;
  }();
  return edges;
}

std::vector<double> uniform_histogram_edges(const std::vector<double>& values, int64_t bins) {
  LAMINA_CHECK(bins >= 1, ValueError, "add_histogram", "bins must be >= 1, got ", bins);
  LAMINA_CHECK(!values.empty(), ValueError, "add_histogram", "values is empty");
  double lo = *std::min_element(values.begin(), values.end());
  double hi = *std::max_element(values.begin(), values.end());
  LAMINA_CHECK(std::isfinite(lo) && std::isfinite(hi), ValueError, "add_histogram",
               "values hold nan or inf; equal-width bins need a finite range");
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  // numpy.linspace(lo, hi, bins + 1): i * step + lo, the last edge exactly hi.
  double step = (hi - lo) / static_cast<double>(bins);
  std::vector<double> e(static_cast<size_t>(bins) + 1);
  for (int64_t i = 0; i <= bins; ++i) e[i] = static_cast<double>(i) * step + lo;
  e.back() = hi;
  return e;
}

Histogram make_histogram(const std::vector<double>& values, const std::vector<double>& edges) {
  LAMINA_CHECK(!values.empty(), ValueError, "add_histogram", "values is empty");
  LAMINA_CHECK(edges.size() >= 2, ValueError, "add_histogram", "need at least 2 bucket edges, got ", edges.size());
  for (size_t i = 1; i < edges.size(); ++i)
    LAMINA_CHECK(edges[i] >= edges[i - 1], ValueError, "add_histogram", "bucket edges must be ascending");
  Histogram h;
  h.min = values[0];
  h.max = values[0];
  size_t nb = edges.size() - 1;
  std::vector<double> counts(nb, 0.0);
  for (double x : values) {
    h.min = std::min(h.min, x);
    h.max = std::max(h.max, x);
    h.sum += x;
    h.sum_squares += x * x;
    if (!(x >= edges.front() && x <= edges.back())) continue;  // numpy drops values outside (and nan)
    size_t i = static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin());
    i = i == 0 ? 0 : i - 1;
    if (i >= nb) i = nb - 1;  // the last bucket is closed on the right
    counts[i] += 1;
  }
  h.num = static_cast<double>(values.size());
  // Keep the non-empty range, plus one empty bucket on the left so its left edge shows (torch).
  size_t first = nb, last = 0;
  for (size_t i = 0; i < nb; ++i)
    if (counts[i] > 0) {
      first = std::min(first, i);
      last = i;
    }
  LAMINA_CHECK(first < nb, ValueError, "add_histogram", "no value falls inside the bucket edges");
  if (first > 0) {
    for (size_t i = first - 1; i <= last; ++i) {
      h.bucket.push_back(counts[i]);
      h.bucket_limit.push_back(edges[i + 1]);
    }
  } else {
    h.bucket.push_back(0);
    h.bucket_limit.push_back(edges[0]);
    for (size_t i = 0; i <= last; ++i) {
      h.bucket.push_back(counts[i]);
      h.bucket_limit.push_back(edges[i + 1]);
    }
  }
  return h;
}

struct SummaryWriter::Impl {
  std::string log_dir;
  SummaryWriterOptions options;
  std::mutex mutex;
  std::unique_ptr<EventFile> main;
  std::map<std::string, std::unique_ptr<EventFile>> subruns;  // add_scalars' runs
  bool closed = false;

  EventFile& file() {
    LAMINA_CHECK(!closed, IOError, "SummaryWriter", "the writer for '", log_dir, "' is closed");
    return *main;
  }
};

SummaryWriter::SummaryWriter(std::string log_dir, SummaryWriterOptions options) : impl_(std::make_unique<Impl>()) {
  LAMINA_CHECK(options.max_queue >= 1, ConfigError, "SummaryWriter", "max_queue must be >= 1, got ", options.max_queue);
  LAMINA_CHECK(options.flush_secs >= 0, ConfigError, "SummaryWriter", "flush_secs must be >= 0, got ",
               options.flush_secs);
  if (log_dir.empty()) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%b%d_%H-%M-%S", &tm);
    log_dir = (fs::path("runs") / (std::string(buf) + "_" + hostname() + options.comment)).string();
  }
  impl_->log_dir = log_dir;
  impl_->options = options;
  impl_->main = std::make_unique<EventFile>(log_dir, options);
  if (options.purge_step) {
    tb::Event ev = summary_event(*options.purge_step, std::nullopt);
    ev.mutable_session_log()->set_status(tb::SessionLog::START);
    impl_->main->write(ev, true);
  }
}

SummaryWriter::~SummaryWriter() {
  try {
    close();
  } catch (...) {
  }
}

void SummaryWriter::add_scalar(const std::string& tag, double value, int64_t step, std::optional<double> wall_time) {
  tb::Event ev = summary_event(step, wall_time);
  auto* v = ev.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->file().write(ev);
}

void SummaryWriter::add_scalars(const std::string& main_tag, const std::map<std::string, double>& values,
                                int64_t step, std::optional<double> wall_time) {
  std::string base = main_tag;
  std::replace(base.begin(), base.end(), '/', '_');
  double wt = wall_time ? *wall_time : now_secs();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->file();  // closed check
  for (const auto& [key, value] : values) {
    std::string dir = (fs::path(impl_->log_dir) / (base + "_" + key)).string();
    auto& f = impl_->subruns[dir];
    if (!f) f = std::make_unique<EventFile>(dir, impl_->options);
    tb::Event ev = summary_event(step, wt);
    auto* v = ev.mutable_summary()->add_value();
    v->set_tag(main_tag);
    v->set_simple_value(static_cast<float>(value));
    f->write(ev);
  }
}

void SummaryWriter::add_histogram(const std::string& tag, const Tensor& values, int64_t step, int64_t bins,
                                  std::optional<double> wall_time) {
  add_histogram(tag, tensor_values(values), step, bins, wall_time);
}

void SummaryWriter::add_histogram(const std::string& tag, const std::vector<double>& values, int64_t step,
                                  int64_t bins, std::optional<double> wall_time) {
  if (bins <= 0) {
    add_histogram_edges(tag, values, default_histogram_edges(), step, wall_time);
  } else {
    add_histogram_edges(tag, values, uniform_histogram_edges(values, bins), step, wall_time);
  }
}

void SummaryWriter::add_histogram_edges(const std::string& tag, const std::vector<double>& values,
                                        const std::vector<double>& edges, int64_t step,
                                        std::optional<double> wall_time) {
  add_histogram_raw(tag, make_histogram(values, edges), step, wall_time);
}

void SummaryWriter::add_histogram_raw(const std::string& tag, const Histogram& h, int64_t step,
                                      std::optional<double> wall_time) {
  LAMINA_CHECK(h.bucket.size() == h.bucket_limit.size(), ValueError, "add_histogram",
               "bucket and bucket_limit differ in length (", h.bucket.size(), " vs ", h.bucket_limit.size(), ")");
  tb::Event ev = summary_event(step, wall_time);
  auto* v = ev.mutable_summary()->add_value();
  v->set_tag(tag);
  auto* hp = v->mutable_histo();
  hp->set_min(h.min);
  hp->set_max(h.max);
  hp->set_num(h.num);
  hp->set_sum(h.sum);
  hp->set_sum_squares(h.sum_squares);
  for (double x : h.bucket_limit) hp->add_bucket_limit(x);
  for (double x : h.bucket) hp->add_bucket(x);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->file().write(ev);
}

void SummaryWriter::add_text(const std::string& tag, const std::string& text, int64_t step,
                             std::optional<double> wall_time) {
  tb::Event ev = summary_event(step, wall_time);
  auto* v = ev.mutable_summary()->add_value();
  v->set_tag(tag + "/text_summary");
  tb::TextPluginData tpd;
  tpd.set_version(0);
  set_plugin(v, "text", tpd.SerializeAsString());
  auto* t = v->mutable_tensor();
  t->set_dtype(tb::DT_STRING);
  t->add_string_val(text);
  t->mutable_tensor_shape()->add_dim()->set_size(1);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->file().write(ev);
}

void SummaryWriter::add_hparams(const std::map<std::string, HParamValue>& hparams,
                                const std::map<std::string, double>& metrics, const std::string& run_name,
                                int64_t step) {
  namespace hp = tb::hparams;
  double now = now_secs();
  hp::HParamsPluginData exp_data, start_data, end_data;
  auto* exp = exp_data.mutable_experiment();
  auto* ssi = start_data.mutable_session_start_info();
  for (const auto& [name, value] : hparams) {
    auto* info = exp->add_hparam_infos();
    info->set_name(name);
    google::protobuf::Value& pv = (*ssi->mutable_hparams())[name];
    if (const double* d = std::get_if<double>(&value)) {
      info->set_type(hp::DATA_TYPE_FLOAT64);
      pv.set_number_value(*d);
    } else if (const std::string* s = std::get_if<std::string>(&value)) {
      info->set_type(hp::DATA_TYPE_STRING);
      pv.set_string_value(*s);
    } else {
      info->set_type(hp::DATA_TYPE_BOOL);
      pv.set_bool_value(std::get<bool>(value));
    }
  }
  for (const auto& kv : metrics) exp->add_metric_infos()->mutable_name()->set_tag(kv.first);
  ssi->set_start_time_secs(now);
  end_data.mutable_session_end_info()->set_status(hp::STATUS_SUCCESS);
  end_data.mutable_session_end_info()->set_end_time_secs(now);

  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->file();  // closed check
  std::string run = run_name;
  if (run.empty()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.7f", now);
    run = buf;
  }
  EventFile f((fs::path(impl_->log_dir) / run).string(), impl_->options);
  const std::pair<const char*, const hp::HParamsPluginData*> parts[] = {
      {"_hparams_/experiment", &exp_data},
      {"_hparams_/session_start_info", &start_data},
      {"_hparams_/session_end_info", &end_data}};
  for (const auto& [tag, data] : parts) {
    tb::Event ev = summary_event(0, now);
    auto* v = ev.mutable_summary()->add_value();
    v->set_tag(tag);
    set_plugin(v, "hparams", hparams_content(*data));
    f.write(ev);
  }
  for (const auto& [name, value] : metrics) {
    tb::Event ev = summary_event(step, now);
    auto* v = ev.mutable_summary()->add_value();
    v->set_tag(name);
    v->set_simple_value(static_cast<float>(value));
    f.write(ev);
  }
  f.flush();
}

void SummaryWriter::flush() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->closed) return;
  impl_->main->flush();
  for (auto& kv : impl_->subruns) kv.second->flush();
}

void SummaryWriter::close() {
  if (!impl_) return;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->main->close();
  for (auto& kv : impl_->subruns) kv.second->close();
}

const std::string& SummaryWriter::log_dir() const { return impl_->log_dir; }

const std::string& SummaryWriter::file_path() const { return impl_->main->path(); }

}  // namespace lamina::train
