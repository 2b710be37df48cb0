// The parent project's program: ember's umbrella and version headers, and one gradient.
#include <ember/ember.h>
#include <ember/version.h>

#include <iostream>

int main() {
  ember::Tensor x = ember::ones({3});
  x.requires_grad_(true);
  (x * x).sum().backward();
  const float slope = x.grad().at<float>({0});
  std::cout << "ember " << EMBER_VERSION_STRING << ": d(sum x^2)/dx at 1 = " << slope << "\n";
  return slope == 2.0f ? 0 : 1;
}
