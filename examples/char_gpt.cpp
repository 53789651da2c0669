// Trains a small character-level GPT on any text file with lamina's C++ API, then samples from it:
//   build/.../lamina_char_gpt --steps 200 --prompt "This program"
// Token + position embeddings, pre-LayerNorm blocks (causal self-attention, GELU MLP), AdamW on
// random windows of the text, which is read as bytes through a memory map (data::read_tokens).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lamina/data/tokens.h"
#include "lamina/lamina.h"
#include "lamina/nn/nn.h"
#include "lamina/optim/optimizer.h"
#include "lamina/runtime/log.h"
#include "lamina/train/csv_logger.h"
#include "lamina/train/summary_writer.h"

using namespace lamina;
namespace F = lamina::nn::functional;

namespace {

struct Args {
  std::string text = "/usr/share/common-licenses/GPL-3";  // in base-files: on every Debian system
  int64_t steps = 300, batch_size = 32, context = 128, width = 128, layers = 4, heads = 4, log_every = 10;
  int64_t sample_len = 200;
  double lr = 3e-3;
  uint64_t seed = 0;
  std::string prompt = "The ";
  std::string log_dir;  // TensorBoard event files + metrics.csv
};

Args parse(int argc, char** argv) {
  Args a;
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key == "--help" || key == "-h" || i + 1 >= argc || key.rfind("--", 0) != 0) {
      std::cout << "usage: " << argv[0]
                << " [--text PATH] [--steps N] [--batch-size N] [--context N] [--width N] [--layers N] [--heads N]"
                   " [--lr X] [--seed N] [--log-every N] [--prompt TEXT] [--sample-len N] [--log-dir DIR]\n";
      std::exit(key == "--help" || key == "-h" ? 0 : 2);
    }
    kv[key.substr(2)] = argv[++i];
  }
  for (const auto& [k, v] : kv) {
    if (k == "text")
      a.text = v;
    else if (k == "steps")
      a.steps = std::stoll(v);
    else if (k == "batch-size")
      a.batch_size = std::stoll(v);
    else if (k == "context")
      a.context = std::stoll(v);
    else if (k == "width")
      a.width = std::stoll(v);
    else if (k == "layers")
      a.layers = std::stoll(v);
    else if (k == "heads")
      a.heads = std::stoll(v);
    else if (k == "log-every")
      a.log_every = std::max<int64_t>(1, std::stoll(v));
    else if (k == "sample-len")
      a.sample_len = std::stoll(v);
    else if (k == "lr")
      a.lr = std::stod(v);
    else if (k == "seed")
      a.seed = std::stoull(v);
    else if (k == "prompt")
      a.prompt = v;
    else if (k == "log-dir")
      a.log_dir = v;
    else {
      std::cerr << "unknown option --" << k << "\n";
      std::exit(2);
    }
  }
  return a;
}

// Pre-LayerNorm block: x + attn(ln1(x)), then x + mlp(ln2(x)). Attention is written with one
// fused qkv projection, matmul and softmax, which measured faster here than nn::MultiheadAttention.
class Block : public nn::Module {
 public:
  Block(int64_t width, int64_t heads) : Module("Block"), heads_(heads) {
    ln1_ = register_module("ln1", std::make_shared<nn::LayerNorm>(std::vector<int64_t>{width}));
    qkv_ = register_module("qkv", std::make_shared<nn::Linear>(width, 3 * width));
    proj_ = register_module("proj", std::make_shared<nn::Linear>(width, width));
    ln2_ = register_module("ln2", std::make_shared<nn::LayerNorm>(std::vector<int64_t>{width}));
    fc_ = register_module("fc", std::make_shared<nn::Linear>(width, 4 * width));
    out_ = register_module("out", std::make_shared<nn::Linear>(4 * width, width));
  }

