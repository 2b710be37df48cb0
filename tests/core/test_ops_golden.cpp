// Issue 12's tensor ops against PyTorch 1.13 (tests/data/golden/, FORMAT.md there): pow (tensor
// and number forms), square, sqrt, abs, clamp, min (all and over a dim), minimum, maximum,
// logsumexp, cat, stack, gather, index_select, masked_fill, where, index, index_put (and
// index_put_) and matmul. Every case of each op runs forward and backward twice: on the file's
// contiguous inputs, then on non-contiguous copies of them (transposed, or every second element of
// a longer buffer), so the strided paths must give the same numbers. The results are compared with
// the float32 file and, unless the header says compare=f32, with the float64 file, at the file's
// rtol/atol. regenerate.py draws these cases' inputs from the `seed=` of each file and recomputes
// them with PyTorch byte for byte (CTest: golden_regenerate).
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <string>

#include <ember/autograd/indexing.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

#include "support/golden.h"

using namespace ember;
using namespace ember::indexing;
using ember::test::check_golden;
using ember::test::GoldenCase;

namespace {

using Inputs = std::map<std::string, Tensor>;
using Results = std::map<std::string, Tensor>;  // "output", and "indices" for min over a dim
using Op = std::function<Results(const Inputs&, const GoldenCase&)>;

// Lines holding integers (FORMAT.md): int64 positions, or 0/1 masks that are uint8 in ember.
bool is_mask(const std::string& name) {  // mask, mask0, ..., condition
  return name.rfind("mask", 0) == 0 || name == "condition";
}
bool is_index(const std::string& name) {  // index, index0, ...
  return name.rfind("index", 0) == 0;
}

// The same values in a non-contiguous layout: a transposed copy (strides reversed) when that is
// not contiguous, else every second element in each dim of a buffer twice as large in each dim
// (1-d tensors, and dims of size 1 that make a transpose contiguous). A 0-d tensor stays as is.
Tensor strided_copy(const Tensor& t) {
  if (t.dim() >= 2) {
    Tensor transposed = t.transpose(0, -1).contiguous().transpose(0, -1);
    if (!transposed.is_contiguous()) return transposed;
  }
  if (t.dim() == 0) return t.clone();
  Shape doubled;
  std::vector<TensorIndex> every_second;
  for (std::int64_t size : t.sizes()) {
    doubled.push_back(2 * size);
    every_second.emplace_back(Slice(None, None, 2));
  }
  Tensor view = zeros(doubled, t.dtype()).index(every_second);
  view.copy_(t);
  return view;
}

// The `indices=` header parameter: comma-separated items, each an integer, a slice
// start:stop:step (parts may be empty), None, ..., or the name of an index or mask line.
std::vector<TensorIndex> parse_indices(const std::string& spec, const Inputs& in) {
  std::vector<TensorIndex> out;
  std::size_t begin = 0;
  while (begin <= spec.size()) {
    const std::size_t end = std::min(spec.find(',', begin), spec.size());
    const std::string item = spec.substr(begin, end - begin);
    begin = end + 1;
    if (item == "None") {
      out.emplace_back(None);
    } else if (item == "...") {
      out.emplace_back(Ellipsis);
    } else if (item.find(':') != std::string::npos) {
      std::vector<SliceBound> bounds;
      std::size_t from = 0;
      while (from <= item.size()) {
        const std::size_t to = std::min(item.find(':', from), item.size());
        const std::string part = item.substr(from, to - from);
        bounds.push_back(part.empty() ? SliceBound(None) : SliceBound(std::stoll(part)));
        from = to + 1;
      }
      bounds.resize(3, SliceBound(None));
      out.emplace_back(Slice(bounds[0], bounds[1], bounds[2]));
    } else if (in.count(item) != 0) {
      out.emplace_back(in.at(item));
    } else {
      out.emplace_back(std::stoll(item));
    }
  }
  return out;
}

std::int64_t dim_of(const GoldenCase& c) {
  return static_cast<std::int64_t>(c.number("dim"));
}
bool keepdim_of(const GoldenCase& c) {
  return c.params.count("keepdim") && c.number("keepdim");
}

// The tensors named tensor0, tensor1, ... (the list given to cat and stack), in order.
std::vector<Tensor> numbered(const Inputs& in) {
  std::vector<Tensor> list;
  while (in.count("tensor" + std::to_string(list.size())))
    list.push_back(in.at("tensor" + std::to_string(list.size())));
  return list;
}

// Runs every case of `op` (INDEX.txt) on contiguous and on strided inputs: results = fn(inputs),
// then, when `differentiable`, results["output"].backward(grad_output) and every float input's
// gradient against the file's grad_<name>.
void run_cases(const std::string& op, const Op& fn, bool differentiable = true) {
  const auto cases = ember::test::golden_cases(op);
  REQUIRE(!cases.empty());
  for (const std::string& name : cases) {
    const GoldenCase f32 = ember::test::load_golden(name + ".f32.txt");
    const GoldenCase f64 = ember::test::load_golden(name + ".f64.txt");
    for (const bool strided : {false, true}) {
      INFO("case " << name << (strided ? ", strided inputs" : ", contiguous inputs"));
      Inputs in;
      std::vector<std::string> float_inputs;
      for (const std::string& line : f32.order) {
        if (line == "grad_output") break;  // inputs come first (FORMAT.md)
        const auto& golden = f32.at(line);
        Tensor t = is_mask(line)    ? golden.as_uint8()
                   : is_index(line) ? golden.as_int64()
                                    : golden.as_float();
        if (strided) {
          t = strided_copy(t);
          if (t.numel() > 1) CHECK_FALSE(t.is_contiguous());
        }
        if (t.dtype() == kFloat32) {
          t.requires_grad_();
          float_inputs.push_back(line);
        }
        in[line] = t;
      }
      const Results results = fn(in, f32);
      for (const auto& [result, tensor] : results) check_golden(tensor, f32, f64, result);
      if (!differentiable) continue;
      results.at("output").backward(f32.at("grad_output").as_float());
      for (const std::string& input : float_inputs)
        check_golden(in.at(input).grad(), f32, f64, "grad_" + input);
    }
  }
}

Results out(const Tensor& t) {
  return {{"output", t}};
}

}  // namespace

