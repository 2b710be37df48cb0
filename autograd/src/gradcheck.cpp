#include <ember/autograd/gradcheck.h>

#include <cmath>
#include <sstream>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/core/checked.h>
#include <ember/core/generator.h>

namespace ember::autograd {

namespace {

// Offsets from the first element of every element of t, in row-major order of its logical
// index.
std::vector<std::int64_t> element_offsets(const Tensor& t) {
  std::vector<std::int64_t> offsets;
  const Shape& sizes = t.sizes();
  Shape index(sizes.size(), 0);
  for (std::int64_t n = 0; n < t.numel(); ++n) {
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < sizes.size(); ++d) offset += index[d] * t.strides()[d];
    offsets.push_back(offset);
    for (std::size_t d = sizes.size(); d-- > 0;) {
      if (++index[d] < sizes[d]) break;
      index[d] = 0;
    }
  }
  return offsets;
}

// L = sum(v * y), in double so that the projection adds no rounding of its own.
double project(const Tensor& y, const std::vector<float>& v) {
  const std::vector<float> values = y.contiguous().to_vector<float>();
  double total = 0;
  for (std::size_t i = 0; i < values.size(); ++i) total += static_cast<double>(v[i]) * values[i];
  return total;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  GradcheckResult result;
  EMBER_CHECK(options.eps > 0.0 && value_fits(options.eps, kFloat32) && std::isfinite(options.eps),
              "gradcheck: eps must be positive and finite in float32, got ", options.eps);
  // Analytic: one backward of L = sum(v * y).
  for (Tensor t : inputs)
    if (t.defined() && t.requires_grad()) t.mutable_grad() = Tensor();
  Tensor y = fn(inputs);
  EMBER_CHECK(y.dtype() == kFloat32, "gradcheck: fn must return a float32 tensor, got ", y.dtype());
  Generator gen(options.seed);
  std::vector<float> v(static_cast<std::size_t>(y.numel()));
  for (float& x : v) x = gen.uniform(-1.0f, 1.0f);
  if (y.requires_grad()) y.backward(from_vector(v, y.sizes()));

  for (std::size_t which = 0; which < inputs.size(); ++which) {
    const Tensor& x = inputs[which];
    if (!x.defined() || !x.requires_grad()) continue;
    const std::vector<float> analytic =
        x.grad().defined() ? x.grad().contiguous().to_vector<float>()
                           : std::vector<float>(static_cast<std::size_t>(x.numel()), 0.0f);
    // Each element is nudged for two calls of fn, then put back bitwise: x ends as it began, so
    // the version stays (as in PyTorch's gradcheck, which nudges x.data) and a graph that saved
    // x still runs backward. Hence data_ptr, not mutable_data_ptr (which counts a write).
    float* data = Tensor(x).data_ptr<float>();
    const std::vector<std::int64_t> offsets = element_offsets(x);
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      float& element = data[offsets[i]];
      const float original = element;
      element = static_cast<float>(original + options.eps);
      const double plus = project(fn(inputs), v);
      element = static_cast<float>(original - options.eps);
      const double minus = project(fn(inputs), v);
      element = original;
      // The step actually taken, after rounding x +- eps to float32.
      const double step = static_cast<double>(static_cast<float>(original + options.eps)) -
                          static_cast<double>(static_cast<float>(original - options.eps));
      const double numerical = (plus - minus) / step;
      const double error = std::fabs(analytic[i] - numerical);
      const double excess = error - options.rtol * std::fabs(numerical);
      const bool bad = !(error <= options.atol + options.rtol * std::fabs(numerical));
      if (bad && (result.ok || excess > result.max_error)) {
        std::ostringstream msg;
        msg.precision(9);
        msg << "gradcheck: input " << which << " (shape " << to_string(x.sizes()) << "), element "
            << i << ": analytic " << analytic[i] << ", numerical " << numerical << " (|difference| "
            << error << " > atol " << options.atol << " + rtol " << options.rtol
            << " * |numerical|)";
        result.message = msg.str();
        result.ok = false;
      }
      if (result.ok || bad) result.max_error = std::max(result.max_error, excess);
    }
  }
  return result;
}

}  // namespace ember::autograd
