#include "dougong/rpc/service.h"

#include <google/protobuf/descriptor.h>

namespace dougong::rpc {

void Service::FillNames(const google::protobuf::MethodDescriptor* md, MethodDef* def) {
  def->descriptor = md;
  def->service = md->service()->full_name();
  def->method = md->name();
}

Status Service::SetHandlerMode(std::string_view method, HandlerMode mode) {
  for (auto& m : methods_) {
    if (m.method == method) {
      m.mode = mode;
      return {};
    }
  }
  return NotFound("no method " + std::string(method));
}

}  // namespace dougong::rpc
