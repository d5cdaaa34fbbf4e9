// The text steps the naming formats and the rules repeat: take the next
// item of a separated list, split "key=value", trim white space.
#pragma once

#include <cctype>
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

// `s` without leading and trailing white space.
inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace dougong::cluster::naming
