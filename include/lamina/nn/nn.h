#pragma once
// Umbrella header of lamina::nn: modules, layers, losses, functional and init.
#include "lamina/nn/activation.h"
#include "lamina/nn/attention.h"
#include "lamina/nn/container.h"
#include "lamina/nn/conv.h"
#include "lamina/nn/functional.h"
#include "lamina/nn/init.h"
#include "lamina/nn/layers.h"
#include "lamina/nn/loss.h"
#include "lamina/nn/module.h"
#include "lamina/nn/rnn.h"
#include "lamina/nn/utils.h"
