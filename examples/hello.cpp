#include <iostream>
#include <lamina/lamina.h>

int main() {
  lamina::manual_seed(0);
  lamina::Tensor w = lamina::randn({3, 2});
  lamina::Tensor x = lamina::ones({2, 3});
  lamina::Tensor y = lamina::relu(x + w.t());  // broadcasting, views
  std::cout << y << "\n";
  try { lamina::add(x, w); } catch (const lamina::ShapeError& e) { std::cout << e.what() << "\n"; }
}
