// The op-level profiler: sessions, what an event records (name, shapes, thread, depth), self
// time, the table, the Chrome trace JSON, pool threads, and nothing recorded while off.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "lamina/autograd/autograd.h"
#include "lamina/lamina.h"
#include "lamina/nn/layers.h"
#include "lamina/optim/optimizer.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/parallel.h"
#include "lamina/runtime/profiler.h"

using namespace lamina;
namespace prof = lamina::profiler;

namespace {

int count_named(const std::vector<prof::Event>& ev, const std::string& name) {
  return static_cast<int>(std::count_if(ev.begin(), ev.end(), [&](const prof::Event& e) { return e.name == name; }));
}

const prof::Event* first_named(const std::vector<prof::Event>& ev, const std::string& name) {
  for (const auto& e : ev)
    if (e.name == name) return &e;
  return nullptr;
}

// A small recursive-descent JSON validator (RFC 8259 grammar), enough to prove the trace parses.
struct JsonChecker {
  const std::string& s;
  size_t i = 0;
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  bool lit(const char* w) {
    const size_t n = std::char_traits<char>::length(w);
    if (s.compare(i, n, w) != 0) return false;
    i += n;
    return true;
  }
  bool string() {
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    while (i < s.size() && s[i] != '"') {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20) return false;
      if (c == '\\') {
        ++i;
        if (i >= s.size()) return false;
        if (s[i] == 'u') {
          for (int k = 0; k < 4; ++k)
            if (++i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
        } else if (std::string("\"\\/bfnrt").find(s[i]) == std::string::npos) {
          return false;
        }
      }
      ++i;
    }
    if (i >= s.size()) return false;
    ++i;
    return true;
  }
  bool number() {
    const size_t start = i;
    if (i < s.size() && s[i] == '-') ++i;
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    if (s[i] == '0') ++i;
    else
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i < s.size() && s[i] == '.') {
      ++i;
      if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    }
    return i > start;
  }
  bool value() {
    ws();
    if (i >= s.size()) return false;
    bool ok;
    if (s[i] == '{') {
      ++i;
      ws();
      if (i < s.size() && s[i] == '}') {
        ++i;
        return true;
      }
      do {
        ws();
        if (!string()) return false;
        ws();
        if (i >= s.size() || s[i] != ':') return false;
        ++i;
        if (!value()) return false;
        ws();
      } while (i < s.size() && s[i] == ',' && ++i);
      ok = i < s.size() && s[i] == '}';
      ++i;
    } else if (s[i] == '[') {
      ++i;
      ws();
      if (i < s.size() && s[i] == ']') {
        ++i;
        return true;
      }
      do {
        if (!value()) return false;
        ws();
      } while (i < s.size() && s[i] == ',' && ++i);
      ok = i < s.size() && s[i] == ']';
      ++i;
    } else if (s[i] == '"') {
      ok = string();
    } else if (lit("true") || lit("false") || lit("null")) {
      ok = true;
    } else {
      ok = number();
    }
    return ok;
  }
  bool valid() {
    if (!value()) return false;
    ws();
    return i == s.size();
  }
};

bool valid_json(const std::string& s) { return JsonChecker{s}.valid(); }

}  // namespace

TEST(Profiler, OffRecordsNothingAndCostsNoSession) {
  EXPECT_FALSE(prof::enabled());
  EXPECT_EQ(prof::current_session(), 0u);
  Tensor a = ones({4}), b = ones({4});
  for (int i = 0; i < 10; ++i) (void)add(a, b);  // recorded nowhere
  prof::Profile p;
  p.stop();
  EXPECT_TRUE(p.events().empty());
  (void)add(a, b);  // after stop: not recorded either
  EXPECT_TRUE(p.events().empty());
  EXPECT_FALSE(prof::enabled());
}

