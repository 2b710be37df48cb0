// Saving and loading an SGD optimizer's state. See checkpoint.h.
#include <ember/optim/checkpoint.h>

#include <map>
#include <set>

#include <ember/core/error.h>
#include <ember/core/record_format.h>

namespace ember {

namespace {

using core::CheckpointRecord;

std::string group_key(std::size_t g, const char* field) {
  return "param_groups." + std::to_string(g) + "." + field;
}

std::string buffer_key(std::size_t g, std::size_t i) {
  return "state." + std::to_string(g) + "." + std::to_string(i) + ".momentum_buffer";
}

}  // namespace

void save(const optim::SGD& optimizer, const std::string& path) {
  std::vector<CheckpointRecord> records;
  const auto& groups = optimizer.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const optim::SGDOptions::Fields& o = groups[g].options.fields();
    records.push_back(core::scalar_record(group_key(g, "num_params"),
                                          static_cast<std::int64_t>(groups[g].params.size())));
    records.push_back(core::scalar_record(group_key(g, "lr"), o.lr));
    records.push_back(core::scalar_record(group_key(g, "momentum"), o.momentum));
    records.push_back(core::scalar_record(group_key(g, "dampening"), o.dampening));
    records.push_back(core::scalar_record(group_key(g, "weight_decay"), o.weight_decay));
    records.push_back(
        core::scalar_record(group_key(g, "nesterov"), std::int64_t{o.nesterov ? 1 : 0}));
    records.push_back(
        core::scalar_record(group_key(g, "maximize"), std::int64_t{o.maximize ? 1 : 0}));
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (std::size_t i = 0; i < groups[g].momentum_buffers.size(); ++i) {
      const Tensor& buf = groups[g].momentum_buffers[i];
      if (buf.defined()) records.push_back(core::record_from_tensor(buffer_key(g, i), buf));
    }
  }
  core::write_checkpoint(path, core::CheckpointKind::Optimizer, records);
}

void load(optim::SGD& optimizer, const std::string& path) {
  const auto records = core::read_checkpoint(path, core::CheckpointKind::Optimizer);
  std::map<std::string, const CheckpointRecord*> by_name;
  for (const auto& r : records) by_name[r.name] = &r;
  auto& groups = optimizer.param_groups();

  // Check everything and build the new state aside; assign only at the end (no partial load).
  std::set<std::string> known;
  std::vector<optim::SGDOptions::Fields> options(groups.size());
  std::vector<std::vector<Tensor>> buffers(groups.size());
  auto find = [&](const std::string& name) -> const CheckpointRecord& {
    known.insert(name);
    auto it = by_name.find(name);
    EMBER_CHECK(it != by_name.end(), "load: '", path, "' has no entry '", name,
                "' (the optimizer has ", groups.size(), " parameter groups)");
    return *it->second;
  };
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::int64_t count = core::scalar_int64(find(group_key(g, "num_params")));
    EMBER_CHECK(count == static_cast<std::int64_t>(groups[g].params.size()),
                "load: parameter group ", g, ": expected ", groups[g].params.size(),
                " parameters, got ", count, " in '", path, "'");
    optim::SGDOptions::Fields& o = options[g];
    o.lr = core::scalar_double(find(group_key(g, "lr")));
    o.momentum = core::scalar_double(find(group_key(g, "momentum")));
    o.dampening = core::scalar_double(find(group_key(g, "dampening")));
    o.weight_decay = core::scalar_double(find(group_key(g, "weight_decay")));
    o.nesterov = core::scalar_int64(find(group_key(g, "nesterov"))) != 0;
    o.maximize = core::scalar_int64(find(group_key(g, "maximize"))) != 0;
    optim::detail::check_sgd_options(o, "load");
    buffers[g].resize(groups[g].params.size());
    for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
      const std::string key = buffer_key(g, i);
      auto it = by_name.find(key);
      if (it == by_name.end()) continue;
      known.insert(key);
      const CheckpointRecord& r = *it->second;
      const Tensor& p = groups[g].params[i];
      EMBER_CHECK(r.type == core::RecordType::Float32, "load: '", key,
                  "': expected dtype float32, got ", core::record_type_name(r.type), " in '", path,
                  "'");
      EMBER_CHECK(r.shape == p.sizes(), "load: '", key, "': expected shape ", to_string(p.sizes()),
                  " (its parameter's), got ", to_string(r.shape), " in '", path, "'");
      Tensor buf = empty(r.shape);
      core::copy_record_to_tensor(r, buf);
      buffers[g][i] = buf;
    }
  }
  for (const auto& r : records) {
    EMBER_CHECK(known.count(r.name) != 0, "load: '", path, "' holds '", r.name,
                "', which this optimizer does not have (it has ", groups.size(),
                " parameter groups)");
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    groups[g].options = options[g];
    groups[g].momentum_buffers = std::move(buffers[g]);
  }
}

}  // namespace ember