  Tensor run(const Tensor& x, const Tensor& mask) {
    const int64_t b = x.size(0), t = x.size(1), c = x.size(2), d = c / heads_;
    const std::vector<Tensor> qkv = unbind((*qkv_)((*ln1_)(x)).reshape({b, t, 3, heads_, d}).permute({2, 0, 3, 1, 4}));
    Tensor att = matmul(qkv[0], qkv[1].transpose(-2, -1)) * Scalar(1.0 / std::sqrt(static_cast<double>(d)));
    att = softmax(masked_fill(att, mask, Scalar(-INFINITY)), -1);
    const Tensor y = matmul(att, qkv[2]).transpose(1, 2).reshape({b, t, c});
    const Tensor h = x + (*proj_)(y);
    return h + (*out_)(gelu((*fc_)((*ln2_)(h))));
  }

 private:
  int64_t heads_;
  std::shared_ptr<nn::LayerNorm> ln1_, ln2_;
  std::shared_ptr<nn::Linear> qkv_, proj_, fc_, out_;
};

class CharGPT : public nn::Module {
 public:
  CharGPT(int64_t vocab, const Args& a) : Module("CharGPT"), context(a.context) {
    tok_ = register_module("tok", std::make_shared<nn::Embedding>(vocab, a.width));
    pos_ = register_module("pos", std::make_shared<nn::Embedding>(a.context, a.width));
    auto list = register_module("blocks", std::make_shared<nn::ModuleList>());  // names blocks.0.* as in PyTorch
    for (int64_t i = 0; i < a.layers; ++i) {
      blocks_.push_back(std::make_shared<Block>(a.width, a.heads));
      list->append(blocks_.back());
    }
    ln_ = register_module("ln", std::make_shared<nn::LayerNorm>(std::vector<int64_t>{a.width}));
    head_ = register_module("head", std::make_shared<nn::Linear>(a.width, vocab));
    mask_ = triu(ones({a.context, a.context}, {Dtype::Bool, kCPU}), 1);
    positions_ = arange(Scalar(a.context));
  }

  Tensor forward(const Tensor& idx) override {
    const int64_t t = idx.size(1);
    Tensor x = (*tok_)(idx) + (*pos_)(positions_.narrow(0, 0, t));
    const Tensor mask = mask_.narrow(0, 0, t).narrow(1, 0, t);
    for (const auto& block : blocks_) x = block->run(x, mask);
    return (*head_)((*ln_)(x));
  }

  int64_t context;

