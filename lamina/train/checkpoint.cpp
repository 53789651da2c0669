#include "lamina/train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lamina/core/error.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/generator.h"
#include "lamina/train/seed.h"

#ifndef LAMINA_VERSION_STRING
#define LAMINA_VERSION_STRING "unknown"
#endif
#ifndef LAMINA_GIT_REVISION
#define LAMINA_GIT_REVISION "unknown"
#endif

namespace lamina::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kOp = "checkpoint";
constexpr const char* kFormat = "lamina.checkpoint";
constexpr const char* kFormatVersion = "1";
constexpr const char* kModelPrefix = "model/";
constexpr const char* kOptimizerPrefix = "optimizer/";

// JSON numbers cannot hold inf / nan (schedulers keep e.g. best = inf), so non-finite reals are
// written as {"real": "inf"}; every real stays a JSON float so ints and reals round-trip apart.
json real_to_json(double v) {
  if (std::isfinite(v)) return json(v);
  return json{{"real", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf")}};
}

double real_from_json(const json& j, const std::string& path) {
  if (j.is_number()) return j.get<double>();
  if (j.is_object() && j.contains("real") && j["real"].is_string()) {
    const std::string s = j["real"].get<std::string>();
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
    if (s == "nan") return NAN;
  }
  LAMINA_THROW(FormatError, kOp, path, ": expected a real number in the checkpoint metadata, got ", j.dump());
}

json option_to_json(const optim::OptionValue& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, double>) {
          return real_to_json(x);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          json a = json::array();
          for (double d : x) a.push_back(real_to_json(d));
          return a;
        } else {
          return json(x);
        }
      },
      v);
}

optim::OptionValue option_from_json(const json& j, const std::string& path) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::vector<double> v;
    for (const json& e : j) v.push_back(real_from_json(e, path));
    return v;
  }
  return real_from_json(j, path);
}

json options_to_json(const optim::Options& options) {
  json o = json::object();
  for (const auto& [k, v] : options) o[k] = option_to_json(v);
  return o;
}

optim::Options options_from_json(const json& j, const std::string& path, const char* skip = nullptr) {
  if (!j.is_object()) LAMINA_THROW(FormatError, kOp, path, ": expected an object of options, got ", j.dump());
  optim::Options o;
  for (const auto& [k, v] : j.items())
    if (!skip || k != skip) o[k] = option_from_json(v, path);
  return o;
}

json scheduler_to_json(const optim::SchedulerState& s) {
  json children = json::array();
  for (const auto& c : s.schedulers) children.push_back(scheduler_to_json(c));
  return json{{"values", options_to_json(s.values)}, {"schedulers", children}};
}

optim::SchedulerState scheduler_from_json(const json& j, const std::string& path) {
  if (!j.is_object() || !j.contains("values") || !j.contains("schedulers") || !j["schedulers"].is_array())
    LAMINA_THROW(FormatError, kOp, path, ": malformed scheduler state");
  optim::SchedulerState s;
  s.values = options_from_json(j["values"], path);
  for (const json& c : j["schedulers"]) s.schedulers.push_back(scheduler_from_json(c, path));
  return s;
}

// Metadata values must be strings; a missing or malformed entry is a FormatError naming it.
json parse_entry(const io::Metadata& meta, const std::string& key, const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) LAMINA_THROW(FormatError, kOp, path, ": the checkpoint has no '", key, "' entry");
  json j = json::parse(it->second, nullptr, false);
  if (j.is_discarded()) LAMINA_THROW(FormatError, kOp, path, ": entry '", key, "' is not valid JSON");
  return j;
}

template <class T>
T json_get(const json& j, const char* key, const std::string& path) {
  if (!j.is_object() || !j.contains(key))
    LAMINA_THROW(FormatError, kOp, path, ": the checkpoint metadata misses '", key, "'");
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    LAMINA_THROW(FormatError, kOp, path, ": the checkpoint metadata's '", key, "' has the wrong type");
  }
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

