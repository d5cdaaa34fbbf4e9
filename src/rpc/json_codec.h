// JSON <-> protobuf with protobuf's canonical JSON mapping, as Status values.
#pragma once

#include <string>
#include <string_view>

#include "dougong/base/status.h"

namespace google::protobuf {
class Message;
}

namespace dougong::rpc {

// Empty input is read as "{}". Unknown fields are an error.
Status JsonToMessage(std::string_view json, google::protobuf::Message* message);
Status MessageToJson(const google::protobuf::Message& message, std::string* json, bool pretty = false);

}  // namespace dougong::rpc
