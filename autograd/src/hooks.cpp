// Post-accumulate-grad hooks: stored in the leaf's AutogradMeta, run by AccumulateGrad::apply.
#include <ember/autograd/hooks.h>

#include <atomic>

namespace ember::autograd {

HookId register_post_accumulate_grad_hook(const Tensor& leaf,
                                          std::function<void(const Tensor& leaf)> hook) {
  EMBER_CHECK(leaf.defined() && leaf.is_leaf() && leaf.requires_grad(),
              "register_post_accumulate_grad_hook: the tensor must be a leaf that requires grad");
  EMBER_CHECK(static_cast<bool>(hook), "register_post_accumulate_grad_hook: empty hook");
  static std::atomic<HookId> next_id{1};
  const HookId id = next_id++;
  leaf.impl()->autograd_meta().post_accumulate_grad_hooks.emplace_back(id, std::move(hook));
  return id;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, HookId id) {
  if (!leaf.defined() || !leaf.impl()->autograd) return;
  auto& hooks = leaf.impl()->autograd->post_accumulate_grad_hooks;
  std::erase_if(hooks, [id](const auto& hook) { return hook.first == id; });
}

}  // namespace ember::autograd
