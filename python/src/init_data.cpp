// lamina._lamina._data: readers, the C++ datasets, samplers and loaders behind
// lamina.utils.data. Native datasets load entirely in C++ (workers never take the GIL); a Python
// dataset loads through PyLoader, whose workers take the GIL only around __getitem__ and
// collate_fn. Every wait for a batch releases the GIL.
#include <nanobind/stl/function.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>

#include "bind.h"
#include "lamina/data/collate.h"
#include "lamina/data/dataset.h"
#include "lamina/data/idx.h"
#include "lamina/data/loader.h"
#include "lamina/data/sample_rng.h"
#include "lamina/data/sampler.h"

namespace lamina::python {
namespace {

using data::Batch;
using data::EpochRunner;

std::optional<uint64_t> optional_seed(const nb::object& seed) {
  if (seed.is_none()) return std::nullopt;
  return nb::cast<uint64_t>(seed);
}

// A Python iterable of index lists (a BatchSampler, or anything yielding lists of ints) as the
// plan of a C++ loader. Called on the consumer's thread, which may have released the GIL.
class PythonBatchSampler : public data::BatchSampler {
 public:
  explicit PythonBatchSampler(nb::object batches) : batches_(std::move(batches)) {}
  ~PythonBatchSampler() override {
    nb::gil_scoped_acquire gil;
    batches_.reset();
  }
  int64_t size() const override {
    nb::gil_scoped_acquire gil;
    return static_cast<int64_t>(nb::len(batches_));
  }
  std::vector<std::vector<int64_t>> batches(uint64_t, uint64_t) const override {
    nb::gil_scoped_acquire gil;
    std::vector<std::vector<int64_t>> out;
    for (nb::handle batch : batches_) {
      std::vector<int64_t>& b = out.emplace_back();
      for (nb::handle i : batch) b.push_back(nb::cast<int64_t>(nb::int_(i)));
    }
    return out;
  }

 private:
  nb::object batches_;
};

// The C++ DataLoader with the GIL released while joining its workers.
class NativeLoader : public data::DataLoader {
 public:
  using DataLoader::DataLoader;
  ~NativeLoader() override {
    nb::gil_scoped_release release;
    stop();
  }
};

// A loader over a Python map-style dataset: a worker takes the GIL, calls dataset[i] for each
// index (inside the sample's SampleRngScope) and collate_fn on the list, and leaves the result in
// its slot.
class PyLoader : public EpochRunner {
 public:
  PyLoader(nb::object dataset, std::shared_ptr<data::BatchSampler> plan, nb::object collate, int num_workers,
           int prefetch_factor, uint64_t seed)
      : EpochRunner(num_workers, prefetch_factor, seed == 0 ? data::seed_from_global_generator() : seed),
        dataset_(std::move(dataset)),
        plan_(std::move(plan)),
        collate_(std::move(collate)),
        slots_(static_cast<size_t>(slot_count())) {
    LAMINA_CHECK(plan_ != nullptr, ValueError, "DataLoader", "the batch sampler is null");
  }
  ~PyLoader() override {
    nb::gil_scoped_release release;
    stop();
  }
  int64_t size() const { return plan_->size(); }
  // The current batch, moved out of its slot (the caller holds the GIL).
  nb::object take() { return std::move(slots_[static_cast<size_t>(current_slot())]); }
  // Tells the garbage collector about the Python objects held here (workers change slots only
  // while holding the GIL, which the collector holds), so a cycle through the loader (a
  // collate_fn or dataset that refers back to it) is found and freed.
  int traverse(visitproc visit, void* arg) const {
    Py_VISIT(dataset_.ptr());
    Py_VISIT(collate_.ptr());
    for (const nb::object& o : slots_) Py_VISIT(o.ptr());
    return 0;
  }