io::Metadata run_info() {
  auto seed = recorded_seed();
  return {{"seed", seed ? std::to_string(*seed) : "none"},
          {"lamina_version", LAMINA_VERSION_STRING},
          {"git_revision", LAMINA_GIT_REVISION},
          {"device", "cpu (" + runtime::backend_name() + ")"},
          {"created", utc_now()},
          {"host", host_name()}};
}

// Parses "<prefix>-<digits>.safetensors"; -1 when `name` is not a checkpoint file of `prefix`.
int64_t step_of(const std::string& name, const std::string& prefix) {
  const std::string head = prefix + "-", tail = ".safetensors";
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
    return -1;
  const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

}  // namespace

void write_checkpoint(const std::string& path, const CheckpointData& data) {
  io::TensorMap tensors;
  for (const auto& [name, t] : data.model) tensors.emplace_back(kModelPrefix + name, t);
  io::Metadata meta;
  meta["format"] = kFormat;
  meta["format_version"] = kFormatVersion;
  meta["step"] = std::to_string(data.step);
  meta["epoch"] = std::to_string(data.epoch);
  if (data.optimizer) {
    json groups = json::array();
    for (const auto& g : data.optimizer->param_groups)
      groups.push_back(json{{"options", options_to_json(g.options)}, {"params", g.params}});
    json states = json::object();
    for (const auto& [idx, ps] : data.optimizer->state) {
      json keys = json::object();
      for (const auto& [key, t] : ps) {
        keys[key] = t.defined();
        if (t.defined()) tensors.emplace_back(kOptimizerPrefix + std::to_string(idx) + "/" + key, t);
      }
      states[std::to_string(idx)] = keys;
    }
    meta["optimizer"] = json{{"name", data.optimizer_name}, {"param_groups", groups}, {"state", states}}.dump();
  }
  if (data.scheduler) meta["scheduler"] = scheduler_to_json(*data.scheduler).dump();
  if (data.loader)
    meta["loader"] = json{{"seed", data.loader->seed},
                          {"epoch", data.loader->epoch},
                          {"batches_consumed", data.loader->batches_consumed}}
                         .dump();
  meta["rng"] = json{{"seed", data.rng.seed}, {"offset", data.rng.offset}}.dump();
  LAMINA_CHECK(!json::parse(data.config, nullptr, false).is_discarded(), ValueError, kOp,
               "the config is not valid JSON");
  meta["config"] = data.config;
  meta["extra"] = json(data.extra).dump();
  for (const auto& [k, v] : data.run_info.empty() ? run_info() : data.run_info) meta["run." + k] = v;
  io::save_file(tensors, path, meta);
}

