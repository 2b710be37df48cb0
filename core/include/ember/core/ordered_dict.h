/// \file
/// ember::OrderedDict: a map that keeps insertion order, as torch::OrderedDict; a state dict is
/// an OrderedDict<std::string, Tensor> (ember::StateDict).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ember/core/error.h>
#include <ember/core/tensor.h>

namespace ember {

/// Keys mapped to values in the order they were inserted, as libtorch's torch::OrderedDict:
/// iteration yields items (key(), value()) in insertion order; lookup by key is O(1).
///
/// \code
///   StateDict dict = net.state_dict();
///   for (const auto& item : dict) std::cout << item.key() << " " << item.value().sizes() << "\n";
///   Tensor w = dict["fc1.weight"];
/// \endcode
template <class Key, class Value>
class OrderedDict {
 public:
  /// One entry: its key and its value.
  class Item {
   public:
    /// The entry `key` -> `value`.
    Item(Key key, Value value) : pair_(std::move(key), std::move(value)) {}
    /// The key.
    const Key& key() const { return pair_.first; }
    /// The value.
    Value& value() { return pair_.second; }
    /// \overload
    const Value& value() const { return pair_.second; }
    /// The (key, value) pair.
    const std::pair<Key, Value>& pair() const { return pair_; }

   private:
    std::pair<Key, Value> pair_;
  };
  using iterator = typename std::vector<Item>::iterator;              ///< Over the items, in order.
  using const_iterator = typename std::vector<Item>::const_iterator;  ///< \copydoc iterator

  /// An empty dict.
  OrderedDict() = default;
  /// The items of `items` in order. \throws ember::Error on a repeated key.
  OrderedDict(std::initializer_list<std::pair<Key, Value>> items) {
    for (const auto& [key, value] : items) insert(key, value);
  }

  /// Appends `key` -> `value` and returns the stored value.
  /// \throws ember::Error when `key` is already present.
  Value& insert(Key key, Value value) {
    EMBER_CHECK(index_.count(key) == 0, "OrderedDict: key '", key, "' is already present");
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().value();
  }
  /// The value of `key`, or nullptr when absent.
  Value* find(const Key& key) {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  /// \overload
  const Value* find(const Key& key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  /// True when `key` is present.
  bool contains(const Key& key) const { return index_.count(key) != 0; }
  /// The value of `key`. \throws ember::Error when `key` is absent.
  Value& operator[](const Key& key) {
    Value* value = find(key);
    EMBER_CHECK(value != nullptr, "OrderedDict: key '", key, "' is not present");
    return *value;
  }
  /// \overload
  const Value& operator[](const Key& key) const {
    const Value* value = find(key);
    EMBER_CHECK(value != nullptr, "OrderedDict: key '", key, "' is not present");
    return *value;
  }

  /// The number of items.
  std::size_t size() const { return items_.size(); }
  /// True when there are no items.
  bool is_empty() const { return items_.empty(); }
  /// The keys, in order.
  std::vector<Key> keys() const {
    std::vector<Key> out;
    out.reserve(items_.size());
    for (const Item& item : items_) out.push_back(item.key());
    return out;
  }
  /// The values, in order.
  std::vector<Value> values() const {
    std::vector<Value> out;
    out.reserve(items_.size());
    for (const Item& item : items_) out.push_back(item.value());
    return out;
  }
  /// The items, in order.
  const std::vector<Item>& items() const { return items_; }

  /// The first item; items come in insertion order.
  iterator begin() { return items_.begin(); }
  /// Past the last item.
  iterator end() { return items_.end(); }
  /// \copydoc begin()
  const_iterator begin() const { return items_.begin(); }
  /// \copydoc end()
  const_iterator end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  std::unordered_map<Key, std::size_t> index_;
};

/// Named tensors in order: what nn::Module::state_dict() returns and load_safetensors() reads.
using StateDict = OrderedDict<std::string, Tensor>;

}  // namespace ember
