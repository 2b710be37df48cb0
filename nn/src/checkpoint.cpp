// Module checkpoints: a module's parameters and buffers as records of the checkpoint format
// (<ember/core/record_format.h>, core/src/io/). See checkpoint.h.
#include <ember/nn/checkpoint.h>

#include <map>
#include <set>
#include <string>

#include <ember/core/error.h>
#include <ember/core/record_format.h>

namespace ember {

void save(const nn::Module& module, const std::string& path) {
  std::vector<core::CheckpointRecord> records;
  for (const auto& [name, p] : module.named_parameters()) {
    records.push_back(core::record_from_tensor(name, p));
  }
  for (const auto& [name, b] : module.named_buffers()) {  // as PyTorch's state_dict
    records.push_back(core::record_from_tensor(name, b));
  }
  core::write_checkpoint(path, core::CheckpointKind::Module, records);
}

void load(nn::Module& module, const std::string& path) {
  const auto records = core::read_checkpoint(path, core::CheckpointKind::Module);
  auto params = module.named_parameters();
  const std::size_t num_params = params.size();
  const auto buffers = module.named_buffers();
  params.insert(params.end(), buffers.begin(), buffers.end());
  std::map<std::string, const core::CheckpointRecord*> by_name;
  for (const auto& r : records) by_name[r.name] = &r;
  // What the module holds, for messages: "3 parameters" or "3 parameters and 1 buffer(s)".
  const std::string holds = buffers.empty()
                                ? detail::concat(num_params, " parameters")
                                : detail::concat(num_params, " parameters and ", buffers.size(),
                                                 buffers.size() == 1 ? " buffer" : " buffers");

  // Check everything first (no partial load).
  std::set<std::string> expected;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& [name, p] = params[i];
    const char* what = i < num_params ? "parameter" : "buffer";
    expected.insert(name);
    auto it = by_name.find(name);
    EMBER_CHECK(it != by_name.end(), "load: ", what, " '", name, "' ", to_string(p.sizes()),
                " of the module is missing from '", path, "' (the module has ", holds,
                ", the file ", records.size(), ")");
    const core::CheckpointRecord& r = *it->second;
    EMBER_CHECK(r.type == core::record_type_of(p.dtype()), "load: ", what, " '", name,
                "': expected dtype ", p.dtype(), ", got ", core::record_type_name(r.type), " in '",
                path, "'");
    EMBER_CHECK(r.shape == p.sizes(), "load: ", what, " '", name, "': expected shape ",
                to_string(p.sizes()), ", got ", to_string(r.shape), " in '", path, "'");
  }
  for (const auto& r : records) {
    // An entry only in the file: named a parameter, as most entries are (the file does not say).
    EMBER_CHECK(expected.count(r.name) != 0, "load: '", path, "' holds parameter '", r.name, "' ",
                to_string(r.shape), ", which the module does not have");
  }
  for (const auto& [name, p] : params) core::copy_record_to_tensor(*by_name.at(name), p);
}

}  // namespace ember