 private:
  std::shared_ptr<nn::Embedding> tok_, pos_;
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<nn::LayerNorm> ln_;
  std::shared_ptr<nn::Linear> head_;
  Tensor mask_, positions_;
};

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    manual_seed(args.seed);
    const Tensor raw = data::read_tokens(args.text, "uint8");  // zero-copy view of the file
    if (raw.numel() < 2) throw ValueError("char_gpt", args.text + ": need at least 2 bytes of text");
    std::vector<unsigned char> symbols;
    std::vector<int64_t> table(256, -1);
    const auto* bytes = raw.data<uint8_t>();
    for (int64_t i = 0; i < raw.numel(); ++i) table[bytes[i]] = 0;
    for (int s = 0; s < 256; ++s)
      if (table[static_cast<size_t>(s)] == 0)
        table[static_cast<size_t>(s)] = static_cast<int64_t>(symbols.size()),
        symbols.push_back(static_cast<unsigned char>(s));
    const auto vocab = static_cast<int64_t>(symbols.size());
    const Tensor ids = index_select(tensor(table), 0, raw.to(Dtype::Int64));
    Args a = args;
    a.context = std::min(args.context, ids.numel() - 1);
    auto model = std::make_shared<CharGPT>(vocab, a);
    int64_t n_params = 0;
    for (const Tensor& p : model->parameters()) n_params += p.numel();
    std::cout << args.text << ": " << ids.numel() << " bytes, " << vocab << " symbols; model " << n_params
              << " parameters\n";
    optim::AdamOptions opt_options;
    opt_options.lr = args.lr;
    opt_options.weight_decay = 0.01;
    optim::AdamW opt(model->parameters(), opt_options);
    const Tensor offsets = arange(Scalar(a.context + 1));
    std::unique_ptr<train::SummaryWriter> writer;
    std::unique_ptr<train::CSVLogger> csv;
    if (!args.log_dir.empty()) {
      writer = std::make_unique<train::SummaryWriter>(args.log_dir);
      csv = std::make_unique<train::CSVLogger>(args.log_dir + "/metrics.csv", false,
                                               std::vector<std::string>{"loss", "ms_per_step"});
    }
    std::vector<double> times;
    double last_loss = 0;
    for (int64_t step = 1; step <= args.steps; ++step) {
      const Tensor starts = randint(0, ids.numel() - a.context, {args.batch_size, 1}, Dtype::Int64);
      const Tensor windows = index(ids, {starts + offsets});
      const Tensor x = windows.narrow(1, 0, a.context).contiguous();
      const Tensor y = windows.narrow(1, 1, a.context).contiguous();
      const auto start = std::chrono::steady_clock::now();
      const Tensor logits = (*model)(x);
      const Tensor loss = F::cross_entropy(logits.reshape({-1, vocab}), y.reshape({-1}));
      opt.zero_grad();
      autograd::backward({loss});
      nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      opt.step();
      const double value = loss.item<double>();
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (step % args.log_every == 0 || step == 1 || step == args.steps) {
        std::vector<double> recent(times.end() - std::min<size_t>(times.size(), 10), times.end());
        std::nth_element(recent.begin(), recent.begin() + recent.size() / 2, recent.end());
        std::cout << "step " << std::setw(5) << step << "  loss " << std::fixed << std::setprecision(4) << value << "  "
                  << std::setprecision(1) << recent[recent.size() / 2] * 1e3 << " ms/step" << std::endl;
        if (writer) {
          writer->add_scalar("train/loss", value, step);
          writer->add_scalar("train/ms_per_step", recent[recent.size() / 2] * 1e3, step);
          csv->log(step, {{"loss", value}, {"ms_per_step", recent[recent.size() / 2] * 1e3}});
        }
      }
      last_loss = value;
    }
    if (times.size() > 1) {
      std::vector<double> last(times.end() - std::min<size_t>(times.size() - 1, 10), times.end());
      std::sort(last.begin(), last.end());
      std::cout << "median step time " << std::fixed << std::setprecision(1) << last[last.size() / 2] * 1e3
                << " ms (batch " << args.batch_size << " x context " << a.context << ")\n";
    }
    std::cout << "--- sample ---\n";
    std::vector<int64_t> out;
    for (unsigned char ch : args.prompt)
      if (table[ch] >= 0) out.push_back(table[ch]);
    if (out.empty()) out.push_back(0);
    model->eval();
    autograd::NoGradGuard no_grad;
    for (int64_t i = 0; i < args.sample_len; ++i) {
      const int64_t from = std::max<int64_t>(0, static_cast<int64_t>(out.size()) - a.context);
      const Tensor ctx = tensor(std::vector<int64_t>(out.begin() + from, out.end())).unsqueeze(0);
      const Tensor logits = (*model)(ctx).select(0, 0).select(0, -1);
      const Tensor cdf = cumsum(softmax(logits, -1), 0);
      // Inverse-CDF draw: the first symbol whose cumulative probability exceeds u.
      const Tensor u = rand({1}) * cdf.select(0, -1);
      out.push_back(std::min(sum(le(cdf, u)).item<int64_t>(), vocab - 1));
    }
    std::string text;
    for (int64_t id : out) text += static_cast<char>(symbols[static_cast<size_t>(id)]);
    std::cout << text << "\n";
    if (writer) {
      writer->add_text("sample", text, args.steps);
      writer->add_hparams(
          {{"lr", args.lr}, {"layers", static_cast<double>(args.layers)}, {"width", static_cast<double>(args.width)}},
          {{"hparam/final_loss", last_loss}});
      writer->close();
      csv->close();
      logging::info("char_gpt", "logs written", {{"tensorboard", args.log_dir}, {"csv", csv->path()}});
    }
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
