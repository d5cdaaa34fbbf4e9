#include "rpc/json_codec.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

namespace dougong::rpc {

Status JsonToMessage(std::string_view json, google::protobuf::Message* message) {
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) json = "{}";
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!st.ok())
    return InvalidArgument("invalid JSON for " + message->GetTypeName() + ": " + std::string(st.message()));
  return {};
}

Status MessageToJson(const google::protobuf::Message& message, std::string* json, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = false;
  auto st = google::protobuf::util::MessageToJsonString(message, json, options);
  if (!st.ok()) return Internal("cannot print JSON: " + std::string(st.message()));
  return {};
}

}  // namespace dougong::rpc
