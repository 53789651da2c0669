// lamina.optim (optimizers, lr_scheduler) and lamina.nn.utils (gradient clipping): argument
// conversion only; param_groups are live views of the C++ groups, so `group["lr"] = x` is
// used at the next step.
#include <nanobind/stl/map.h>
#include <nanobind/stl/shared_ptr.h>

#include "bind.h"
#include "lamina/nn/utils.h"
#include "lamina/optim/lr_scheduler.h"
#include "lamina/optim/optimizer.h"

namespace lamina::python {
namespace {

using namespace lamina::optim;

nb::object from_value(const OptionValue& v) {
  if (const bool* b = std::get_if<bool>(&v)) return nb::bool_(*b);
  if (const int64_t* i = std::get_if<int64_t>(&v)) return nb::int_(*i);
  if (const double* d = std::get_if<double>(&v)) return nb::float_(*d);
  if (const std::string* s = std::get_if<std::string>(&v)) return nb::str(s->c_str());
  nb::list out;
  for (double d : std::get<std::vector<double>>(v)) out.append(nb::float_(d));
  return nb::tuple(out);
}

OptionValue to_value(nb::handle h, const std::string& key) {
  if (PyBool_Check(h.ptr())) return nb::cast<bool>(h);
  if (PyLong_Check(h.ptr())) return nb::cast<int64_t>(h);
  if (PyFloat_Check(h.ptr())) return nb::cast<double>(h);
  if (nb::isinstance<nb::str>(h)) return nb::cast<std::string>(h);
  if (PySequence_Check(h.ptr())) {
    std::vector<double> v;
    for (nb::handle x : h) v.push_back(nb::cast<double>(x));
    return v;
  }
  if (is_number(h)) return nb::cast<double>(h);
  LAMINA_THROW(ConfigError, "optim", "option '", key, "' must be a bool, number, string or tuple of numbers");
}

std::vector<Tensor> to_tensors(nb::handle h) {
  std::vector<Tensor> out;
  if (nb::isinstance<Tensor>(h)) {
    out.push_back(nb::cast<Tensor>(h));
    return out;
  }
  for (nb::handle x : h) {
    LAMINA_CHECK(nb::isinstance<Tensor>(x), ValueError, "optim", "parameters must be lamina Tensors, got ",
                 nb::cast<std::string>(nb::str(x.type())));
    out.push_back(nb::cast<Tensor>(x));
  }
  return out;
}

ParamGroup to_group(nb::handle d) {
  nb::dict dict = nb::cast<nb::dict>(d);
  LAMINA_CHECK(dict.contains("params"), ValueError, "optim", "a parameter group needs a 'params' entry");
  ParamGroup g;
  for (auto [k, v] : dict) {
    std::string key = nb::cast<std::string>(k);
    if (key == "params")
      g.params = to_tensors(v);
    else
      g.options[key] = to_value(v, key);
  }
  return g;
}

std::vector<ParamGroup> to_groups(nb::handle params) {
  LAMINA_CHECK(!nb::isinstance<Tensor>(params), ValueError, "optim",
               "params argument given to the optimizer should be an iterable of Tensors or dicts, but got a Tensor");
  std::vector<ParamGroup> groups;
  std::vector<Tensor> plain;
  for (nb::handle x : params) {
    if (nb::isinstance<nb::dict>(x))
      groups.push_back(to_group(x));
    else
      plain.push_back(nb::cast<Tensor>(x));
  }
  LAMINA_CHECK(groups.empty() || plain.empty(), ValueError, "optim", "params mixes tensors and group dicts");
  if (groups.empty()) groups.push_back({std::move(plain), {}});
  return groups;
}

nb::dict options_dict(const Options& o) {
  nb::dict d;
  for (const auto& [k, v] : o) d[k.c_str()] = from_value(v);
  return d;
}

Options to_options(nb::handle d, bool skip_params) {
  Options o;
  for (auto [k, v] : nb::cast<nb::dict>(d)) {
    std::string key = nb::cast<std::string>(k);
    if (skip_params && key == "params") continue;
    o[key] = to_value(v, key);
  }
  return o;
}

nb::dict state_dict_to_py(const StateDict& sd) {
  nb::dict state;
  for (const auto& [idx, ps] : sd.state) {
    nb::dict entry;
    for (const auto& [k, t] : ps) entry[k.c_str()] = t.defined() ? nb::cast(t) : nb::none();
    state[nb::int_(idx)] = entry;
  }
  nb::list groups;
  for (const GroupState& g : sd.param_groups) {
    nb::dict d = options_dict(g.options);
    nb::list ids;
    for (int64_t i : g.params) ids.append(nb::int_(i));
    d["params"] = ids;
    groups.append(d);
  }
  nb::dict out;
  out["state"] = state;
  out["param_groups"] = groups;
  return out;
}

StateDict state_dict_from_py(nb::handle h) {
  nb::dict d = nb::cast<nb::dict>(h);
  StateDict sd;
  for (auto [k, v] : nb::cast<nb::dict>(d["state"])) {
    ParamState ps;
    for (auto [name, t] : nb::cast<nb::dict>(v)) {
      std::string key = nb::cast<std::string>(name);
      if (t.is_none())
        ps[key] = Tensor();
      else if (nb::isinstance<Tensor>(t))
        ps[key] = nb::cast<Tensor>(t);
      else
        ps[key] = scalar_tensor(to_scalar(t));
    }
    sd.state[nb::cast<int64_t>(k)] = std::move(ps);
  }
  for (nb::handle g : nb::cast<nb::list>(d["param_groups"])) {
    GroupState gs{to_options(g, true), {}};
    for (nb::handle i : nb::cast<nb::dict>(g)["params"]) gs.params.push_back(nb::cast<int64_t>(i));
    sd.param_groups.push_back(std::move(gs));
  }
  return sd;
}

nb::dict sched_to_py(const SchedulerState& s) {
  nb::dict d = options_dict(s.values);
  for (auto [k, v] : nb::dict(d))  // schedulers keep lists (base_lrs, milestones) as PyTorch does
    if (nb::isinstance<nb::tuple>(v)) d[k] = nb::list(v);
  if (!s.schedulers.empty()) {
    nb::list l;
    for (const auto& c : s.schedulers) l.append(sched_to_py(c));
    d["_schedulers"] = l;
  }
  return d;
}

SchedulerState sched_from_py(nb::handle h) {
  SchedulerState s;
  for (auto [k, v] : nb::cast<nb::dict>(h)) {
    std::string key = nb::cast<std::string>(k);
    if (key == "_schedulers") {
      for (nb::handle c : v) s.schedulers.push_back(sched_from_py(c));
    } else if (!v.is_none()) {
      s.values[key] = to_value(v, key);
    }
  }
  return s;
}

/// A live view of one param group (a mutable mapping like PyTorch's group dict).
struct GroupView {
  Optimizer* opt;
  size_t index;
  nb::object owner;  // keeps the optimizer alive
  ParamGroup& group() const {
    LAMINA_CHECK(index < opt->param_groups().size(), IndexError, "optim", "param group ", index, " no longer exists");
    return opt->param_groups()[index];
  }
};

nb::list group_params(const ParamGroup& g) {
  nb::list l;
  for (const Tensor& t : g.params) l.append(nb::cast(t));
  return l;
}

std::vector<double> to_doubles(nb::handle h) {
  std::vector<double> v;
  if (is_number(h)) {
    v.push_back(nb::cast<double>(h));
  } else {
    for (nb::handle x : h) v.push_back(nb::cast<double>(x));
  }
  return v;
}

std::vector<Tensor> clip_params(nb::handle h) { return to_tensors(h); }

}  // namespace

void init_optim(nb::module_& m) {
  nb::module_ optim = m.def_submodule("optim", "Optimizers (PyTorch's torch.optim)");

  nb::class_<GroupView>(optim, "ParamGroup", "A live view of one parameter group (a mutable mapping).")
      .def("__getitem__",
           [](const GroupView& v, const std::string& key) -> nb::object {
             const ParamGroup& g = v.group();
             if (key == "params") return group_params(g);
             auto it = g.options.find(key);
             if (it == g.options.end()) throw nb::key_error(key.c_str());
             return from_value(it->second);
           })
      .def("__setitem__",
           [](GroupView& v, const std::string& key, nb::handle value) {
             if (key == "params")
               v.group().params = to_tensors(value);
             else
               v.group().options[key] = to_value(value, key);
           })
      .def("__delitem__",
           [](GroupView& v, const std::string& key) {
             if (!v.group().options.erase(key)) throw nb::key_error(key.c_str());
           })
      .def("__contains__", [](const GroupView& v, const std::string& key) {
        return key == "params" || v.group().options.count(key) > 0;
      })
      .def("__len__", [](const GroupView& v) { return v.group().options.size() + 1; })
      .def("keys",
           [](const GroupView& v) {
             nb::list l;
             l.append(nb::str("params"));
             for (const auto& [k, _] : v.group().options) l.append(nb::str(k.c_str()));
             return l;
           })
      .def("__iter__",
           [](const GroupView& v) {
             nb::list l;
             l.append(nb::str("params"));
             for (const auto& [k, _] : v.group().options) l.append(nb::str(k.c_str()));
             return nb::iter(l);
           })
      .def("__repr__", [](const GroupView& v) {
        nb::dict d = options_dict(v.group().options);
        d["params"] = group_params(v.group());
        return nb::repr(d);
      });

  nb::class_<Optimizer>(optim, "Optimizer", "Base class of the optimizers.")
      .def(
          "step",
          [](Optimizer& o, nb::object closure) {
            nb::object loss = nb::none();
            if (!closure.is_none()) loss = closure();
            o.step();
            return loss;
          },
          nb::arg("closure") = nb::none(), "Updates the parameters that have gradients (one fused kernel each).")
      .def("zero_grad", &Optimizer::zero_grad, nb::arg("set_to_none") = true,
           "Clears the gradients (set_to_none) or zeroes them.")
      .def("state_dict", [](const Optimizer& o) { return state_dict_to_py(o.state_dict()); },
           "{'state': {index: {name: tensor}}, 'param_groups': [{..., 'params': [indices]}]} (PyTorch's layout).")
      .def("load_state_dict", [](Optimizer& o, nb::handle d) { o.load_state_dict(state_dict_from_py(d)); },
           nb::arg("state_dict"), "Restores state and hyper-parameters from state_dict().")
      .def("add_param_group", [](Optimizer& o, nb::handle d) { o.add_param_group(to_group(d)); },
           nb::arg("param_group"), "Adds a group (a dict with 'params' and any options).")
      .def_prop_ro(
          "param_groups",
          [](nb::handle self) {
            Optimizer& o = nb::cast<Optimizer&>(self);
            nb::list l;
            for (size_t i = 0; i < o.param_groups().size(); ++i)
              l.append(nb::cast(GroupView{&o, i, nb::borrow(self)}));
            return l;
          },
          "Live views of the groups: `group['lr'] = x` takes effect at the next step.")
      .def_prop_ro("defaults", [](const Optimizer& o) { return options_dict(o.defaults()); })
      .def("__repr__", [](const Optimizer& o) { return o.name() + "(" + std::to_string(o.param_groups().size()) + " groups)"; });

  nb::class_<SGD, Optimizer>(optim, "SGD", "Stochastic gradient descent (momentum, dampening, nesterov, weight_decay).")
      .def(
          "__init__",
          [](SGD* self, nb::handle params, double lr, double momentum, double dampening, double weight_decay,
             bool nesterov, bool maximize) {
            new (self) SGD(to_groups(params), SGDOptions{lr, momentum, dampening, weight_decay, nesterov, maximize});
          },
          nb::arg("params"), nb::arg("lr"), nb::arg("momentum") = 0.0, nb::arg("dampening") = 0.0,
          nb::arg("weight_decay") = 0.0, nb::arg("nesterov") = false, nb::kw_only(), nb::arg("maximize") = false);

  auto adam_init = [](auto* self, nb::handle params, double lr, std::pair<double, double> betas, double eps,
                      double weight_decay, bool amsgrad, bool maximize) {
    using T = std::remove_pointer_t<decltype(self)>;
    new (self) T(to_groups(params), AdamOptions{lr, betas.first, betas.second, eps, weight_decay, amsgrad, maximize});
  };
  nb::class_<Adam, Optimizer>(optim, "Adam", "Adam (L2 weight decay in the gradient; amsgrad).")
      .def(
          "__init__",
          [adam_init](Adam* self, nb::handle params, double lr, std::pair<double, double> betas, double eps,
                      double weight_decay, bool amsgrad, bool maximize) {
            adam_init(self, params, lr, betas, eps, weight_decay, amsgrad, maximize);
          },
          nb::arg("params"), nb::arg("lr") = 1e-3, nb::arg("betas") = std::make_pair(0.9, 0.999),
          nb::arg("eps") = 1e-8, nb::arg("weight_decay") = 0.0, nb::arg("amsgrad") = false, nb::kw_only(),
          nb::arg("maximize") = false);
  nb::class_<AdamW, Adam>(optim, "AdamW", "AdamW (decoupled weight decay).")
      .def(
          "__init__",
          [adam_init](AdamW* self, nb::handle params, double lr, std::pair<double, double> betas, double eps,
                      double weight_decay, bool amsgrad, bool maximize) {
            adam_init(self, params, lr, betas, eps, weight_decay, amsgrad, maximize);
          },
          nb::arg("params"), nb::arg("lr") = 1e-3, nb::arg("betas") = std::make_pair(0.9, 0.999),
          nb::arg("eps") = 1e-8, nb::arg("weight_decay") = 1e-2, nb::arg("amsgrad") = false, nb::kw_only(),
          nb::arg("maximize") = false);
  nb::class_<RMSprop, Optimizer>(optim, "RMSprop", "RMSprop (alpha, momentum, centered).")
      .def(
          "__init__",
          [](RMSprop* self, nb::handle params, double lr, double alpha, double eps, double weight_decay,
             double momentum, bool centered, bool maximize) {
            new (self) RMSprop(to_groups(params),
                               RMSpropOptions{lr, alpha, eps, weight_decay, momentum, centered, maximize});
          },
          nb::arg("params"), nb::arg("lr") = 1e-2, nb::arg("alpha") = 0.99, nb::arg("eps") = 1e-8,
          nb::arg("weight_decay") = 0.0, nb::arg("momentum") = 0.0, nb::arg("centered") = false, nb::kw_only(),
          nb::arg("maximize") = false);
  nb::class_<Adagrad, Optimizer>(optim, "Adagrad", "Adagrad (lr_decay, initial_accumulator_value).")
      .def(
          "__init__",
          [](Adagrad* self, nb::handle params, double lr, double lr_decay, double weight_decay,
             double initial_accumulator_value, double eps, bool maximize) {
            new (self) Adagrad(to_groups(params),
                               AdagradOptions{lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize});
          },
          nb::arg("params"), nb::arg("lr") = 1e-2, nb::arg("lr_decay") = 0.0, nb::arg("weight_decay") = 0.0,
          nb::arg("initial_accumulator_value") = 0.0, nb::arg("eps") = 1e-10, nb::kw_only(),
          nb::arg("maximize") = false);

  nb::class_<Adadelta, Optimizer>(optim, "Adadelta", "Adadelta (rho, eps).")
      .def(
          "__init__",
          [](Adadelta* self, nb::handle params, double lr, double rho, double eps, double weight_decay, bool maximize) {
            new (self) Adadelta(to_groups(params), AdadeltaOptions{lr, rho, eps, weight_decay, maximize});
          },
          nb::arg("params"), nb::arg("lr") = 1.0, nb::arg("rho") = 0.9, nb::arg("eps") = 1e-6,
          nb::arg("weight_decay") = 0.0, nb::kw_only(), nb::arg("maximize") = false);

  nb::module_ sched = optim.def_submodule("lr_scheduler", "Learning-rate schedulers (torch.optim.lr_scheduler)");
  nb::class_<LRScheduler>(sched, "LRScheduler", "Base class of the schedulers.")
      .def("step", &LRScheduler::step, "Advances one step and sets each group's lr.")
      .def("get_last_lr", &LRScheduler::get_last_lr, "The lr of each group after the last step.")
      .def_prop_ro("last_epoch", &LRScheduler::last_epoch)
      .def_prop_ro("base_lrs", &LRScheduler::base_lrs)
      .def("state_dict", [](const LRScheduler& s) { return sched_to_py(s.state_dict()); })
      .def("load_state_dict", [](LRScheduler& s, nb::handle d) { s.load_state_dict(sched_from_py(d)); },
           nb::arg("state_dict"));
  nb::class_<StepLR, LRScheduler>(sched, "StepLR", "lr *= gamma every step_size epochs.")
      .def(nb::init<Optimizer&, int64_t, double, int64_t>(), nb::arg("optimizer"), nb::arg("step_size"),
           nb::arg("gamma") = 0.1, nb::arg("last_epoch") = -1, nb::keep_alive<1, 2>());
  nb::class_<MultiStepLR, LRScheduler>(sched, "MultiStepLR", "lr *= gamma at each milestone.")
      .def(nb::init<Optimizer&, std::vector<int64_t>, double, int64_t>(), nb::arg("optimizer"), nb::arg("milestones"),
           nb::arg("gamma") = 0.1, nb::arg("last_epoch") = -1, nb::keep_alive<1, 2>());
  nb::class_<ExponentialLR, LRScheduler>(sched, "ExponentialLR", "lr *= gamma every epoch.")
      .def(nb::init<Optimizer&, double, int64_t>(), nb::arg("optimizer"), nb::arg("gamma"),
           nb::arg("last_epoch") = -1, nb::keep_alive<1, 2>());
  nb::class_<CosineAnnealingLR, LRScheduler>(sched, "CosineAnnealingLR", "Cosine annealing to eta_min over T_max.")
      .def(nb::init<Optimizer&, int64_t, double, int64_t>(), nb::arg("optimizer"), nb::arg("T_max"),
           nb::arg("eta_min") = 0.0, nb::arg("last_epoch") = -1, nb::keep_alive<1, 2>());
  nb::class_<LinearLR, LRScheduler>(sched, "LinearLR", "Linear lr factor from start_factor to end_factor (warm-up).")
      .def(nb::init<Optimizer&, double, double, int64_t, int64_t>(), nb::arg("optimizer"),
           nb::arg("start_factor") = 1.0 / 3.0, nb::arg("end_factor") = 1.0, nb::arg("total_iters") = 5,
           nb::arg("last_epoch") = -1, nb::keep_alive<1, 2>());
  nb::class_<OneCycleLR, LRScheduler>(sched, "OneCycleLR", "The 1cycle policy (lr and momentum/beta1).")
      .def(
          "__init__",
          [](OneCycleLR* self, Optimizer& opt, nb::handle max_lr, std::optional<int64_t> total_steps,
             std::optional<int64_t> epochs, std::optional<int64_t> steps_per_epoch, double pct_start,
             const std::string& anneal_strategy, bool cycle_momentum, nb::handle base_momentum,
             nb::handle max_momentum, double div_factor, double final_div_factor, bool three_phase,
             int64_t last_epoch) {
            OneCycleLROptions o;
            o.max_lr = to_doubles(max_lr);
            o.total_steps = total_steps;
            o.epochs = epochs;
            o.steps_per_epoch = steps_per_epoch;
            o.pct_start = pct_start;
            o.anneal_strategy = anneal_strategy;
            o.cycle_momentum = cycle_momentum;
            o.base_momentum = to_doubles(base_momentum);
            o.max_momentum = to_doubles(max_momentum);
            o.div_factor = div_factor;
            o.final_div_factor = final_div_factor;
            o.three_phase = three_phase;
            o.last_epoch = last_epoch;
            new (self) OneCycleLR(opt, o);
          },
          nb::arg("optimizer"), nb::arg("max_lr"), nb::arg("total_steps") = nb::none(), nb::arg("epochs") = nb::none(),
          nb::arg("steps_per_epoch") = nb::none(), nb::arg("pct_start") = 0.3, nb::arg("anneal_strategy") = "cos",
          nb::arg("cycle_momentum") = true, nb::arg("base_momentum").none() = nb::float_(0.85),
          nb::arg("max_momentum") = nb::float_(0.95), nb::arg("div_factor") = 25.0,
          nb::arg("final_div_factor") = 1e4, nb::arg("three_phase") = false, nb::arg("last_epoch") = -1,
          nb::keep_alive<1, 2>());
  nb::class_<SequentialLR, LRScheduler>(sched, "SequentialLR", "Schedulers one after another, switching at milestones.")
      .def(nb::init<Optimizer&, std::vector<std::shared_ptr<LRScheduler>>, std::vector<int64_t>, int64_t>(),
           nb::arg("optimizer"), nb::arg("schedulers"), nb::arg("milestones"), nb::arg("last_epoch") = -1,
           nb::keep_alive<1, 2>(), nb::keep_alive<1, 3>());

  nb::module_ nn = m.def_submodule("nn", "Neural-network building blocks");
  nb::module_ utils = nn.def_submodule("utils", "Gradient clipping (torch.nn.utils)");
  utils.def(
      "clip_grad_norm_",
      [](nb::handle params, double max_norm, double norm_type, bool error_if_nonfinite) {
        return nn::utils::clip_grad_norm_(clip_params(params), max_norm, norm_type, error_if_nonfinite);
      },
      nb::arg("parameters"), nb::arg("max_norm"), nb::arg("norm_type") = 2.0, nb::arg("error_if_nonfinite") = false,
      "Scales the gradients so their joint norm is at most max_norm; returns the total norm.");
  utils.def(
      "clip_grad_value_", [](nb::handle params, double clip_value) { nn::utils::clip_grad_value_(clip_params(params), clip_value); },
      nb::arg("parameters"), nb::arg("clip_value"), "Clamps every gradient into [-clip_value, clip_value].");
}

}  // namespace lamina::python
