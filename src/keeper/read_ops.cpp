#include "keeper/read_ops.h"

namespace dougong::keeper {

using zk::ErrorCode;
using zk::OpCode;

namespace {

template <class T>
const T* As(const zk::RequestBody& body) {
  return std::get_if<T>(&body);
}

OpResult ErrorOnly(ErrorCode err) {
  OpResult r;
  r.err = err;
  return r;
}

}  // namespace

bool ExecuteRead(DataTree& tree, int32_t opcode, const zk::RequestBody& body, const AuthContext& auth,
                 int64_t session, OpResult* out) {
  switch (static_cast<OpCode>(opcode)) {
    case OpCode::kExists:
      if (auto* r = As<zk::ExistsRequest>(body)) return *out = tree.Exists(*r, auth, session), true;
      return false;
    case OpCode::kGetData:
      if (auto* r = As<zk::GetDataRequest>(body)) return *out = tree.GetData(*r, auth, session), true;
      return false;
    case OpCode::kGetChildren:
      if (auto* r = As<zk::GetChildrenRequest>(body)) return *out = tree.GetChildren(*r, auth, session), true;
      return false;
    case OpCode::kGetChildren2:
      if (auto* r = As<zk::GetChildren2Request>(body)) return *out = tree.GetChildren2(*r, auth, session), true;
      return false;
    case OpCode::kGetACL:
      if (auto* r = As<zk::GetACLRequest>(body)) return *out = tree.GetAcl(*r, auth), true;
      return false;
    case OpCode::kGetAllChildrenNumber:
      if (auto* r = As<zk::GetAllChildrenNumberRequest>(body)) return *out = tree.GetAllChildrenNumber(*r, auth), true;
      return false;
    case OpCode::kGetEphemerals:
      if (auto* r = As<zk::GetEphemeralsRequest>(body)) return *out = tree.GetEphemerals(*r, session), true;
      return false;
    case OpCode::kMultiRead:
      if (auto* r = As<zk::MultiRequest>(body)) return *out = tree.MultiRead(*r, auth, session), true;
      return false;
    case OpCode::kSync:
      if (auto* r = As<zk::SyncRequest>(body)) {
        out->err = ErrorCode::kOk;
        out->response = zk::SyncResponse{r->path};
        return true;
      }
      return false;
    case OpCode::kAddWatch:
      if (auto* r = As<zk::AddWatchRequest>(body)) return *out = tree.AddWatch(*r, session), true;
      return false;
    case OpCode::kCheckWatches:
      if (auto* r = As<zk::CheckWatchesRequest>(body)) return *out = ErrorOnly(tree.CheckWatches(*r, session)), true;
      return false;
    case OpCode::kRemoveWatches:
      if (auto* r = As<zk::RemoveWatchesRequest>(body)) return *out = ErrorOnly(tree.RemoveWatches(*r, session)), true;
      return false;
    case OpCode::kSetWatches:
      if (auto* r = As<zk::SetWatches>(body)) {
        zk::SetWatches2 sw;
        sw.relative_zxid = r->relative_zxid;
        sw.data_watches = r->data_watches;
        sw.exist_watches = r->exist_watches;
        sw.child_watches = r->child_watches;
        *out = OpResult{};
        out->events = tree.SetWatches(sw, session);
        return true;
      }
      return false;
    case OpCode::kSetWatches2:
      if (auto* r = As<zk::SetWatches2>(body)) {
        *out = OpResult{};
        out->events = tree.SetWatches(*r, session);
        return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace dougong::keeper
