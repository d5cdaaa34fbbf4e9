#include "cluster/naming/multicast_codec.h"

#include <charconv>
#include <cstdio>

#include "cluster/naming/provider_codec.h"
#include "cluster/naming/text.h"
#include "cluster/naming/url.h"

namespace dougong::cluster::naming {

namespace {

constexpr std::string_view kMagic = "DOUGONG-MCAST/";

const char* KindName(DatagramKind kind) {
  switch (kind) {
    case DatagramKind::kAnnounce: return "ANNOUNCE";
    case DatagramKind::kGoodbye: return "GOODBYE";
    case DatagramKind::kQuery: return "QUERY";
  }
  return "?";
}

Result<DatagramKind> KindOf(std::string_view name) {
  for (DatagramKind k : {DatagramKind::kAnnounce, DatagramKind::kGoodbye, DatagramKind::kQuery}) {
    if (name == KindName(k)) return k;
  }
  return InvalidArgument("unknown datagram kind '" + std::string(name) + "'");
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

template <class Int>
Status ParseNumber(std::string_view key, std::string_view text, int base, Int* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument(std::string(key) + " is not a number");
  }
  return Status::Ok();
}

// Service names travel in the clear: no control characters, no '/', bounded.
Status CheckDatagramService(std::string_view service) {
  if (Status st = CheckServiceName(service); !st.ok()) return st;
  if (service.size() > 255) return InvalidArgument("service name longer than 255 bytes");
  for (char c : service) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return InvalidArgument("control character in service name");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> EncodeDatagram(const Datagram& d) {
  KeyValues fields = {{"instance", Hex64(d.instance)}, {"seq", std::to_string(d.seq)}};
  switch (d.kind) {
    case DatagramKind::kAnnounce: {
      fields.emplace_back("ttl_ms", std::to_string(d.ttl_ms));
      fields.emplace_back("service", d.registration.service);
      KeyValues provider = RegistrationFields(d.registration);
      fields.insert(fields.end(), provider.begin(), provider.end());
      break;
    }
    case DatagramKind::kGoodbye:
      fields.emplace_back("service", d.registration.service);
      fields.emplace_back("address", d.registration.provider.address);
      break;
    case DatagramKind::kQuery:
      for (const std::string& s : d.services) fields.emplace_back("service", s);
      break;
  }
  std::string out = std::string(kMagic) + std::to_string(kMulticastVersion) + " " + KindName(d.kind) + "\n" +
                    EncodeKeyValues(fields);
  if (out.size() > kMaxDatagramSize) {
    return InvalidArgument("datagram of " + std::to_string(out.size()) + " bytes exceeds " +
                           std::to_string(kMaxDatagramSize) + " (too many tags or methods)");
  }
  return out;
}

Result<Datagram> DecodeDatagram(std::string_view bytes) {
  if (bytes.size() > kMaxDatagramSize) return InvalidArgument("datagram longer than " + std::to_string(kMaxDatagramSize) + " bytes");
  std::string_view rest = bytes;
  std::string_view first = TakeItem(&rest, '\n');
  if (!first.starts_with(kMagic)) return InvalidArgument("not a dougong multicast datagram");
  first.remove_prefix(kMagic.size());
  std::string_view version = TakeItem(&first, ' ');
  int v = 0;
  if (Status st = ParseNumber("version", version, 10, &v); !st.ok()) return st;
  if (v != kMulticastVersion) {
    return InvalidArgument("datagram version " + std::string(version) + " (this build reads " +
                           std::to_string(kMulticastVersion) + ")");
  }
  Datagram d;
  Result<DatagramKind> kind = KindOf(first);
  if (!kind.ok()) return kind.status();
  d.kind = *kind;

  Result<KeyValues> fields = DecodeKeyValues(rest);
  if (!fields.ok()) return fields.status();
  bool has_instance = false, has_seq = false, has_ttl = false;
  auto once = [](bool* seen, const std::string& key) {
    if (*seen) return InvalidArgument("field '" + key + "' given twice");
    *seen = true;
    return Status::Ok();
  };
  KeyValues provider;  // what is left for the registration
  for (auto& [key, value] : *fields) {
    Status st;
    if (key == "instance") {
      st = once(&has_instance, key);
      if (st.ok() && value.size() != 16) st = InvalidArgument("instance is not 16 hex digits");
      if (st.ok()) st = ParseNumber(key, value, 16, &d.instance);
    } else if (key == "seq") {
      st = once(&has_seq, key);
      if (st.ok()) st = ParseNumber(key, value, 10, &d.seq);
    } else if (key == "ttl_ms" && d.kind == DatagramKind::kAnnounce) {
      st = once(&has_ttl, key);
      if (st.ok()) st = ParseNumber(key, value, 10, &d.ttl_ms);
      if (st.ok() && (d.ttl_ms <= 0 || d.ttl_ms > kMaxDatagramTtlMs)) st = InvalidArgument("ttl_ms out of range");
    } else if (key == "service") {
      st = CheckDatagramService(value);
      if (st.ok() && d.kind == DatagramKind::kQuery) {
        d.services.push_back(std::move(value));
      } else if (st.ok()) {
        if (!d.registration.service.empty()) return InvalidArgument("field 'service' given twice");
        d.registration.service = std::move(value);
      }
    } else {
      provider.emplace_back(std::move(key), std::move(value));
    }
    if (!st.ok()) return st;
  }
  if (!has_instance || !has_seq) return InvalidArgument("datagram without instance or seq");
  if (d.kind == DatagramKind::kQuery) return d;
  if (d.registration.service.empty()) return InvalidArgument("datagram without service");
  if (d.kind == DatagramKind::kAnnounce && !has_ttl) return InvalidArgument("announcement without ttl_ms");
  Result<ProviderRegistration> r = RegistrationFromFields(provider);
  if (!r.ok()) return r.status();
  r->service = std::move(d.registration.service);
  if (Status st = CheckRegistration(*r); !st.ok()) return st;
  d.registration = std::move(*r);
  return d;
}

}  // namespace dougong::cluster::naming
