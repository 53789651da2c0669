// Convolution and pooling functions (torch.conv2d, torch.nn.functional.max_pool2d, ...).
#include "bind.h"
#include "lamina/ops/conv.h"
#include "lamina/ops/norm.h"

namespace lamina::python {
namespace {

// An int or a pair of ints, as PyTorch's conv/pool arguments accept.
Pair to_pair(nb::handle h, const char* what) {
  if (PyLong_Check(h.ptr())) {
    const int64_t v = nb::cast<int64_t>(h);
    return {v, v};
  }
  std::vector<int64_t> v = to_int_list(h);
  LAMINA_CHECK(v.size() == 2 || v.size() == 1, ShapeError, what, "expected an int or a pair of ints, got ", v.size(),
               " values");
  return v.size() == 1 ? Pair{v[0], v[0]} : Pair{v[0], v[1]};
}

}  // namespace

void init_conv(nb::module_& m) {
  m.def("conv2d", [](const Tensor& x, const Tensor& w, nb::handle bias, nb::handle stride, nb::handle padding,
                     nb::handle dilation, int64_t groups) {
    return conv2d(x, w, bias.is_none() ? Tensor() : nb::cast<Tensor>(bias), to_pair(stride, "conv2d"),
                  to_pair(padding, "conv2d"), to_pair(dilation, "conv2d"), groups);
  }, nb::arg("input"), nb::arg("weight"), nb::arg("bias") = nb::none(), nb::arg("stride") = 1, nb::arg("padding") = 0,
     nb::arg("dilation") = 1, nb::arg("groups") = 1, "2-d convolution of (N, C, H, W) input.");
  m.def("conv1d", [](const Tensor& x, const Tensor& w, nb::handle bias, int64_t stride, int64_t padding,
                     int64_t dilation, int64_t groups) {
    return conv1d(x, w, bias.is_none() ? Tensor() : nb::cast<Tensor>(bias), stride, padding, dilation, groups);
  }, nb::arg("input"), nb::arg("weight"), nb::arg("bias") = nb::none(), nb::arg("stride") = 1, nb::arg("padding") = 0,
     nb::arg("dilation") = 1, nb::arg("groups") = 1, "1-d convolution of (N, C, L) input.");
  m.def("conv_transpose2d", [](const Tensor& x, const Tensor& w, nb::handle bias, nb::handle stride, nb::handle padding,
                               nb::handle output_padding, int64_t groups, nb::handle dilation) {
    return conv_transpose2d(x, w, bias.is_none() ? Tensor() : nb::cast<Tensor>(bias), to_pair(stride, "conv_transpose2d"),
                            to_pair(padding, "conv_transpose2d"), to_pair(output_padding, "conv_transpose2d"), groups,
                            to_pair(dilation, "conv_transpose2d"));
  }, nb::arg("input"), nb::arg("weight"), nb::arg("bias") = nb::none(), nb::arg("stride") = 1, nb::arg("padding") = 0,
     nb::arg("output_padding") = 0, nb::arg("groups") = 1, nb::arg("dilation") = 1,
     "Transposed 2-d convolution (weight: in_channels, out_channels/groups, kH, kW).");
  m.def("max_pool2d", [](const Tensor& x, nb::handle kernel, nb::handle stride, nb::handle padding, nb::handle dilation) {
    const Pair k = to_pair(kernel, "max_pool2d");
    return max_pool2d(x, k, stride.is_none() ? k : to_pair(stride, "max_pool2d"), to_pair(padding, "max_pool2d"),
                      to_pair(dilation, "max_pool2d"));
  }, nb::arg("input"), nb::arg("kernel_size"), nb::arg("stride") = nb::none(), nb::arg("padding") = 0,
     nb::arg("dilation") = 1, "Max over kernel windows (stride defaults to the kernel size).");
  m.def("avg_pool2d", [](const Tensor& x, nb::handle kernel, nb::handle stride, nb::handle padding,
                         bool count_include_pad) {
    const Pair k = to_pair(kernel, "avg_pool2d");
    return avg_pool2d(x, k, stride.is_none() ? k : to_pair(stride, "avg_pool2d"), to_pair(padding, "avg_pool2d"),
                      count_include_pad);
  }, nb::arg("input"), nb::arg("kernel_size"), nb::arg("stride") = nb::none(), nb::arg("padding") = 0,
     nb::arg("count_include_pad") = true, "Mean over kernel windows (stride defaults to the kernel size).");
  m.def("batch_norm", [](const Tensor& x, nb::handle rm, nb::handle rv, nb::handle w, nb::handle b, bool training,
                         double momentum, double eps) {
    auto opt = [](nb::handle h) { return h.is_none() ? Tensor() : nb::cast<Tensor>(h); };
    return batch_norm(x, opt(rm), opt(rv), opt(w), opt(b), training, momentum, eps);
  }, nb::arg("input"), nb::arg("running_mean").none(), nb::arg("running_var").none(), nb::arg("weight") = nb::none(),
     nb::arg("bias") = nb::none(), nb::arg("training") = false, nb::arg("momentum") = 0.1, nb::arg("eps") = 1e-5,
     "Per-channel normalization with batch or running statistics (running ones updated in training).");
  m.def("adaptive_avg_pool2d", [](const Tensor& x, nb::handle size) {
    return adaptive_avg_pool2d(x, to_pair(size, "adaptive_avg_pool2d"));
  }, nb::arg("input"), nb::arg("output_size"), "Mean over adaptive bins giving output_size.");
}

}  // namespace lamina::python
