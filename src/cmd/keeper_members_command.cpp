// `dougong keeper members list|add|remove`: the membership of a replicated
// keeper, through any member's peer port (KeeperPeer service); changes go
// to the leader, which this follows when the member asked is not it.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cmd/commands.h"
#include "dougong/keeper/peer.dougong.h"
#include "dougong/rpc/channel.h"
#include "dougong/rpc/client_context.h"

namespace dougong::cmd {

namespace {

struct MembersFlags {
  std::string peer = "127.0.0.1:2888";
  uint64_t id = 0;
  std::string address;
  std::string client;
  bool observer = false;
  int timeout_ms = 15000;
};

// "... the leader is at HOST:PORT" -> HOST:PORT.
std::string LeaderIn(const Status& s) {
  const std::string marker = "the leader is at ";
  auto at = s.message().find(marker);
  return at == std::string::npos ? std::string() : s.message().substr(at + marker.size());
}

template <class Call>
auto OnLeader(const std::string& first, const Call& call) -> decltype(call(std::declval<keeper::peer::KeeperPeerStub&>())) {
  std::string target = first;
  for (int hop = 0;; ++hop) {
    auto channel = rpc::Channel::Create(target);
    if (!channel.ok()) return channel.status();
    keeper::peer::KeeperPeerStub stub(std::move(*channel));
    auto r = call(stub);
    if (r.ok() || hop > 0 || r.status().code() != Code::kFailedPrecondition || LeaderIn(r.status()).empty()) return r;
    target = LeaderIn(r.status());
  }
}

Result<keeper::peer::MembersResponse> AskMembers(const std::string& peer, int timeout_ms) {
  rpc::ClientContext ctx;
  ctx.set_timeout(std::chrono::milliseconds(timeout_ms));
  auto channel = rpc::Channel::Create(peer);
  if (!channel.ok()) return channel.status();
  return keeper::peer::KeeperPeerStub(std::move(*channel)).Members(keeper::peer::MembersRequest{}, &ctx);
}

int List(const MembersFlags& f) {
  auto r = AskMembers(f.peer, f.timeout_ms);
  std::string asked = f.peer;
  if (r.ok()) {
    // Only the leader knows how far each member is: ask it if this was not it.
    for (const auto& m : r->members()) {
      if (m.id() != r->leader() || m.peer().empty() || m.peer() == f.peer) continue;
      auto from_leader = AskMembers(m.peer(), f.timeout_ms);
      if (from_leader.ok()) {
        r = std::move(from_leader);
        asked = m.peer();
      }
      break;
    }
  }
  if (!r.ok()) {
    fmt::print(stderr, "dougong keeper members list: {}\n", r.status().ToString());
    return 1;
  }
  fmt::print("leader {}  term {}  commit {}  (as seen by {})\n", r->leader(), r->term(), r->commit(), asked);
  fmt::print("{:>4}  {:<9} {:<22} {:<22} {:>10} {:>8}\n", "id", "role", "peer", "client", "match", "lag");
  for (const auto& m : r->members()) {
    fmt::print("{:>4}  {:<9} {:<22} {:<22} {:>10} {:>8}\n", m.id(), m.role(), m.peer().empty() ? "?" : m.peer(),
               m.client().empty() ? "?" : m.client(), m.match(), m.lag());
  }
  return 0;
}

int Change(const MembersFlags& f, keeper::peer::ChangeMemberRequest::Kind kind) {
  keeper::peer::ChangeMemberRequest req;
  req.set_kind(kind);
  req.mutable_member()->set_id(f.id);
  req.mutable_member()->set_peer(f.address);
  req.mutable_member()->set_client(f.client);
  auto r = OnLeader(f.peer, [&](keeper::peer::KeeperPeerStub& stub) {
    rpc::ClientContext ctx;
    ctx.set_timeout(std::chrono::milliseconds(f.timeout_ms));
    return stub.ChangeMember(req, &ctx);
  });
  if (!r.ok()) {
    fmt::print(stderr, "dougong keeper members: {}\n", r.status().ToString());
    return 1;
  }
  fmt::print("committed at index {}\n", r->index());
  return 0;
}

}  // namespace

CLI::App* AddKeeperMembersCommand(CLI::App& keeper, int* exit_code) {
  auto* members = keeper.add_subcommand("members", "List or change the members of a replicated keeper");
  members->require_subcommand(1);
  auto f = std::make_shared<MembersFlags>();
  auto peer_opt = [f](CLI::App* c) {
    c->add_option("--peer", f->peer, "Any member's peer address host:port (default 127.0.0.1:2888)");
    c->add_option("--timeout-ms", f->timeout_ms, "Give up after this long (default 15000)");
  };
  auto* list = members->add_subcommand("list", "Members, roles and each one's lag behind the leader");
  peer_opt(list);
  list->callback([f, exit_code] { *exit_code = List(*f); });
  auto* add = members->add_subcommand("add", "Add a member (it must be running with cluster.join: true)");
  peer_opt(add);
  add->add_option("--id", f->id, "The new member's id (1..255)")->required();
  add->add_option("--address", f->address, "The new member's peer address host:port")->required();
  add->add_option("--client", f->client, "The new member's client address host:port (for tools)");
  add->add_flag("--observer", f->observer, "Add as an observer (serves reads, never votes)");
  add->callback([f, exit_code] {
    *exit_code = Change(*f, f->observer ? keeper::peer::ChangeMemberRequest::ADD_OBSERVER
                                        : keeper::peer::ChangeMemberRequest::ADD);
  });
  auto* remove = members->add_subcommand("remove", "Remove a member (the leader too: it steps down)");
  peer_opt(remove);
  remove->add_option("--id", f->id, "The member's id")->required();
  remove->callback([f, exit_code] { *exit_code = Change(*f, keeper::peer::ChangeMemberRequest::REMOVE); });
  return members;
}

}  // namespace dougong::cmd