 protected:
  int64_t plan_epoch(int64_t epoch) override {
    plan_epoch_ = epoch;
    batches_ = plan_->batches(seed(), static_cast<uint64_t>(epoch));
    first_position_.assign(batches_.size(), 0);
    int64_t position = 0;
    for (size_t b = 0; b < batches_.size(); ++b) {
      first_position_[b] = position;
      position += static_cast<int64_t>(batches_[b].size());
    }
    return static_cast<int64_t>(batches_.size());
  }
  bool load_batch(int64_t batch, int slot) override {
    const std::vector<int64_t>& indices = batches_[static_cast<size_t>(batch)];
    const uint64_t key = data::SampleRng::key_for(static_cast<uint64_t>(plan_epoch_),
                                                  static_cast<uint64_t>(first_position_[static_cast<size_t>(batch)]));
    nb::gil_scoped_acquire gil;
    nb::list samples;
    for (size_t k = 0; k < indices.size(); ++k) {
      data::SampleRngScope scope(seed(), key + k);
      samples.append(nb::object(dataset_[nb::int_(indices[k])]));
    }
    slots_[static_cast<size_t>(slot)] = collate_(samples);
    return true;
  }
  void clear_slot(int slot) override {
    nb::gil_scoped_acquire gil;
    slots_[static_cast<size_t>(slot)].reset();
  }

