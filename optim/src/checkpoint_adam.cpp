// Saving and loading Adam/AdamW optimizers and learning-rate schedulers. See checkpoint.h.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ember/core/error.h>
#include <ember/core/record_format.h>
#include <ember/optim/checkpoint.h>

namespace ember {

namespace {

using core::CheckpointRecord;

std::string group_key(std::size_t g, const char* field) {
  return "param_groups." + std::to_string(g) + "." + field;
}

std::string state_key(std::size_t g, std::size_t i, const char* field) {
  return "state." + std::to_string(g) + "." + std::to_string(i) + "." + field;
}

// The records of a checkpoint by name; find() marks a name as read, so that unknown entries
// can be reported at the end.
class Records {
 public:
  Records(const std::string& path, std::vector<CheckpointRecord> records)
      : path_(path), records_(std::move(records)) {
    for (const auto& r : records_) by_name_[r.name] = &r;
  }
  const CheckpointRecord* find(const std::string& name) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return nullptr;
    known_.insert(name);
    return it->second;
  }
  const CheckpointRecord& at(const std::string& name, const std::string& context) {
    const CheckpointRecord* r = find(name);
    EMBER_CHECK(r != nullptr, "load: '", path_, "' has no entry '", name, "'", context);
    return *r;
  }
  // The first entry starting with `prefix`, or null.
  const CheckpointRecord* first_with_prefix(const std::string& prefix) const {
    auto it = by_name_.lower_bound(prefix);
    return it != by_name_.end() && it->first.rfind(prefix, 0) == 0 ? it->second : nullptr;
  }
  void check_all_read(const std::string& what) const {
    for (const auto& r : records_) {
      EMBER_CHECK(known_.count(r.name) != 0, "load: '", path_, "' holds '", r.name,
                  "', which this ", what, " does not have");
    }
  }

 private:
  std::string path_;
  std::vector<CheckpointRecord> records_;
  std::map<std::string, const CheckpointRecord*> by_name_;
  std::set<std::string> known_;
};

Tensor tensor_from(const CheckpointRecord& r, const Tensor& p, const std::string& path) {
  EMBER_CHECK(r.type == core::RecordType::Float32, "load: '", r.name,
              "': expected dtype float32, got ", core::record_type_name(r.type), " in '", path,
              "'");
  EMBER_CHECK(r.shape == p.sizes(), "load: '", r.name, "': expected shape ", to_string(p.sizes()),
              " (its parameter's), got ", to_string(r.shape), " in '", path, "'");
  Tensor t = empty(r.shape);
  core::copy_record_to_tensor(r, t);
  return t;
}

template <class Options>
void save_adam(const optim::BasicAdam<Options>& optimizer, const std::string& path) {
  using Opt = optim::BasicAdam<Options>;
  std::vector<CheckpointRecord> records;
  records.push_back(core::scalar_record(std::string("optimizer.") + Opt::kName, std::int64_t{1}));
  const auto& groups = optimizer.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const typename Options::Fields& o = groups[g].options.fields();
    records.push_back(core::scalar_record(group_key(g, "num_params"),
                                          static_cast<std::int64_t>(groups[g].params.size())));
    records.push_back(core::scalar_record(group_key(g, "lr"), o.lr));
    records.push_back(core::scalar_record(group_key(g, "beta1"), std::get<0>(o.betas)));
    records.push_back(core::scalar_record(group_key(g, "beta2"), std::get<1>(o.betas)));
    records.push_back(core::scalar_record(group_key(g, "eps"), o.eps));
    records.push_back(core::scalar_record(group_key(g, "weight_decay"), o.weight_decay));
    records.push_back(
        core::scalar_record(group_key(g, "amsgrad"), std::int64_t{o.amsgrad ? 1 : 0}));
    records.push_back(
        core::scalar_record(group_key(g, "maximize"), std::int64_t{o.maximize ? 1 : 0}));
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (std::size_t i = 0; i < groups[g].state.size(); ++i) {
      const optim::AdamParamState& st = groups[g].state[i];
      records.push_back(core::scalar_record(state_key(g, i, "step"), st.step));
      if (st.step == 0) continue;
      records.push_back(core::record_from_tensor(state_key(g, i, "exp_avg"), st.exp_avg));
      records.push_back(core::record_from_tensor(state_key(g, i, "exp_avg_sq"), st.exp_avg_sq));
      if (st.max_exp_avg_sq.defined()) {
        records.push_back(
            core::record_from_tensor(state_key(g, i, "max_exp_avg_sq"), st.max_exp_avg_sq));
      }
    }
  }
  core::write_checkpoint(path, core::CheckpointKind::Optimizer, records);
}