TEST_CASE("golden: pow, square, sqrt and abs match PyTorch", "[ops][math][golden]") {
  SECTION("pow: tensor ^ tensor") {
    run_cases("pow", [](const Inputs& in, const GoldenCase&) {
      return out(pow(in.at("input"), in.at("exponent")));
    });
  }
  SECTION("pow: tensor ^ number") {
    run_cases("pow_scalar", [](const Inputs& in, const GoldenCase& c) {
      return out(in.at("input").pow(c.number("exponent")));
    });
  }
  SECTION("pow: number ^ tensor") {
    run_cases("scalar_pow", [](const Inputs& in, const GoldenCase& c) {
      return out(pow(c.number("base"), in.at("input")));
    });
  }
  SECTION("square") {
    run_cases("square",
              [](const Inputs& in, const GoldenCase&) { return out(in.at("input").square()); });
  }
  SECTION("sqrt") {
    run_cases("sqrt",
              [](const Inputs& in, const GoldenCase&) { return out(in.at("input").sqrt()); });
  }
  SECTION("abs") {
    run_cases("abs", [](const Inputs& in, const GoldenCase&) { return out(in.at("input").abs()); });
  }
}

TEST_CASE("golden: clamp, clamp_min and clamp_max match PyTorch", "[ops][math][golden]") {
  // clamp_min when the case gives only min, clamp_max when only max, clamp when both.
  run_cases("clamp", [](const Inputs& in, const GoldenCase& c) {
    const Tensor& x = in.at("input");
    const bool lo = c.params.count("min") != 0, hi = c.params.count("max") != 0;
    if (lo && hi) return out(x.clamp(c.number("min"), c.number("max")));
    return out(lo ? x.clamp_min(c.number("min")) : x.clamp_max(c.number("max")));
  });
}

TEST_CASE("golden: min, minimum and maximum match PyTorch, ties and NaN included",
          "[ops][math][golden]") {
  SECTION("min over all elements") {
    run_cases("min", [](const Inputs& in, const GoldenCase&) { return out(in.at("input").min()); });
  }
  SECTION("min over a dim: values and indices") {
    run_cases("min_dim", [](const Inputs& in, const GoldenCase& c) {
      auto [values, indices] = in.at("input").min(dim_of(c), keepdim_of(c));
      return Results{{"output", values}, {"indices", indices}};
    });
  }
  SECTION("minimum") {
    run_cases("minimum", [](const Inputs& in, const GoldenCase&) {
      return out(minimum(in.at("input"), in.at("other")));
    });
  }
  SECTION("maximum") {
    run_cases("maximum", [](const Inputs& in, const GoldenCase&) {
      return out(maximum(in.at("input"), in.at("other")));
    });
  }
}

