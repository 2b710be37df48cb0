#include <ember/core/dtype.h>

#include <sstream>

#include <ember/core/checked.h>
#include <ember/core/error.h>

namespace ember {

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case kFloat32:
      return "float32";
    case kInt64:
      return "int64";
    case kUInt8:
      return "uint8";
  }
  return "unknown";
}

std::size_t element_size(Dtype dtype) {
  switch (dtype) {
    case kFloat32:
      return 4;
    case kInt64:
      return 8;
    case kUInt8:
      return 1;
  }
  return 0;
}

std::ostream& operator<<(std::ostream& out, Dtype dtype) {
  return out << dtype_name(dtype);
}

std::string to_string(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

std::int64_t numel_of(const Shape& shape) {
  return checked_numel(shape, "numel");
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t rank, const char* op) {
  // A 0-d tensor accepts dims -1 and 0, as in PyTorch.
  const std::int64_t extent = rank == 0 ? 1 : rank;
  EMBER_CHECK(dim >= -extent && dim < extent, op, ": dim ", dim,
              " is out of range for a tensor of ", rank, " dims (expected -", extent, " <= dim < ",
              extent, ")");
  return dim < 0 ? dim + extent : dim;
}

}  // namespace ember