 private:
  nb::object dataset_;
  std::shared_ptr<data::BatchSampler> plan_;
  nb::object collate_;
  std::vector<nb::object> slots_;
  int64_t plan_epoch_ = 0;
  std::vector<std::vector<int64_t>> batches_;
  std::vector<int64_t> first_position_;
};

int pyloader_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  return nb::inst_ptr<PyLoader>(self)->traverse(visit, arg);
}

PyType_Slot pyloader_slots[] = {{Py_tp_traverse, reinterpret_cast<void*>(pyloader_traverse)}, {0, nullptr}};

nb::object native_batch(NativeLoader& l, bool ok) {
  if (!ok) return nb::none();
  return nb::cast(l.current());
}

nb::object py_batch(PyLoader& l, bool ok) {
  if (!ok) return nb::none();
  return l.take();
}

void bind_datasets(nb::module_& sub) {
  nb::class_<data::Dataset>(sub, "Dataset", "A C++ map-style dataset (held by the Python dataset classes).")
      .def("__len__", &data::Dataset::size)
      .def("get", &data::Dataset::get, nb::arg("index"), "Example `index`: a list with one tensor per field.")
      .def("get_batch", &data::Dataset::get_batch, nb::arg("indices"), "The examples `indices`, collated.");
  nb::class_<data::TensorDataset, data::Dataset>(sub, "TensorDataset")
      .def(nb::init<std::vector<Tensor>>(), nb::arg("tensors"))
      .def_prop_ro("tensors", &data::TensorDataset::tensors);
  nb::class_<data::Subset, data::Dataset>(sub, "Subset")
      .def(nb::init<std::shared_ptr<data::Dataset>, std::vector<int64_t>>(), nb::arg("dataset"), nb::arg("indices"));
  nb::class_<data::ConcatDataset, data::Dataset>(sub, "ConcatDataset")
      .def(nb::init<std::vector<std::shared_ptr<data::Dataset>>>(), nb::arg("datasets"))
      .def_prop_ro("cumulative_sizes", &data::ConcatDataset::cumulative_sizes);
  sub.def("split_lengths", &data::split_lengths, nb::arg("size"), nb::arg("fractions"),
          "The split sizes of random_split for fractions summing to 1 (PyTorch's rule).");
  sub.def("random_permutation", &data::random_permutation, nb::arg("n"), nb::arg("seed"), nb::arg("stream"),
          "A random permutation of range(n), a pure function of (seed, stream).");
  sub.def("seed_from_global_generator", &data::seed_from_global_generator,
          "A non-zero seed drawn from the global generator (reproducible after manual_seed).");
  sub.def("default_collate", &data::default_collate, nb::arg("examples"),
          "Stacks field f of every example (a list of tensors) into batch field f.");
  sub.def("sample_uniform", [] { return data::current_sample_rng().uniform(); },
          "A float in [0, 1) from the current sample's random stream.");
  sub.def("sample_randint", [](int64_t n) { return data::current_sample_rng().randint(n); }, nb::arg("n"),
          "An int in [0, n) from the current sample's random stream.");
}

void bind_samplers(nb::module_& sub) {
  nb::class_<data::Sampler>(sub, "Sampler", "A C++ sampler: the indices of an epoch from (seed, epoch).")
      .def("__len__", &data::Sampler::size)
      .def("indices", &data::Sampler::indices, nb::arg("seed"), nb::arg("epoch"));
  nb::class_<data::SequentialSampler, data::Sampler>(sub, "SequentialSampler").def(nb::init<int64_t>(), nb::arg("n"));
  nb::class_<data::RandomSampler, data::Sampler>(sub, "RandomSampler")
      .def("__init__",
           [](data::RandomSampler* self, int64_t n, bool replacement, std::optional<int64_t> num_samples,
              const nb::object& seed) { new (self) data::RandomSampler(n, replacement, num_samples, optional_seed(seed)); },
           nb::arg("n"), nb::arg("replacement") = false, nb::arg("num_samples") = nb::none(),
           nb::arg("seed") = nb::none());
  nb::class_<data::SubsetRandomSampler, data::Sampler>(sub, "SubsetRandomSampler")
      .def("__init__",
           [](data::SubsetRandomSampler* self, std::vector<int64_t> indices, const nb::object& seed) {
             new (self) data::SubsetRandomSampler(std::move(indices), optional_seed(seed));
           },
           nb::arg("indices"), nb::arg("seed") = nb::none());
  nb::class_<data::DistributedSampler, data::Sampler>(sub, "DistributedSampler")
      .def(nb::init<int64_t, int64_t, int64_t, bool, uint64_t, bool>(), nb::arg("n"), nb::arg("num_replicas"),
           nb::arg("rank"), nb::arg("shuffle") = true, nb::arg("seed") = 0, nb::arg("drop_last") = false);
  nb::class_<data::WeightedRandomSampler, data::Sampler>(sub, "WeightedRandomSampler")
      .def("__init__",
           [](data::WeightedRandomSampler* self, std::vector<double> weights, int64_t num_samples, bool replacement,
              const nb::object& seed) {
             new (self) data::WeightedRandomSampler(std::move(weights), num_samples, replacement, optional_seed(seed));
           },
           nb::arg("weights"), nb::arg("num_samples"), nb::arg("replacement") = true, nb::arg("seed") = nb::none());
  nb::class_<data::BatchSampler>(sub, "BatchSampler")
      .def(nb::init<std::shared_ptr<data::Sampler>, int64_t, bool>(), nb::arg("sampler"), nb::arg("batch_size"),
           nb::arg("drop_last") = false)
      .def("__len__", &data::BatchSampler::size)
      .def("batches", &data::BatchSampler::batches, nb::arg("seed"), nb::arg("epoch"));
  nb::class_<PythonBatchSampler, data::BatchSampler>(sub, "PythonBatchSampler",
                                                     "A Python iterable of index lists as a loader's plan.")
      .def(nb::init<nb::object>(), nb::arg("batches"));
}

void bind_loaders(nb::module_& sub) {
  nb::class_<EpochRunner>(sub, "EpochRunner", "Epochs, ordered prefetch and resume of a loader.")
      .def("state", [](const EpochRunner& r) {
        const data::LoaderState s = r.state();
        return nb::make_tuple(s.seed, s.epoch, s.batches_consumed);
      }, "(seed, epoch, batches_consumed).")
      .def("load_state", [](EpochRunner& r, uint64_t seed, int64_t epoch, int64_t consumed) {
        nb::gil_scoped_release release;
        r.load_state({seed, epoch, consumed});
      }, nb::arg("seed"), nb::arg("epoch"), nb::arg("batches_consumed"))
      .def("stop", [](EpochRunner& r) {
        nb::gil_scoped_release release;
        r.stop();
      }, "Stops and joins the workers; the epoch stays in progress.")
      .def_prop_ro("seed", &EpochRunner::seed)
      .def_prop_ro("epoch", &EpochRunner::epoch)
      .def_prop_ro("num_workers", &EpochRunner::num_workers);

  nb::class_<NativeLoader, EpochRunner>(sub, "NativeLoader", "The C++ DataLoader over a C++ dataset.")
      .def("__init__",
           [](NativeLoader* self, std::shared_ptr<data::Dataset> dataset, int64_t batch_size, bool shuffle,
              bool drop_last, int num_workers, int prefetch_factor, uint64_t seed,
              std::shared_ptr<data::Sampler> sampler, std::shared_ptr<data::BatchSampler> batch_sampler,
              bool pin_memory) {
             data::DataLoaderOptions o;
             o.batch_size = batch_size;
             o.shuffle = shuffle;
             o.drop_last = drop_last;
             o.num_workers = num_workers;
             o.prefetch_factor = prefetch_factor;
             o.seed = seed;
             o.sampler = std::move(sampler);
             o.batch_sampler = std::move(batch_sampler);
             o.pin_memory = pin_memory;
             new (self) NativeLoader(std::move(dataset), std::move(o));
           },
           nb::arg("dataset"), nb::arg("batch_size"), nb::arg("shuffle"), nb::arg("drop_last"), nb::arg("num_workers"),
           nb::arg("prefetch_factor"), nb::arg("seed"), nb::arg("sampler").none(), nb::arg("batch_sampler").none(),
           nb::arg("pin_memory") = false)
      .def("__len__", &NativeLoader::size)
      .def("start", [](NativeLoader& l) {
        bool ok;
        {
          nb::gil_scoped_release release;
          ok = l.start();
        }
        return native_batch(l, ok);
      }, "Starts an epoch; its first batch (a list of tensors), or None.")
      .def("next", [](NativeLoader& l) {
        bool ok;
        {
          nb::gil_scoped_release release;
          ok = l.next();
        }
        return native_batch(l, ok);
      }, "The next batch, or None at the end of the epoch.");

  nb::class_<PyLoader, EpochRunner>(sub, "PyLoader", nb::type_slots(pyloader_slots),
                                    "A loader over a Python dataset and collate function.")
      .def(nb::init<nb::object, std::shared_ptr<data::BatchSampler>, nb::object, int, int, uint64_t>(),
           nb::arg("dataset"), nb::arg("batch_sampler"), nb::arg("collate_fn"), nb::arg("num_workers"),
           nb::arg("prefetch_factor"), nb::arg("seed"))
      .def("__len__", &PyLoader::size)
      .def("start", [](PyLoader& l) {
        bool ok;
        {
          nb::gil_scoped_release release;
          ok = l.start();
        }
        return py_batch(l, ok);
      }, "Starts an epoch; its first batch, or None.")
      .def("next", [](PyLoader& l) {
        bool ok;
        {
          nb::gil_scoped_release release;
          ok = l.next();
        }
        return py_batch(l, ok);
      }, "The next batch, or None at the end of the epoch.");
}

}  // namespace

void init_data(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_data", "Data readers, datasets, samplers and loaders (lamina.utils.data).");
  sub.def("read_idx", [](const std::string& path) { return data::read_idx(path); }, nb::arg("path"),
          "Reads an IDX file (MNIST format, raw or gzipped) into a tensor of its element type.");
  bind_datasets(sub);
  bind_samplers(sub);
  bind_loaders(sub);
}

}  // namespace lamina::python