template <class Options>
void load_adam(optim::BasicAdam<Options>& optimizer, const std::string& path) {
  using Opt = optim::BasicAdam<Options>;
  Records records(path, core::read_checkpoint(path, core::CheckpointKind::Optimizer));
  auto& groups = optimizer.param_groups();
  const std::string context =
      " (the optimizer has " + std::to_string(groups.size()) + " parameter groups)";

  // Which optimizer wrote the file: an SGD file has no marker, an AdamW file another.
  if (records.find(std::string("optimizer.") + Opt::kName) == nullptr) {
    const CheckpointRecord* other = records.first_with_prefix("optimizer.");
    EMBER_CHECK(other == nullptr, "load: '", path, "' holds the state of ", other->name.substr(10),
                ", not of ", Opt::kName);
    EMBER_CHECK(false, "load: '", path, "' holds no ", Opt::kName, " state (no entry 'optimizer.",
                Opt::kName, "'; an SGD checkpoint?)");
  }
  // Check everything and build the new state aside; assign only at the end (no partial load).
  std::vector<Options> options(groups.size());
  std::vector<std::vector<optim::AdamParamState>> states(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::int64_t count = core::scalar_int64(records.at(group_key(g, "num_params"), context));
    EMBER_CHECK(count == static_cast<std::int64_t>(groups[g].params.size()),
                "load: parameter group ", g, ": expected ", groups[g].params.size(),
                " parameters, got ", count, " in '", path, "'");
    typename Options::Fields o;
    o.lr = core::scalar_double(records.at(group_key(g, "lr"), context));
    o.betas = {core::scalar_double(records.at(group_key(g, "beta1"), context)),
               core::scalar_double(records.at(group_key(g, "beta2"), context))};
    o.eps = core::scalar_double(records.at(group_key(g, "eps"), context));
    o.weight_decay = core::scalar_double(records.at(group_key(g, "weight_decay"), context));
    o.amsgrad = core::scalar_int64(records.at(group_key(g, "amsgrad"), context)) != 0;
    o.maximize = core::scalar_int64(records.at(group_key(g, "maximize"), context)) != 0;
    optim::detail::check_adam_options(Options(o), "load");
    options[g] = o;
    states[g].resize(groups[g].params.size());
    for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
      const Tensor& p = groups[g].params[i];
      optim::AdamParamState& st = states[g][i];
      const std::string step_key = state_key(g, i, "step");
      st.step = core::scalar_int64(records.at(step_key, context));
      EMBER_CHECK(st.step >= 0 && st.step < std::int64_t{1} << 53, "load: '", step_key, "': step ",
                  st.step, " is not in [0, 2^53) in '", path, "'");
      if (st.step == 0) continue;
      st.exp_avg = tensor_from(records.at(state_key(g, i, "exp_avg"), context), p, path);
      st.exp_avg_sq = tensor_from(records.at(state_key(g, i, "exp_avg_sq"), context), p, path);
      if (const CheckpointRecord* r = records.find(state_key(g, i, "max_exp_avg_sq"))) {
        st.max_exp_avg_sq = tensor_from(*r, p, path);
      }
    }
  }
  records.check_all_read(std::string(Opt::kName) + " optimizer" + context);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    groups[g].options = options[g];
    groups[g].state = std::move(states[g]);
  }
}

