// Printing tensors the way PyTorch does: tensor([[0.1000, 0.2000]]).
#include <cmath>
#include <cstdio>
#include <sstream>

#include <ember/core/tensor.h>

namespace ember {

namespace {

// PyTorch's float formatting: integers as "1.", a wide range in scientific notation with 4
// digits, otherwise fixed with 4 decimals; every element padded to the widest.
struct FloatFormat {
  bool integers = true, scientific = false;

  explicit FloatFormat(const std::vector<float>& values) {
    double lo = INFINITY, hi = 0;
    for (float v : values) {
      if (!std::isfinite(v)) continue;
      if (v != std::nearbyint(v)) integers = false;
      const double a = std::fabs(v);
      if (a != 0) lo = std::min(lo, a), hi = std::max(hi, a);
    }
    if (hi == 0) return;
    if (integers)
      scientific = hi > 1e8;
    else
      scientific = hi / lo > 1000.0 || hi > 1e8 || lo < 1e-4;
  }

  std::string operator()(float v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    if (scientific)
      std::snprintf(buf, sizeof buf, "%.4e", static_cast<double>(v));
    else if (integers)
      std::snprintf(buf, sizeof buf, "%.0f.", static_cast<double>(v));
    else
      std::snprintf(buf, sizeof buf, "%.4f", static_cast<double>(v));
    return buf;
  }
};

constexpr std::int64_t kSummarizeAbove = 1000, kEdgeItems = 3;

void print_dims(std::ostream& out, const std::vector<std::string>& cells, std::size_t width,
                const Shape& shape, std::size_t dim, std::size_t& next, std::size_t indent,
                bool summarize) {
  if (dim == shape.size()) {
    const std::string& c = cells[next++];
    out << std::string(width - c.size(), ' ') << c;
    return;
  }
  out << '[';
  const std::int64_t n = shape[dim];
  const bool cut = summarize && n > 2 * kEdgeItems;
  for (std::int64_t i = 0; i < n; ++i) {
    if (cut && i == kEdgeItems) {
      out << "...";
      if (dim + 1 == shape.size())
        out << ", ";
      else
        out << ",\n"
            << std::string(shape.size() - dim - 2, '\n') << std::string(indent + dim + 1, ' ');
      i = n - kEdgeItems - 1;
      continue;
    }
    print_dims(out, cells, width, shape, dim + 1, next, indent, summarize);
    if (i + 1 < n) {
      if (dim + 1 == shape.size())
        out << ", ";
      else
        out << ",\n"
            << std::string(shape.size() - dim - 2, '\n') << std::string(indent + dim + 1, ' ');
    }
  }
  out << ']';
}

// The elements shown (all of them, or the edges of every dim when there are many), in order.
template <class T>
std::vector<T> shown(const Tensor& t, const Shape& shape, bool summarize) {
  std::vector<T> all = t.to_vector<T>();
  if (!summarize) return all;
  std::vector<T> kept;
  const Shape strides = [&] {
    Shape s(shape.size());
    std::int64_t st = 1;
    for (std::size_t i = shape.size(); i-- > 0;) s[i] = st, st *= shape[i];
    return s;
  }();
  std::function<void(std::size_t, std::int64_t)> walk = [&](std::size_t d, std::int64_t base) {
    if (d == shape.size()) {
      kept.push_back(all[static_cast<std::size_t>(base)]);
      return;
    }
    const std::int64_t n = shape[d];
    for (std::int64_t i = 0; i < n; ++i) {
      if (n > 2 * kEdgeItems && i == kEdgeItems) i = n - kEdgeItems;
      walk(d + 1, base + i * strides[d]);
    }
  };
  walk(0, 0);
  return kept;
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "[ undefined tensor ]";
  const Shape& shape = t.sizes();
  const bool summarize = t.numel() > kSummarizeAbove;
  std::vector<std::string> cells;
  if (t.dtype() == kFloat32) {
    auto values = shown<float>(t, shape, summarize);
    FloatFormat format(values);
    for (float v : values) cells.push_back(format(v));
  } else if (t.dtype() == kInt64) {
    for (auto v : shown<std::int64_t>(t, shape, summarize)) cells.push_back(std::to_string(v));
  } else {
    for (auto v : shown<std::uint8_t>(t, shape, summarize)) cells.push_back(std::to_string(v));
  }
  std::size_t width = 0;
  for (const auto& c : cells) width = std::max(width, c.size());
  std::ostringstream body;
  std::size_t next = 0;
  if (t.numel() == 0) {
    body << "[]";
  } else {
    print_dims(body, cells, width, shape, 0, next, 7, summarize);
  }
  out << "tensor(" << body.str();
  if (t.numel() == 0 && shape.size() > 1)
    out << ", size=(" << to_string(shape).substr(1, to_string(shape).size() - 2) << ")";
  if (t.dtype() == kUInt8) out << ", dtype=uint8";
  if (t.grad_fn())
    out << ", grad_fn=<" << detail::node_name(*t.grad_fn()) << ">";
  else if (t.requires_grad())
    out << ", requires_grad=True";
  return out << ')';
}

}  // namespace ember
