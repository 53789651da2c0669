// Uses the installed lamina: creates tensors, adds them, checks an error is typed.
#include <iostream>

#include <lamina/lamina.h>

int main() {
  lamina::Tensor a = lamina::ones({2, 3});
  lamina::Tensor b = lamina::arange(lamina::Scalar(int64_t{3})).to(lamina::Dtype::Float32);
  lamina::Tensor c = a + b;  // broadcasts (3,) over (2, 3)
  if (c.data<float>()[5] != 3.0f) return 1;
  try {
    lamina::add(a, lamina::ones({4}));
    return 2;
  } catch (const lamina::ShapeError& e) {
    std::cout << "consumer ok: " << e.what() << "\n";
  }
  return 0;
}
