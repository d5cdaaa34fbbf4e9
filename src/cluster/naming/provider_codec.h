// How providers are written down: the key=value fields shared by the
// provider file (one provider per line) and the ZooKeeper node data (one
// field per line), and the URL encoding of node names (docs/registry.md).
// Text an operator can read with `cat` or `dougong zk get`.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dougong/base/result.h"
#include "dougong/base/status.h"
#include "dougong/cluster/naming.h"

namespace dougong::cluster::naming {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Sets one field of `p` from its text: weight, zone, version, group,
// start_time_ms, warmup_ms, tag.NAME. NOT_FOUND for any other key (the
// caller decides whether that is an error); INVALID_ARGUMENT for a bad value.
Status SetProviderField(Provider* p, std::string_view key, std::string_view value);

// Node data: "key=value" lines; '\' and newlines in values escaped as
// "\\" and "\n". Decoding refuses a line without '='.
std::string EncodeKeyValues(const KeyValues& fields);
Result<KeyValues> DecodeKeyValues(std::string_view text);

// A registration as fields: address, weight, zone, version, group,
// start_time_ms, warmup_ms, methods (comma-separated), tag.NAME (the service
// is not among them: ZooKeeper has it in the path, a datagram in its own
// field). Reading needs an address and ignores unknown keys, so newer
// writers can add fields without breaking older readers.
KeyValues RegistrationFields(const ProviderRegistration& r);
Result<ProviderRegistration> RegistrationFromFields(const KeyValues& fields);

// The same as node data (EncodeKeyValues of the fields).
std::string EncodeRegistration(const ProviderRegistration& r);
Result<ProviderRegistration> DecodeRegistration(std::string_view text);

// What Register accepts from any backend: a service name that can be a
// node name ("" "." ".." and '/' refused), a host:port address, a weight
// not below 0.
Status CheckServiceName(std::string_view service);
Status CheckRegistration(const ProviderRegistration& r);

// Node names: every byte outside [A-Za-z0-9._~-] as %XX (upper-case hex), so
// "10.0.0.1:8000" is "10.0.0.1%3A8000" and no name contains '/'.
std::string EncodeNodeName(std::string_view text);
Result<std::string> DecodeNodeName(std::string_view name);

}  // namespace dougong::cluster::naming
