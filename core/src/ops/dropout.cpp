// Dropout's mask and its product, graph-free. See core/include/ember/core/dropout.h.
#include <ember/core/dropout.h>
#include <ember/core/ops.h>

#include <cmath>
#include <cstdint>

#include <ember/core/error.h>
#include <ember/core/generator.h>
#include <ember/core/parallel.h>

namespace ember::core {

namespace {

void check_p(double p, const char* op) {
  EMBER_CHECK(p >= 0.0 && p <= 1.0, op, ": dropout probability has to be between 0 and 1, but got ",
              p);
}

}  // namespace

Tensor dropout_mask(const Shape& shape, double p, Generator& gen) {
  check_p(p, "dropout");
  Tensor mask = empty(shape);
  const std::int64_t n = mask.numel();
  // One draw whatever the size: the generator advances the same for every shape.
  const std::uint64_t base = gen.random64();
  if (n == 0) return mask;
  // As PyTorch: the kept value is 1 / (1 - p) computed in float32 (noise.div_(1 - p)).
  const float scale = p < 1.0 ? 1.0f / static_cast<float>(1.0 - p) : 0.0f;
  // Kept when k * 2^-24 < 1 - p, k the draw's top 24 bits: exact in double.
  const double threshold = (1.0 - p) * 0x1.0p24;
  float* out = mask.data_ptr<float>();
  parallel_for(0, n, 1 << 14, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const double k = static_cast<double>(splitmix64(base, static_cast<std::uint64_t>(i)) >> 40);
      out[i] = k < threshold ? scale : 0.0f;
    }
  });
  return mask;
}

Tensor dropout_apply(const Tensor& x, const Tensor& mask) {
  EMBER_CHECK(x.dtype() == kFloat32 && mask.dtype() == kFloat32,
              "dropout: expected float32 tensors, got ", x.dtype(), " and ", mask.dtype());
  EMBER_CHECK(x.sizes() == mask.sizes(), "dropout: input ", to_string(x.sizes()), " and mask ",
              to_string(mask.sizes()), " differ in shape");
  const Tensor xc = core::contiguous(x);
  const Tensor mc = core::contiguous(mask);
  Tensor out = empty(x.sizes());
  const float* xv = xc.data_ptr<float>();
  const float* mv = mc.data_ptr<float>();
  float* ov = out.data_ptr<float>();
  parallel_for(0, out.numel(), 1 << 15, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) ov[i] = xv[i] * mv[i];
  });
  return out;
}

}  // namespace ember::core
