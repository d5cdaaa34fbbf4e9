#include "rpc/reflection_service.h"

#include <set>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include "reflection.dougong.h"

namespace dougong::rpc {
namespace {

void AddFileWithDeps(const google::protobuf::FileDescriptor* file, std::set<std::string>* seen,
                     google::protobuf::FileDescriptorSet* out) {
  if (!seen->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) AddFileWithDeps(file->dependency(i), seen, out);
  file->CopyTo(out->add_file());
}

class ReflectionImpl : public ReflectionBase {
 public:
  explicit ReflectionImpl(const std::vector<Service*>* services) : services_(services) {}

  Status ListServices(ServerContext&, const ListServicesRequest&, ListServicesResponse* response) override {
    for (Service* s : *services_) response->add_services(s->GetDescriptor()->full_name());
    return {};
  }

  Status GetService(ServerContext&, const GetServiceRequest& request, GetServiceResponse* response) override {
    for (Service* s : *services_) {
      const auto* d = s->GetDescriptor();
      if (d->full_name() != request.service()) continue;
      std::set<std::string> seen;
      AddFileWithDeps(d->file(), &seen, response->mutable_files());
      return {};
    }
    return NotFound("no service " + request.service());
  }

 private:
  const std::vector<Service*>* services_;
};

}  // namespace

std::unique_ptr<Service> MakeReflectionService(const std::vector<Service*>* services) {
  return std::make_unique<ReflectionImpl>(services);
}

}  // namespace dougong::rpc