TEST_CASE("golden: logsumexp matches PyTorch, rows of -inf and NaN included",
          "[ops][math][golden]") {
  run_cases("logsumexp", [](const Inputs& in, const GoldenCase& c) {
    return out(in.at("input").logsumexp(dim_of(c), keepdim_of(c)));
  });
}

TEST_CASE("golden: cat and stack match PyTorch", "[ops][math][golden]") {
  SECTION("cat") {
    run_cases("cat", [](const Inputs& in, const GoldenCase& c) {
      return out(cat(numbered(in), dim_of(c)));
    });
  }
  SECTION("stack") {
    run_cases("stack", [](const Inputs& in, const GoldenCase& c) {
      return out(stack(numbered(in), dim_of(c)));
    });
  }
}

TEST_CASE("golden: gather, index_select, masked_fill and where match PyTorch",
          "[indexing][golden]") {
  SECTION("gather") {
    run_cases("gather", [](const Inputs& in, const GoldenCase& c) {
      return out(in.at("input").gather(dim_of(c), in.at("index")));
    });
  }
  SECTION("index_select") {
    run_cases("index_select", [](const Inputs& in, const GoldenCase& c) {
      return out(in.at("input").index_select(dim_of(c), in.at("index")));
    });
  }
  SECTION("masked_fill") {
    run_cases("masked_fill", [](const Inputs& in, const GoldenCase& c) {
      return out(in.at("input").masked_fill(in.at("mask"), c.number("value")));
    });
  }
  SECTION("where") {
    run_cases("where", [](const Inputs& in, const GoldenCase&) {
      return out(where(in.at("condition"), in.at("input"), in.at("other")));
    });
  }
}

TEST_CASE("golden: index with integers, slices, None, Ellipsis, tensors and masks matches PyTorch",
          "[indexing][golden]") {
  run_cases("index", [](const Inputs& in, const GoldenCase& c) {
    return out(in.at("input").index(parse_indices(c.params.at("indices"), in)));
  });
}

TEST_CASE("golden: index_put and index_put_ match PyTorch, values and both gradients",
          "[indexing][golden]") {
  // The files hold PyTorch's y = x.clone(); y[indices] = values (or y.index_put_(indices, values,
  // accumulate=True)) and its grad_input and grad_values.
  SECTION("out of place: index_put(x, indices, values, accumulate)") {
    run_cases("index_put", [](const Inputs& in, const GoldenCase& c) {
      return out(index_put(in.at("input"), parse_indices(c.params.at("indices"), in),
                           in.at("values"), c.number("accumulate") != 0));
    });
  }
  SECTION("in place on a copy: y = x.clone(); y.index_put_(indices, values, accumulate)") {
    run_cases("index_put", [](const Inputs& in, const GoldenCase& c) {
      const Tensor& x = in.at("input");
      // A strided x gets a strided copy: a transposed view of a transposed clone (the clone
      // itself is gone after this line, so y owns its storage alone, as index_put_ requires).
      Tensor y = x.is_contiguous() ? x.clone() : x.transpose(0, -1).clone().transpose(0, -1);
      CHECK(y.is_contiguous() == x.is_contiguous());
      y.index_put_(parse_indices(c.params.at("indices"), in), in.at("values"),
                   c.number("accumulate") != 0);
      CHECK(y.grad_fn()->name() == "IndexPutBackward");
      return out(y);
    });
  }
}

TEST_CASE("golden: matmul's 1-d, 2-d and batched table matches PyTorch", "[ops][matmul][golden]") {
  run_cases("matmul", [](const Inputs& in, const GoldenCase&) {
    return out(matmul(in.at("input"), in.at("other")));
  });
}

TEST_CASE("golden: compare refuses a result of another dtype than PyTorch's", "[golden]") {
  // min_dim's `indices` are int64 in PyTorch (FORMAT.md), its `output` float32: the same numbers
  // in the other dtype are a mismatch, whatever the values.
  const GoldenCase c = test::load_golden(test::golden_cases("min_dim").front() + ".f32.txt");
  const test::GoldenTensor& indices = c.at("indices");
  CHECK(indices.dtype == kInt64);
  CHECK(c.at("output").dtype == kFloat32);
  CHECK(test::compare(indices.as_int64(), indices, 0, 0).empty());
  CHECK(test::compare(indices.as_float(), indices, 0, 0) == "dtype float32 != expected int64");
  CHECK(test::compare(zeros(c.at("output").shape, kInt64), c.at("output"), 1e30, 1e30) ==
        "dtype int64 != expected float32");
}
