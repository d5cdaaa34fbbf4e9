#include "cluster/naming/provider_codec.h"

#include <charconv>
#include <cstdint>

#include "cluster/naming/text.h"
#include "cluster/naming/url.h"

namespace dougong::cluster::naming {

namespace {

template <class Int>
Status ParseInt(std::string_view key, std::string_view text, Int* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument(std::string(key) + "='" + std::string(text) + "' is not an integer");
  }
  return Status::Ok();
}

std::string Escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> Unescape(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      out += value[i];
      continue;
    }
    char next = i + 1 < value.size() ? value[i + 1] : '\0';
    if (next != '\\' && next != 'n') return InvalidArgument("bad escape in '" + std::string(value) + "'");
    out += next == 'n' ? '\n' : '\\';
    ++i;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

Status SetProviderField(Provider* p, std::string_view key, std::string_view value) {
  if (key == "weight") {
    if (Status st = ParseInt(key, value, &p->weight); !st.ok()) return st;
    if (p->weight < 0) return InvalidArgument("weight must not be negative");
  } else if (key == "zone") {
    p->zone = value;
  } else if (key == "version") {
    p->version = value;
  } else if (key == "group") {
    p->group = value;
  } else if (key == "start_time_ms") {
    return ParseInt(key, value, &p->start_time_ms);
  } else if (key == "warmup_ms") {
    return ParseInt(key, value, &p->warmup_ms);
  } else if (key.starts_with("tag.") && key.size() > 4) {
    p->tags[std::string(key.substr(4))] = value;
  } else {
    return NotFound("unknown field '" + std::string(key) + "'");
  }
  return Status::Ok();
}

std::string EncodeKeyValues(const KeyValues& fields) {
  std::string out;
  for (const auto& [key, value] : fields) out += key + "=" + Escape(value) + "\n";
  return out;
}

Result<KeyValues> DecodeKeyValues(std::string_view text) {
  KeyValues out;
  while (!text.empty()) {
    std::string_view line = TakeItem(&text, '\n');
    std::string_view key, raw;
    if (line.empty()) continue;
    if (!SplitKeyValue(line, &key, &raw)) {
      return InvalidArgument("line '" + std::string(line) + "' is not key=value");
    }
    Result<std::string> value = Unescape(raw);
    if (!value.ok()) return value.status();
    out.emplace_back(std::string(key), std::move(*value));
  }
  return out;
}

KeyValues RegistrationFields(const ProviderRegistration& r) {
  const Provider& p = r.provider;
  std::string methods;
  for (const std::string& m : r.methods) methods += (methods.empty() ? "" : ",") + m;
  KeyValues fields = {{"address", p.address},
                      {"weight", std::to_string(p.weight)},
                      {"zone", p.zone},
                      {"version", p.version},
                      {"group", p.group},
                      {"start_time_ms", std::to_string(p.start_time_ms)},
                      {"warmup_ms", std::to_string(p.warmup_ms)},
                      {"methods", methods}};
  for (const auto& [name, value] : p.tags) fields.emplace_back("tag." + name, value);
  return fields;
}

Result<ProviderRegistration> RegistrationFromFields(const KeyValues& fields) {
  ProviderRegistration r;
  for (const auto& [key, value] : fields) {
    if (key == "address") {
      r.provider.address = value;
    } else if (key == "methods") {
      std::string_view rest = value;
      while (!rest.empty()) {
        std::string_view method = TakeItem(&rest, ',');
        if (!method.empty()) r.methods.emplace_back(method);
      }
    } else if (Status st = SetProviderField(&r.provider, key, value);
               !st.ok() && st.code() != Code::kNotFound) {
      return st;
    }
  }
  if (r.provider.address.empty()) return InvalidArgument("no address field");
  return r;
}

std::string EncodeRegistration(const ProviderRegistration& r) {
  return EncodeKeyValues(RegistrationFields(r));
}

Result<ProviderRegistration> DecodeRegistration(std::string_view text) {
  Result<KeyValues> fields = DecodeKeyValues(text);
  if (!fields.ok()) return fields.status();
  return RegistrationFromFields(*fields);
}

Status CheckServiceName(std::string_view service) {
  if (service.empty() || service.find('/') != std::string_view::npos || service == "." || service == "..") {
    return InvalidArgument("bad service name '" + std::string(service) + "'");
  }
  return Status::Ok();
}

Status CheckRegistration(const ProviderRegistration& r) {
  if (Status st = CheckServiceName(r.service); !st.ok()) return st;
  if (Status st = CheckHostPort(r.provider.address); !st.ok()) return st;
  if (r.provider.weight < 0) return InvalidArgument("negative weight");
  return Status::Ok();
}

std::string EncodeNodeName(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool plain = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                 c == '.' || c == '_' || c == '~' || c == '-';
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

Result<std::string> DecodeNodeName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    int hi = i + 2 < name.size() ? HexValue(name[i + 1]) : -1;
    int lo = hi >= 0 ? HexValue(name[i + 2]) : -1;
    if (lo < 0) return InvalidArgument("bad %-escape in node name '" + std::string(name) + "'");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace dougong::cluster::naming
