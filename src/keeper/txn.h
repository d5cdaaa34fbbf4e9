// Txn: one entry of the keeper's transaction log, the unit that the state
// machine applies (and that replication will carry). It records the request
// as the client sent it plus what the server decided when it accepted it
// (time, session, the session's auth ids), so that applying it is a pure
// function of (state, txn, zxid): the tree validates and answers at apply
// time, failed writes included, exactly as on the first run.
//
// Encoding (jute, big-endian): i32 format (1) | i32 opcode | i64 session |
// i64 time | i32 session timeout | ustring client ip | vector<Id> auth ids |
// buffer body. The body is the request body bytes from the wire; for
// deleteContainer a DeleteRequest, for createSession/closeSession empty.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dougong/base/result.h"
#include "zk/records.h"

namespace dougong::keeper {

struct Txn {
  int32_t opcode = 0;            // zk::OpCode: a write, createSession, closeSession, deleteContainer
  int64_t session_id = 0;        // the session it is for (0: the server's own, e.g. container cleanup)
  int64_t time_ms = 0;           // the accepting server's wall clock
  int32_t session_timeout_ms = 0;  // createSession only
  std::string client_ip;
  std::vector<zk::Id> auth_ids;
  std::string body;
};

// Client requests that become transactions (logged, then applied): create,
// create2, createContainer, createTTL, delete, setData, setACL, check, multi
// and closeSession.
bool IsTxnOpcode(int32_t opcode);

// Appends the encoding of `txn` to *out.
void EncodeTxn(const Txn& txn, std::string* out);
// Same, with the body given separately (no copy of the request bytes).
void EncodeTxn(const Txn& head, std::string_view body, std::string* out);
Result<Txn> DecodeTxn(std::string_view payload);

}  // namespace dougong::keeper