std::string scheduler_key(const char* field, std::size_t index) {
  return std::string("scheduler.") + field + "." + std::to_string(index);
}

}  // namespace

void save(const optim::Adam& optimizer, const std::string& path) {
  save_adam(optimizer, path);
}
void save(const optim::AdamW& optimizer, const std::string& path) {
  save_adam(optimizer, path);
}
void load(optim::Adam& optimizer, const std::string& path) {
  load_adam(optimizer, path);
}
void load(optim::AdamW& optimizer, const std::string& path) {
  load_adam(optimizer, path);
}

void save(const optim::LRScheduler& scheduler, const std::string& path) {
  std::vector<CheckpointRecord> records;
  records.push_back(
      core::scalar_record(std::string("scheduler.") + scheduler.name(), std::int64_t{1}));
  records.push_back(core::scalar_record("scheduler.last_epoch", scheduler.last_epoch()));
  const std::size_t groups = scheduler.base_lrs().size();
  records.push_back(core::scalar_record("scheduler.num_groups", static_cast<std::int64_t>(groups)));
  for (std::size_t g = 0; g < groups; ++g) {
    records.push_back(core::scalar_record(scheduler_key("base_lrs", g), scheduler.base_lrs()[g]));
    records.push_back(core::scalar_record(scheduler_key("last_lr", g), scheduler.get_last_lr()[g]));
  }
  const std::vector<double> hyper = scheduler.hyperparameters();
  for (std::size_t k = 0; k < hyper.size(); ++k) {
    records.push_back(core::scalar_record(scheduler_key("hyperparameters", k), hyper[k]));
  }
  core::write_checkpoint(path, core::CheckpointKind::Optimizer, records);
}

void load(optim::LRScheduler& scheduler, const std::string& path) {
  Records records(path, core::read_checkpoint(path, core::CheckpointKind::Optimizer));
  const std::string marker = std::string("scheduler.") + scheduler.name();
  if (records.find(marker) == nullptr) {
    const CheckpointRecord* other = records.first_with_prefix("scheduler.");
    EMBER_CHECK(other == nullptr || other->name.find('.', 10) != std::string::npos, "load: '", path,
                "' holds the state of a ", other->name.substr(10), ", not of a ", scheduler.name());
    EMBER_CHECK(false, "load: '", path, "' holds no ", scheduler.name(), " state (no entry '",
                marker, "')");
  }
  const std::string none;
  const std::int64_t last_epoch = core::scalar_int64(records.at("scheduler.last_epoch", none));
  const std::int64_t groups = core::scalar_int64(records.at("scheduler.num_groups", none));
  const std::size_t want = scheduler.optimizer().num_param_groups();
  EMBER_CHECK(groups == static_cast<std::int64_t>(want), "load: '", path, "' holds a ",
              scheduler.name(), " of ", groups, " parameter groups, this one has ", want);
  std::vector<double> base_lrs(want), last_lr(want);
  for (std::size_t g = 0; g < want; ++g) {
    base_lrs[g] = core::scalar_double(records.at(scheduler_key("base_lrs", g), none));
    last_lr[g] = core::scalar_double(records.at(scheduler_key("last_lr", g), none));
  }
  const std::vector<double> hyper = scheduler.hyperparameters();
  for (std::size_t k = 0; k < hyper.size(); ++k) {
    const double saved = core::scalar_double(records.at(scheduler_key("hyperparameters", k), none));
    EMBER_CHECK(saved == hyper[k], "load: '", path, "' holds a ", scheduler.name(),
                " whose hyperparameter ", k, " is ", saved, ", this one's is ", hyper[k],
                " (construct the scheduler with the arguments of the saved run)");
  }
  records.check_all_read(std::string(scheduler.name()) + " scheduler");
  scheduler.set_state(last_epoch, std::move(base_lrs), std::move(last_lr));
}

}  // namespace ember
