// The two text steps every naming format repeats: take the next item of a
// separated list, and split "key=value".
#pragma once

#include <string_view>

namespace dougong::cluster::naming {

// Returns the text of *rest up to `sep` and drops it (and the separator)
// from *rest; the whole of *rest when there is no separator.
inline std::string_view TakeItem(std::string_view* rest, char sep) {
  size_t at = rest->find(sep);
  std::string_view item = rest->substr(0, at);
  *rest = at == std::string_view::npos ? std::string_view() : rest->substr(at + 1);
  return item;
}

// "key=value" with a non-empty key; false otherwise.
inline bool SplitKeyValue(std::string_view item, std::string_view* key, std::string_view* value) {
  size_t eq = item.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  *key = item.substr(0, eq);
  *value = item.substr(eq + 1);
  return true;
}

}  // namespace dougong::cluster::naming