CheckpointData read_checkpoint(const std::string& path, bool mmap) {
  io::LoadedFile file = io::load_file(path, mmap);
  const io::Metadata& meta = file.metadata;
  auto fmt = meta.find("format");
  if (fmt == meta.end() || fmt->second != kFormat)
    LAMINA_THROW(FormatError, kOp, path, ": not a lamina checkpoint (a safetensors file without format '", kFormat,
                 "')");
  auto ver = meta.find("format_version");
  if (ver == meta.end() || ver->second != kFormatVersion)
    LAMINA_THROW(FormatError, kOp, path, ": unsupported checkpoint format version '",
                 ver == meta.end() ? std::string("none") : ver->second, "' (this lamina reads ", kFormatVersion, ")");
  CheckpointData data;
  json step = parse_entry(meta, "step", path), epoch = parse_entry(meta, "epoch", path);
  if (!step.is_number_integer() || !epoch.is_number_integer())
    LAMINA_THROW(FormatError, kOp, path, ": step and epoch must be integers");
  data.step = step.get<int64_t>();
  data.epoch = epoch.get<int64_t>();

  std::map<std::string, Tensor> optimizer_tensors;
  for (auto& [name, t] : file.tensors) {
    if (name.rfind(kModelPrefix, 0) == 0)
      data.model.emplace_back(name.substr(std::string(kModelPrefix).size()), t);
    else if (name.rfind(kOptimizerPrefix, 0) == 0)
      optimizer_tensors.emplace(name.substr(std::string(kOptimizerPrefix).size()), t);
    else
      LAMINA_THROW(FormatError, kOp, path, ": unexpected tensor '", name, "' in a checkpoint");
  }
  if (meta.count("optimizer")) {
    json o = parse_entry(meta, "optimizer", path);
    data.optimizer_name = json_get<std::string>(o, "name", path);
    optim::StateDict sd;
    const json groups = json_get<json>(o, "param_groups", path);
    if (!groups.is_array()) LAMINA_THROW(FormatError, kOp, path, ": malformed optimizer param_groups");
    for (const json& g : groups) {
      optim::GroupState gs;
      gs.options = options_from_json(json_get<json>(g, "options", path), path);
      gs.params = json_get<std::vector<int64_t>>(g, "params", path);
      sd.param_groups.push_back(std::move(gs));
    }
    const json states = json_get<json>(o, "state", path);
    if (!states.is_object()) LAMINA_THROW(FormatError, kOp, path, ": malformed optimizer state");
    for (const auto& [idx, keys] : states.items()) {
      optim::ParamState ps;
      if (!keys.is_object()) LAMINA_THROW(FormatError, kOp, path, ": malformed optimizer state ", idx);
      for (const auto& [key, defined] : keys.items()) {
        if (!defined.is_boolean()) LAMINA_THROW(FormatError, kOp, path, ": malformed optimizer state ", idx);
        if (!defined.get<bool>()) {
          ps[key] = Tensor();
          continue;
        }
        auto it = optimizer_tensors.find(idx + "/" + key);
        if (it == optimizer_tensors.end())
          LAMINA_THROW(FormatError, kOp, path, ": optimizer state '", key, "' of parameter ", idx, " is missing");
        ps[key] = it->second;
      }
      int64_t index = 0;
      try {
        index = std::stoll(idx);
      } catch (const std::exception&) {
        LAMINA_THROW(FormatError, kOp, path, ": optimizer state index '", idx, "' is not an integer");
      }
      sd.state[index] = std::move(ps);
    }
    data.optimizer = std::move(sd);
  } else if (!optimizer_tensors.empty()) {
    LAMINA_THROW(FormatError, kOp, path, ": optimizer tensors without optimizer metadata");
  }
  if (meta.count("scheduler")) data.scheduler = scheduler_from_json(parse_entry(meta, "scheduler", path), path);
  if (meta.count("loader")) {
    json l = parse_entry(meta, "loader", path);
    data.loader = data::LoaderState{json_get<uint64_t>(l, "seed", path), json_get<int64_t>(l, "epoch", path),
                                    json_get<int64_t>(l, "batches_consumed", path)};
  }
  json rng = parse_entry(meta, "rng", path);
  data.rng = RngState{json_get<uint64_t>(rng, "seed", path), json_get<uint64_t>(rng, "offset", path)};
  parse_entry(meta, "config", path);
  data.config = meta.at("config");
  json extra = parse_entry(meta, "extra", path);
  if (!extra.is_object()) LAMINA_THROW(FormatError, kOp, path, ": 'extra' must be an object of strings");
  for (const auto& [k, v] : extra.items()) {
    if (!v.is_string()) LAMINA_THROW(FormatError, kOp, path, ": 'extra' must be an object of strings");
    data.extra[k] = v.get<std::string>();
  }
  for (const auto& [k, v] : meta)
    if (k.rfind("run.", 0) == 0) data.run_info[k.substr(4)] = v;
  return data;
}

// ---- Checkpointer ----

