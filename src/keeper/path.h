// ZooKeeper path rules (org.apache.zookeeper.common.PathUtils.validatePath,
// release 3.8) and the small path helpers of the keeper's data tree.
//
// Paths arrive as UTF-8 bytes; Java checks them as UTF-16 chars, so the
// bytes are decoded first: malformed UTF-8 becomes U+FFFD (as Java's
// decoder does) and characters beyond U+FFFF become surrogate pairs, both
// of which validatePath refuses. "@N" in a message is the UTF-16 index.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dougong::keeper {

// nullopt when `path` is valid, else ZooKeeper's IllegalArgumentException
// message, e.g. "Path must start with / character" or
// "Invalid path string \"/a//b\" caused by empty node name specified @3".
std::optional<std::string> ValidatePath(std::string_view path);
inline bool IsValidPath(std::string_view path) { return !ValidatePath(path).has_value(); }

// The parent of a valid non-root path: "/a/b" -> "/a", "/a" -> "/".
std::string_view ParentPath(std::string_view path);
// The last component: "/a/b" -> "b"; "/" -> "".
std::string_view BaseName(std::string_view path);
// "/a" + "b" -> "/a/b"; "/" + "b" -> "/b".
std::string JoinPath(std::string_view parent, std::string_view child);

}  // namespace dougong::keeper