TEST(Profiler, RecordsOpsWithShapesDtypesAndThread) {
  Tensor a = ones({2, 3}), b = ones({3}, {Dtype::Float64});
  prof::Profile p;
  EXPECT_TRUE(prof::enabled());
  Tensor c = add(a, b);
  Tensor m = matmul(a, ones({3, 4}));
  Tensor s = sum(m);
  p.stop();
  const auto& ev = p.events();
  const prof::Event* e = first_named(ev, "add");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->inputs.size(), 2u);
  EXPECT_EQ(e->inputs[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(e->inputs[0].dtype, "float32");
  EXPECT_EQ(e->inputs[1].shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(e->inputs[1].dtype, "float64");
  EXPECT_EQ(e->depth, 0);
  EXPECT_GE(e->end_ns, e->start_ns);
  EXPECT_NE(e->thread_id, 0u);
  EXPECT_EQ(e->kind, prof::EventKind::Op);
  const prof::Event* mm = first_named(ev, "matmul");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->inputs[1].shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(count_named(ev, "sum"), 1);
  // Ordered by start time.
  for (size_t i = 1; i < ev.size(); ++i) EXPECT_LE(ev[i - 1].start_ns, ev[i].start_ns);
}

TEST(Profiler, NoShapesWhenNotAsked) {
  Tensor a = ones({2, 3});
  prof::Profile p(prof::ProfileOptions{false});
  (void)relu(a);
  const prof::Event* e = first_named(p.events(), "relu");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->inputs.empty());
}

TEST(Profiler, NestingAndSelfTime) {
  Tensor a = ones({64, 64});
  prof::Profile p;
  {
    prof::RecordFunction outer("outer");
    {
      prof::RecordFunction inner("inner");
      for (int i = 0; i < 3; ++i) (void)mul(a, a);
    }
    (void)exp(a);
  }
  p.stop();
  const auto& ev = p.events();
  const prof::Event* outer = first_named(ev, "outer");
  const prof::Event* inner = first_named(ev, "inner");
  ASSERT_TRUE(outer && inner);
  EXPECT_EQ(outer->kind, prof::EventKind::User);
  EXPECT_EQ(outer->depth, 0);
  EXPECT_EQ(inner->depth, 1);
  EXPECT_EQ(count_named(ev, "mul"), 3);
  int64_t inner_children = 0;
  for (const auto& e : ev) {
    if (e.name == "mul") {
      EXPECT_EQ(e.depth, 2);
      EXPECT_GE(e.start_ns, inner->start_ns);
      EXPECT_LE(e.end_ns, inner->end_ns);
      inner_children += e.duration_ns();
    }
  }
  const prof::Event* ex = first_named(ev, "exp");
  ASSERT_NE(ex, nullptr);
  EXPECT_EQ(ex->depth, 1);
  // Self time excludes the scopes nested directly inside.
  EXPECT_EQ(inner->self_ns, inner->duration_ns() - inner_children);
  EXPECT_EQ(outer->self_ns, outer->duration_ns() - inner->duration_ns() - ex->duration_ns());
  EXPECT_LE(outer->self_ns, outer->duration_ns());

  auto rows = p.key_averages("total");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].name, "outer");  // the outermost range has the largest total
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_GE(rows[i - 1].total_ns, rows[i].total_ns);
  auto by_count = p.key_averages("count");
  EXPECT_EQ(by_count[0].name, "mul");
  EXPECT_EQ(by_count[0].calls, 3);
  EXPECT_THROW(p.key_averages("bogus"), ValueError);
}

TEST(Profiler, TableListsOps) {
  Tensor a = ones({8, 8});
  prof::Profile p;
  for (int i = 0; i < 5; ++i) (void)add(a, a);
  (void)matmul(a, a);
  const std::string t = p.table("total", 20);
  EXPECT_NE(t.find("Name"), std::string::npos);
  EXPECT_NE(t.find("Calls"), std::string::npos);
  EXPECT_NE(t.find("Total ms"), std::string::npos);
  EXPECT_NE(t.find("Self ms"), std::string::npos);
  EXPECT_NE(t.find("Avg us"), std::string::npos);
  EXPECT_NE(t.find("matmul"), std::string::npos);
  std::istringstream lines(t);
  std::string line;
  bool add_row = false;
  while (std::getline(lines, line))
    if (line.rfind("add ", 0) == 0) {
      add_row = true;
      std::istringstream cols(line.substr(4));
      int64_t calls = 0;
      cols >> calls;
      EXPECT_EQ(calls, 5);
    }
  EXPECT_TRUE(add_row) << t;
  const std::string one = p.table("calls", 1);
  EXPECT_NE(one.find("add"), std::string::npos);
  EXPECT_EQ(one.find("matmul"), std::string::npos);
}