Checkpointer::Checkpointer(std::string directory, CheckpointerOptions options)
    : directory_(std::move(directory)),
      options_(std::move(options)),
      last_save_time_(std::chrono::steady_clock::now()) {
  LAMINA_CHECK(options_.every_steps >= 0, ConfigError, kOp, "every_steps must be >= 0, got ", options_.every_steps);
  LAMINA_CHECK(options_.every_seconds >= 0, ConfigError, kOp, "every_seconds must be >= 0, got ",
               options_.every_seconds);
  LAMINA_CHECK(options_.keep_last >= 0, ConfigError, kOp, "keep_last must be >= 0, got ", options_.keep_last);
  LAMINA_CHECK(!options_.prefix.empty() && options_.prefix.find('/') == std::string::npos, ConfigError, kOp,
               "prefix must be a non-empty file name, got '", options_.prefix, "'");
  std::error_code ec;
  fs::create_directories(directory_, ec);
  LAMINA_CHECK(!ec && fs::is_directory(directory_), IOError, kOp, "cannot create checkpoint directory '", directory_,
               "': ", ec.message());
  // An interrupted save leaves its temp file behind; the rename never happened, so it is garbage.
  const std::string tmp_head = options_.prefix + "-";
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(tmp_head, 0) == 0 && name.find(".safetensors.tmp.") != std::string::npos)
      fs::remove(entry.path(), ec);
  }
}

void Checkpointer::track_model(nn::Module& model) {
  track_model([&model] { return model.state_dict(); },
              [&model](const io::TensorMap& state) { model.load_state_dict(state, true); });
}

void Checkpointer::track_model(std::function<io::TensorMap()> get, std::function<void(const io::TensorMap&)> set) {
  get_model_ = std::move(get);
  set_model_ = std::move(set);
}

void Checkpointer::track_optimizer(optim::Optimizer& optimizer) { optimizer_ = &optimizer; }

void Checkpointer::track_scheduler(optim::LRScheduler& scheduler) { scheduler_ = &scheduler; }

void Checkpointer::track_loader(data::EpochRunner& loader) {
  track_loader([&loader] { return loader.state(); }, [&loader](const data::LoaderState& s) { loader.load_state(s); });
}

void Checkpointer::track_loader(std::function<data::LoaderState()> get,
                                std::function<void(const data::LoaderState&)> set) {
  get_loader_ = std::move(get);
  set_loader_ = std::move(set);
}

void Checkpointer::track_extra(std::function<io::Metadata()> get, std::function<void(const io::Metadata&)> set) {
  get_extra_ = std::move(get);
  set_extra_ = std::move(set);
}

void Checkpointer::set_config(const std::string& text) {
  LAMINA_CHECK(!json::parse(text, nullptr, false).is_discarded(), ValueError, kOp,
               "the config is not valid JSON: ", text.substr(0, 80));
  config_ = text;
}

std::string Checkpointer::path_for(int64_t step) const {
  LAMINA_CHECK(step >= 0, ValueError, kOp, "step must be >= 0, got ", step);
  char digits[32];
  std::snprintf(digits, sizeof digits, "%010lld", static_cast<long long>(step));
  return (fs::path(directory_) / (options_.prefix + "-" + digits + ".safetensors")).string();
}

bool Checkpointer::due(int64_t step) const {
  if (step == last_saved_step_) return false;
  if (options_.every_steps > 0 && step % options_.every_steps == 0) return true;
  if (options_.every_seconds > 0) {
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - last_save_time_;
    if (elapsed.count() >= options_.every_seconds) return true;
  }
  return false;
}

std::optional<std::string> Checkpointer::maybe_save(int64_t step, int64_t epoch) {
  if (!due(step)) return std::nullopt;
  return save(step, epoch);
}

CheckpointData Checkpointer::collect(int64_t step, int64_t epoch) const {
  CheckpointData data;
  data.step = step;
  data.epoch = epoch;
  if (get_model_) data.model = get_model_();
  if (optimizer_) {
    data.optimizer = optimizer_->state_dict();
    data.optimizer_name = optimizer_->name();
  }
  if (scheduler_) data.scheduler = scheduler_->state_dict();
  if (get_loader_) data.loader = get_loader_();
  runtime::Generator& gen = runtime::default_generator();
  data.rng = RngState{gen.current_seed(), gen.offset()};
  data.config = config_;
  if (get_extra_) data.extra = get_extra_();
  return data;
}

