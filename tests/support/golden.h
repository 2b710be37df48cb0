// Reads the PyTorch reference files in tests/data/golden/ (format: tests/data/golden/FORMAT.md) and
// compares ember's results with them.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::test {

struct GoldenTensor {
  Shape shape;
  std::vector<double> values;  // row-major; integers and non-finite values parse exactly
  Dtype dtype = kFloat32;      // what the tensor holds in PyTorch (golden_dtype)
  Tensor as_float() const;     // float32 tensor
  Tensor as_int64() const;     // int64 tensor (class-index targets, index tensors)
  Tensor as_uint8() const;     // uint8 tensor (masks, written 0/1; PyTorch's bool)
};

struct GoldenCase {
  std::string op;
  std::map<std::string, std::string> params;  // header key=value pairs (case, dtype, rtol, ...)
  std::map<std::string, GoldenTensor> tensors;
  std::vector<std::string> order;  // tensor names in file order

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  const GoldenTensor& at(const std::string& name) const;
  double number(const std::string& key) const;  // a numeric header parameter
  double rtol() const { return number("rtol"); }
  double atol() const { return number("atol"); }
  bool expects_error() const;
  bool f32_only() const;  // compare=f32: match the float32 file only
};

// The dtype of golden tensor `name` of op `op`, from its name as FORMAT.md defines it: int64 for
// `indices`, `index`, `indexN` and cross_entropy/nll_loss's `target`; uint8 (PyTorch's bool) for
// `mask`, `maskN` and `condition`; float32 for everything else (every float result).
Dtype golden_dtype(const std::string& op, const std::string& name);

// Parses `<golden dir>/<file>`, e.g. "softmax_2d_dim1.f32.txt". Throws std::runtime_error.
GoldenCase load_golden(const std::string& file);

// Every case of `op` listed in INDEX.txt, in order (names without the .f32/.f64 suffix).
std::vector<std::string> golden_cases(const std::string& op);

// What PyTorch draws after torch.manual_seed(seed) (generator_draws.txt, FORMAT.md): the values
// of each line `name seed : values`, by name then seed; floats as the float32 the file's %.9g
// gives, integers exactly. Throws std::runtime_error.
using GeneratorDraws = std::map<std::string, std::map<std::uint64_t, std::vector<double>>>;
GeneratorDraws load_generator_draws();
// Each tensor's first two and last two numbers, in order: the form of generator_draws.txt's lenet
// line (a model's parameters()).
std::vector<double> head_and_tail(const std::vector<Tensor>& tensors);

// Empty if `got` has `want`'s dtype and shape and matches it elementwise within |got - want| <=
// atol + rtol*|want| (NaN matches NaN, inf matches inf of the same sign); otherwise a message
// naming the worst element.
std::string compare(const Tensor& got, const GoldenTensor& want, double rtol, double atol);

// Checks `got` against tensor `name` of a case's float32 file and, unless the case is f32-only,
// of its float64 file too, with the tolerance the float32 file states.
inline void check_golden(const Tensor& got, const GoldenCase& f32, const GoldenCase& f64,
                         const std::string& name) {
  INFO(name);
  REQUIRE(got.defined());
  const std::string vs32 = compare(got, f32.at(name), f32.rtol(), f32.atol());
  INFO("vs float32 file: " << vs32);
  CHECK(vs32.empty());
  if (!f32.f32_only()) {
    const std::string vs64 = compare(got, f64.at(name), f32.rtol(), f32.atol());
    INFO("vs float64 file: " << vs64);
    CHECK(vs64.empty());
  }
}

}  // namespace ember::test