TEST(Profiler, ChromeTraceIsValidJson) {
  Tensor a = ones({3, 5});
  prof::Profile p;
  {
    prof::RecordFunction r("weird \"name\"\\ with\ttab\n");
    (void)softmax(a, 1);
  }
  const std::string json = p.chrome_trace();
  EXPECT_TRUE(valid_json(json)) << json;
  EXPECT_NE(json.find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(json.find("\"displayTimeUnit\":\"ms\""), std::string::npos);
  EXPECT_NE(json.find("\"ph\":\"X\""), std::string::npos);
  EXPECT_NE(json.find("\"name\":\"softmax\""), std::string::npos);
  EXPECT_NE(json.find("\"shapes\":[[3,5]]"), std::string::npos);
  EXPECT_NE(json.find("weird \\\"name\\\"\\\\ with\\ttab\\n"), std::string::npos);
  const std::string path = ::testing::TempDir() + "lamina_profiler_trace.json";
  p.export_chrome_trace(path);
  std::ifstream f(path);
  std::stringstream buf;
  buf << f.rdbuf();
  EXPECT_EQ(buf.str(), json);
  std::remove(path.c_str());
  EXPECT_THROW(p.export_chrome_trace("/nonexistent-dir/x/trace.json"), IOError);
  // An empty session is valid JSON too.
  prof::Profile empty;
  EXPECT_TRUE(valid_json(empty.chrome_trace()));
}

TEST(Profiler, JsonCheckerRejectsBadJson) {
  EXPECT_FALSE(valid_json("{\"a\":}"));
  EXPECT_FALSE(valid_json("[1,]"));
  EXPECT_FALSE(valid_json("{\"a\":\"x\ny\"}"));
  EXPECT_TRUE(valid_json("{\"a\":[1,2.5,-3],\"b\":{\"c\":\"\\u00e9\"}}"));
}

TEST(Profiler, NestedSessionsThrow) {
  prof::Profile p;
  EXPECT_THROW(prof::Profile q, ValueError);
  p.stop();
  prof::Profile r;  // fine once the first one stopped
  EXPECT_TRUE(r.active());
}

TEST(Profiler, OpsOnPoolAndOtherThreads) {
  const int previous = num_threads();
  set_num_threads(4);
  Tensor a = ones({16});
  // Each part of a parallel_run runs on a pool thread (the caller takes one); each sleeps, so
  // the pool's workers claim parts too.
  auto part = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      (void)add(a, a);
    }
  };
  // Warm-up, unrecorded: lets freshly started workers reach their wait loop (a worker that
  // starts after a job was published waits for the next one).
  runtime::parallel_run(8, 8, runtime::RangeFn(part));
  {
    prof::Profile p;
    runtime::parallel_run(8, 8, runtime::RangeFn(part));
    std::thread t([&] {
      (void)neg(a);
      (void)neg(a);
    });
    t.join();
    p.stop();
    const auto& ev = p.events();
    EXPECT_EQ(count_named(ev, "add"), 8);
    EXPECT_EQ(count_named(ev, "neg"), 2);
    std::set<uint64_t> add_threads, neg_threads;
    for (const auto& e : ev) {
      if (e.name == "add") add_threads.insert(e.thread_id);
      if (e.name == "neg") neg_threads.insert(e.thread_id);
    }
    EXPECT_EQ(neg_threads.size(), 1u);
    EXPECT_EQ(add_threads.count(*neg_threads.begin()), 0u);
    EXPECT_GE(add_threads.size(), 2u);  // the caller and at least one pool worker
  }
  set_num_threads(previous);
}

TEST(Profiler, ConcurrentThreadsRecordEverything) {
  Tensor a = ones({4});
  constexpr int kThreads = 4, kOps = 500;
  prof::Profile p;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < kOps; ++i) (void)sub(a, a);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(count_named(p.events(), "sub"), kThreads * kOps);
}

TEST(Profiler, BackwardNodesAndOptimizerStep) {
  manual_seed(0);
  nn::Linear lin(4, 3);
  optim::SGDOptions o;
  o.lr = 0.1;
  optim::SGD opt(lin.parameters(), o);
  Tensor x = randn({2, 4});
  prof::Profile p;
  Tensor loss = sum(relu(lin.forward(x)));
  autograd::backward({loss});
  opt.step();
  p.stop();
  const auto& ev = p.events();
  EXPECT_GE(count_named(ev, "linear"), 1);
  EXPECT_GE(count_named(ev, "addmm"), 1);  // linear's bias-started GEMM
  EXPECT_EQ(count_named(ev, "AddmmBackward0"), 1);
  EXPECT_GE(count_named(ev, "relu"), 1);
  EXPECT_EQ(count_named(ev, "backward"), 1);
  EXPECT_GE(count_named(ev, "ReluBackward0"), 1);
  EXPECT_GE(count_named(ev, "SumBackward1"), 1);
  EXPECT_EQ(count_named(ev, "SGD.step"), 1);
  const prof::Event* rb = first_named(ev, "ReluBackward0");
  ASSERT_NE(rb, nullptr);
  EXPECT_EQ(rb->kind, prof::EventKind::Backward);
  EXPECT_GE(rb->depth, 1);  // inside "backward"
}

TEST(Profiler, StopMidScopeDropsTheOpenEvent) {
  Tensor a = ones({4});
  auto p = std::make_unique<prof::Profile>();
  {
    prof::OpScope s("open_at_stop", a);
    p->stop();
  }
  EXPECT_EQ(count_named(p->events(), "open_at_stop"), 0);
  prof::Profile q;
  (void)add(a, a);
  EXPECT_EQ(count_named(q.events(), "add"), 1);
  EXPECT_EQ(q.events()[0].depth, 0);  // the dropped scope left no frame behind
}