std::string Checkpointer::save(int64_t step, int64_t epoch) {
  const std::string path = path_for(step);
  write_checkpoint(path, collect(step, epoch));
  last_saved_step_ = step;
  last_save_time_ = std::chrono::steady_clock::now();
  if (options_.keep_last > 0) {
    std::vector<std::string> files = list();
    std::error_code ec;
    for (size_t i = 0; i + options_.keep_last < files.size(); ++i)
      if (files[i] != path) fs::remove(files[i], ec);
  }
  return path;
}

std::vector<std::string> Checkpointer::list() const {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    int64_t step = step_of(entry.path().filename().string(), options_.prefix);
    if (step >= 0 && entry.is_regular_file(ec)) found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [step, path] : found) paths.push_back(std::move(path));
  return paths;
}

std::optional<std::string> Checkpointer::latest() const {
  std::vector<std::string> files = list();
  if (files.empty()) return std::nullopt;
  return files.back();
}

std::optional<CheckpointInfo> Checkpointer::load_latest() {
  std::optional<std::string> path = latest();
  if (!path) return std::nullopt;
  return load(*path);
}

CheckpointInfo Checkpointer::load(const std::string& path) {
  CheckpointData data = read_checkpoint(path);
  LAMINA_CHECK(!get_model_ || !data.model.empty(), FormatError, kOp, path, ": the checkpoint holds no model state");
  LAMINA_CHECK(!optimizer_ || data.optimizer, FormatError, kOp, path, ": the checkpoint holds no optimizer state");
  LAMINA_CHECK(!optimizer_ || data.optimizer_name == optimizer_->name(), ValueError, kOp, path,
               ": the checkpoint's optimizer is ", data.optimizer_name, ", this run's is ", optimizer_->name());
  LAMINA_CHECK(!scheduler_ || data.scheduler, FormatError, kOp, path, ": the checkpoint holds no scheduler state");
  LAMINA_CHECK(!set_loader_ || data.loader, FormatError, kOp, path, ": the checkpoint holds no data-loader state");

  // Each part validates before it changes anything; if a later part fails, the earlier ones are
  // put back from these snapshots so the run is left exactly as it was.
  io::TensorMap model_before;
  if (get_model_)
    for (const auto& [name, t] : get_model_()) model_before.emplace_back(name, t.clone());
  std::optional<optim::StateDict> optimizer_before;
  if (optimizer_) optimizer_before = optimizer_->state_dict();
  std::optional<optim::SchedulerState> scheduler_before;
  if (scheduler_) scheduler_before = scheduler_->state_dict();
  std::optional<data::LoaderState> loader_before;
  if (get_loader_) loader_before = get_loader_();
  int stage = 0;
  try {
    if (set_model_) set_model_(data.model);
    stage = 1;
    if (optimizer_) optimizer_->load_state_dict(*data.optimizer);
    stage = 2;
    if (scheduler_) scheduler_->load_state_dict(*data.scheduler);
    stage = 3;
    if (set_loader_) set_loader_(*data.loader);
    stage = 4;
    if (set_extra_) set_extra_(data.extra);
  } catch (...) {
    if (stage >= 4 && set_loader_) set_loader_(*loader_before);
    if (stage >= 3 && scheduler_) scheduler_->load_state_dict(*scheduler_before);
    if (stage >= 2 && optimizer_) optimizer_->load_state_dict(*optimizer_before);
    if (stage >= 1 && set_model_) set_model_(model_before);
    throw;
  }
  runtime::Generator& gen = runtime::default_generator();
  gen.seed(data.rng.seed);
  gen.set_offset(data.rng.offset);
  last_saved_step_ = data.step;
  last_save_time_ = std::chrono::steady_clock::now();
  return CheckpointInfo{path, data.step, data.epoch, data.config, data.run_info};
}

}  // namespace lamina::train
