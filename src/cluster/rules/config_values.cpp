// Key checks and the typed getters' parsers (include/dougong/cluster/config_center.h).
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

#include "dougong/cluster/config_center.h"
#include "cluster/naming/text.h"

namespace dougong::cluster {
namespace {

using naming::Trim;

Status NotA(std::string_view what, std::string_view text) {
  return InvalidArgument("'" + std::string(text) + "' is not " + std::string(what));
}

bool KeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._:@+=,-").find(c) != std::string_view::npos;
}

template <class T>
Result<T> Typed(Result<std::string> value, Result<T> (*parse)(std::string_view), std::string_view key) {
  if (!value.ok()) return value.status();
  Result<T> parsed = parse(*value);
  if (!parsed.ok()) return InvalidArgument("config " + std::string(key) + ": " + parsed.status().message());
  return parsed;
}

}  // namespace

Status CheckConfigKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("empty config key");
  std::string_view rest = key;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..")
      return InvalidArgument("config key '" + std::string(key) + "': empty, '.' or '..' segment");
    for (char c : segment)
      if (!KeyChar(c))
        return InvalidArgument("config key '" + std::string(key) + "': character '" + std::string(1, c) +
                               "' not allowed (want [A-Za-z0-9._:@+=,-] and '/')");
    if (slash == std::string_view::npos) return Status();
    rest.remove_prefix(slash + 1);
  }
}

Result<int64_t> ParseConfigInt(std::string_view text) {
  std::string_view t = Trim(text);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) return NotA("an integer", text);
  return v;
}

Result<double> ParseConfigDouble(std::string_view text) {
  std::string_view t = Trim(text);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v))
    return NotA("a number", text);
  return v;
}

Result<bool> ParseConfigBool(std::string_view text) {
  std::string t(Trim(text));
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return NotA("a boolean (true/false, yes/no, on/off, 1/0)", text);
}

Result<std::chrono::milliseconds> ParseConfigDuration(std::string_view text) {
  std::string_view t = Trim(text);
  size_t unit_at = t.size();
  while (unit_at > 0 && std::isalpha(static_cast<unsigned char>(t[unit_at - 1]))) --unit_at;
  std::string_view unit = t.substr(unit_at);
  double scale;  // to milliseconds
  if (unit.empty() || unit == "ms") scale = 1;
  else if (unit == "us") scale = 1e-3;
  else if (unit == "s") scale = 1e3;
  else if (unit == "m") scale = 60e3;
  else if (unit == "h") scale = 3600e3;
  else return NotA("a duration (e.g. 500ms, 2s, 1m, 1h)", text);
  Result<double> number = ParseConfigDouble(t.substr(0, unit_at));
  if (!number.ok() || *number < 0 || *number * scale > 1e15) return NotA("a duration (e.g. 500ms, 2s, 1m, 1h)", text);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(*number * scale)));
}

Result<int64_t> ConfigCenter::GetInt64(std::string_view key) { return Typed(Get(key), &ParseConfigInt, key); }
Result<double> ConfigCenter::GetDouble(std::string_view key) { return Typed(Get(key), &ParseConfigDouble, key); }
Result<bool> ConfigCenter::GetBool(std::string_view key) { return Typed(Get(key), &ParseConfigBool, key); }
Result<std::chrono::milliseconds> ConfigCenter::GetDuration(std::string_view key) {
  return Typed(Get(key), &ParseConfigDuration, key);
}

}  // namespace dougong::cluster
