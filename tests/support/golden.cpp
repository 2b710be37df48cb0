#include "support/golden.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ember::test {

namespace {

std::string golden_path(const std::string& file) {
  return std::string(EMBER_GOLDEN_DIR) + "/" + file;
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> tokens;
  for (std::string token; in >> token;) tokens.push_back(token);
  return tokens;
}

}  // namespace

Tensor GoldenTensor::as_float() const {
  std::vector<float> v(values.begin(), values.end());
  return from_vector(v, shape);
}

Tensor GoldenTensor::as_int64() const {
  std::vector<std::int64_t> v;
  for (double x : values) v.push_back(static_cast<std::int64_t>(x));
  return from_vector(v, shape);
}

Tensor GoldenTensor::as_uint8() const {
  std::vector<std::uint8_t> v;
  for (double x : values) v.push_back(static_cast<std::uint8_t>(x));
  return from_vector(v, shape);
}

const GoldenTensor& GoldenCase::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw std::runtime_error("golden case has no tensor " + name);
  return it->second;
}

double GoldenCase::number(const std::string& key) const {
  auto it = params.find(key);
  if (it == params.end()) throw std::runtime_error("golden case has no parameter " + key);
  return std::strtod(it->second.c_str(), nullptr);
}

bool GoldenCase::expects_error() const {
  auto it = params.find("expect");
  return it != params.end() && it->second == "error";
}

bool GoldenCase::f32_only() const {
  auto it = params.find("compare");
  return it != params.end() && it->second == "f32";
}

Dtype golden_dtype(const std::string& op, const std::string& name) {
  auto numbered = [&](const std::string& stem) {
    if (name.rfind(stem, 0) != 0) return false;
    for (std::size_t i = stem.size(); i < name.size(); ++i)
      if (name[i] < '0' || name[i] > '9') return false;
    return true;
  };
  if (name == "indices" || numbered("index") ||
      (name == "target" && (op == "cross_entropy" || op == "nll_loss")))
    return kInt64;
  if (numbered("mask") || name == "condition") return kUInt8;
  return kFloat32;
}

GoldenCase load_golden(const std::string& file) {
  std::ifstream in(golden_path(file));
  if (!in) throw std::runtime_error("cannot open golden file " + golden_path(file));
  GoldenCase result;
  std::string line;
  std::getline(in, line);
  auto header = split(line);
  if (header.empty()) throw std::runtime_error("empty golden file " + file);
  result.op = header[0];
  for (std::size_t i = 1; i < header.size(); ++i) {
    auto eq = header[i].find('=');
    if (eq != std::string::npos) result.params[header[i].substr(0, eq)] = header[i].substr(eq + 1);
  }
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto tokens = split(line);
    std::size_t colon = 1;
    while (colon < tokens.size() && tokens[colon] != ":") ++colon;
    if (tokens.empty() || colon == tokens.size())
      throw std::runtime_error("malformed golden line in " + file + ": " + line);
    GoldenTensor tensor;
    for (std::size_t i = 1; i < colon; ++i) tensor.shape.push_back(std::stoll(tokens[i]));
    for (std::size_t i = colon + 1; i < tokens.size(); ++i)
      tensor.values.push_back(std::strtod(tokens[i].c_str(), nullptr));
    if (static_cast<std::int64_t>(tensor.values.size()) != numel_of(tensor.shape))
      throw std::runtime_error("golden tensor " + tokens[0] + " in " + file + " has " +
                               std::to_string(tensor.values.size()) + " values for shape " +
                               to_string(tensor.shape));
    tensor.dtype = golden_dtype(result.op, tokens[0]);
    result.order.push_back(tokens[0]);
    result.tensors[tokens[0]] = std::move(tensor);
  }
  return result;
}

std::vector<std::string> golden_cases(const std::string& op) {
  std::ifstream in(golden_path("INDEX.txt"));
  if (!in) throw std::runtime_error("cannot open " + golden_path("INDEX.txt"));
  std::vector<std::string> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, case_op;
    std::getline(fields, name, '\t');
    std::getline(fields, case_op, '\t');
    if (case_op == op) cases.push_back(name);
  }
  return cases;
}

std::string compare(const Tensor& got, const GoldenTensor& want, double rtol, double atol) {
  if (got.dtype() != want.dtype)
    return std::string("dtype ") + dtype_name(got.dtype()) + " != expected " +
           dtype_name(want.dtype);
  if (got.sizes() != want.shape)
    return "shape " + to_string(got.sizes()) + " != expected " + to_string(want.shape);
  auto values = got.to(kFloat32).to_vector<float>();
  double worst = 0;
  std::size_t worst_index = 0;
  bool failed = false;
  for (std::size_t i = 0; i < values.size(); ++i) {
    double g = values[i], w = want.values[i];
    bool ok;
    if (std::isnan(w))
      ok = std::isnan(g);
    else if (std::isinf(w))
      ok = g == w;
    else
      ok = std::isfinite(g) && std::abs(g - w) <= atol + rtol * std::abs(w);
    double excess =
        std::isfinite(g) && std::isfinite(w) ? std::abs(g - w) - rtol * std::abs(w) : INFINITY;
    if (!ok && (!failed || excess > worst)) {
      failed = true;
      worst = excess;
      worst_index = i;
    }
  }
  if (!failed) return "";
  std::ostringstream msg;
  msg.precision(9);
  msg << "element " << worst_index << ": got " << values[worst_index] << ", expected "
      << want.values[worst_index] << " (rtol " << rtol << ", atol " << atol << ")";
  return msg.str();
}

GeneratorDraws load_generator_draws() {
  const std::string path = std::string(EMBER_GOLDEN_DIR) + "/generator_draws.txt";
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  GeneratorDraws draws;
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string name, colon;
    std::uint64_t seed = 0;
    if (!(in >> name >> seed >> colon) || colon != ":")
      throw std::runtime_error(path + ": malformed line: " + line);
    std::vector<double>& values = draws[name][seed];
    for (std::string token; in >> token;) {  // a float32 (%.9g), or an integer
      const bool is_float = token.find_first_of(".e") != std::string::npos;
      values.push_back(is_float ? double(std::strtof(token.c_str(), nullptr))
                                : std::strtod(token.c_str(), nullptr));
    }
  }
  return draws;
}

std::vector<double> head_and_tail(const std::vector<Tensor>& tensors) {
  std::vector<double> out;
  for (const Tensor& t : tensors) {
    const std::vector<float> v = t.to_vector<float>();
    for (std::size_t i : {std::size_t{0}, std::size_t{1}, v.size() - 2, v.size() - 1})
      out.push_back(v.at(i));
  }
  return out;
}

}  // namespace ember::test
