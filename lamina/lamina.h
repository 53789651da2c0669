#pragma once
// The whole public C++ API of lamina.
#include "lamina/core/device.h"
#include "lamina/core/dtype.h"
#include "lamina/core/error.h"
#include "lamina/core/scalar.h"
#include "lamina/core/shape.h"
#include "lamina/core/tensor.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/runtime/allocator.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/dispatch.h"
