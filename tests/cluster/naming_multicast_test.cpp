// multicast://: the datagram codec (anywhere), and registries and consumers
// talking over a multicast group inside a network namespace this test
// creates itself (`ip netns add dg-mc-PID`, lo up, 224.0.0.0/4 routed via
// lo), so nothing leaves the machine or meets another test's group.
// MulticastNetns.* creates the namespace and runs this binary's
// MulticastInNetns.* cases in it; outside it those cases skip.
#include <gtest/gtest.h>

#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cluster/naming/multicast_codec.h"
#include "cluster/naming/multicast_socket.h"
#include "dougong/cluster/naming.h"
#include "naming_test_util.h"
#include "netns.h"

namespace dougong::cluster {
namespace {

using namespace std::chrono_literals;
using naming::Datagram;
using naming::DatagramKind;
using naming::DecodeDatagram;
using naming::EncodeDatagram;
using testing::SnapshotRecorder;

constexpr char kService[] = "test.Echo";
constexpr char kNetnsEnv[] = "DOUGONG_MCAST_NETNS";

ProviderRegistration Reg(const std::string& address, int weight = 100) {
  ProviderRegistration r;
  r.service = kService;
  r.provider.address = address;
  r.provider.weight = weight;
  r.provider.zone = "az1";
  r.provider.version = "1.2";
  r.provider.group = "blue";
  r.provider.warmup_ms = 5000;
  r.provider.tags = {{"env", "test"}, {"odd", "a=b\nc\\d"}};
  r.methods = {"Echo", "Ping"};
  return r;
}

Datagram Announce(uint64_t instance, uint64_t seq, const std::string& address, int weight,
                  int64_t ttl_ms = 60000) {
  Datagram d;
  d.kind = DatagramKind::kAnnounce;
  d.instance = instance;
  d.seq = seq;
  d.registration = Reg(address, weight);
  d.ttl_ms = ttl_ms;
  return d;
}

Datagram Goodbye(uint64_t instance, uint64_t seq, const std::string& address) {
  Datagram d;
  d.kind = DatagramKind::kGoodbye;
  d.instance = instance;
  d.seq = seq;
  d.registration.service = kService;
  d.registration.provider.address = address;
  return d;
}

TEST(MulticastCodec, AnnouncementRoundTrips) {
  Datagram d = Announce(0x0123456789abcdefULL, 42, "10.0.0.1:8000", 50, 3000);
  d.registration.provider.start_time_ms = 1764100000000;
  auto bytes = EncodeDatagram(d);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_TRUE(bytes->starts_with("DOUGONG-MCAST/1 ANNOUNCE\ninstance=0123456789abcdef\nseq=42\nttl_ms=3000\n"
                                 "service=test.Echo\naddress=10.0.0.1:8000\nweight=50\n"))
      << *bytes;
  auto back = DecodeDatagram(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, DatagramKind::kAnnounce);
  EXPECT_EQ(back->instance, d.instance);
  EXPECT_EQ(back->seq, 42u);
  EXPECT_EQ(back->ttl_ms, 3000);
  const ProviderRegistration& r = back->registration;
  EXPECT_EQ(r.service, kService);
  EXPECT_EQ(r.provider.address, "10.0.0.1:8000");
  EXPECT_EQ(r.provider.weight, 50);
  EXPECT_EQ(r.provider.zone, "az1");
  EXPECT_EQ(r.provider.version, "1.2");
  EXPECT_EQ(r.provider.group, "blue");
  EXPECT_EQ(r.provider.start_time_ms, 1764100000000);
  EXPECT_EQ(r.provider.warmup_ms, 5000);
  EXPECT_EQ(r.provider.tags, d.registration.provider.tags);
  EXPECT_EQ(r.methods, d.registration.methods);
}

TEST(MulticastCodec, GoodbyeAndQueryRoundTrip) {
  auto bytes = EncodeDatagram(Goodbye(7, 9, "[::1]:80"));
  ASSERT_TRUE(bytes.ok());
  auto back = DecodeDatagram(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << *bytes;
  EXPECT_EQ(back->kind, DatagramKind::kGoodbye);
  EXPECT_EQ(back->registration.provider.address, "[::1]:80");
  EXPECT_EQ(back->registration.service, kService);

  Datagram q;
  q.kind = DatagramKind::kQuery;
  q.instance = 1;
  q.seq = 1;
  q.services = {"a.B", "c.D"};
  bytes = EncodeDatagram(q);
  ASSERT_TRUE(bytes.ok());
  back = DecodeDatagram(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, DatagramKind::kQuery);
  EXPECT_EQ(back->services, q.services);
  q.services.clear();  // all services
  back = DecodeDatagram(*EncodeDatagram(q));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->services.empty());
}

TEST(MulticastCodec, UnknownFieldsAreIgnoredForNewerWriters) {
  auto back = DecodeDatagram(
      "DOUGONG-MCAST/1 ANNOUNCE\ninstance=0000000000000001\nseq=1\nttl_ms=10\nservice=s\n"
      "address=h:1\nshiny_new_field=x\n");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->registration.provider.address, "h:1");
}

TEST(MulticastCodec, BadDatagramsAreRefused) {
  const std::string head = "DOUGONG-MCAST/1 ANNOUNCE\ninstance=0000000000000001\nseq=1\n";
  const std::string good = head + "ttl_ms=10\nservice=s\naddress=h:1\n";
  ASSERT_TRUE(DecodeDatagram(good).ok());
  const std::string bad[] = {
      "",
      "hello",
      std::string("\0\0\0\0", 4),
      "DOUGONG-MCAST/2 ANNOUNCE\n",                                  // another version
      "DOUGONG-MCAST/x ANNOUNCE\n",
      "DOUGONG-MCAST/1 SHOUT\ninstance=0000000000000001\nseq=1\n",    // unknown kind
      "DOUGONG-MCAST/1 QUERY\nseq=1\n",                              // no instance
      "DOUGONG-MCAST/1 QUERY\ninstance=0000000000000001\n",          // no seq
      "DOUGONG-MCAST/1 QUERY\ninstance=000000000000001\nseq=1\n",    // 15 digits
      "DOUGONG-MCAST/1 QUERY\ninstance=000000000000000g\nseq=1\n",
      "DOUGONG-MCAST/1 QUERY\ninstance=0000000000000001\nseq=-1\n",
      "DOUGONG-MCAST/1 QUERY\ninstance=0000000000000001\nseq=1\nseq=2\n",
      "DOUGONG-MCAST/1 QUERY\ninstance=0000000000000001\nseq=1\nservice=a/b\n",
      "DOUGONG-MCAST/1 QUERY\ninstance=0000000000000001\nseq=1\nservice=a\\nb\n",  // control char
      "DOUGONG-MCAST/1 QUERY\ninstance=0000000000000001\nseq=1\nnot a field\n",
      "DOUGONG-MCAST/1 QUERY\ninstance=0000000000000001\nseq=1\nservice=a\\x\n",   // bad escape
      head + "service=s\naddress=h:1\n",                             // no ttl
      head + "ttl_ms=0\nservice=s\naddress=h:1\n",
      head + "ttl_ms=999999999999\nservice=s\naddress=h:1\n",
      head + "ttl_ms=10\naddress=h:1\n",                             // no service
      head + "ttl_ms=10\nservice=s\nservice=t\naddress=h:1\n",
      head + "ttl_ms=10\nservice=s\n",                               // no address
      head + "ttl_ms=10\nservice=s\naddress=h\n",
      head + "ttl_ms=10\nservice=s\naddress=h:1\nweight=-5\n",
      head + "ttl_ms=10\nservice=s\naddress=h:1\nweight=lots\n",
      head + "ttl_ms=10\nservice=" + std::string(300, 's') + "\naddress=h:1\n",
      good + "tag.x=" + std::string(naming::kMaxDatagramSize, 'x') + "\n",  // too long
  };
  for (const std::string& b : bad) {
    auto d = DecodeDatagram(b);
    EXPECT_EQ(d.status().code(), Code::kInvalidArgument) << "accepted:\n" << b;
  }
}

TEST(MulticastCodec, TooBigARegistrationDoesNotEncode) {
  Datagram d = Announce(1, 1, "h:1", 1);
  d.registration.provider.tags["big"] = std::string(naming::kMaxDatagramSize, 'x');
  EXPECT_EQ(EncodeDatagram(d).status().code(), Code::kInvalidArgument);
}

// ---------------------------------------------------------------- in a namespace

bool InNamespace() { return std::getenv(kNetnsEnv) != nullptr; }

#define REQUIRE_NAMESPACE()                                                                  \
  if (!InNamespace()) {                                                                      \
    GTEST_SKIP() << "runs in the network namespace MulticastNetns.* creates (see there)"; \
  }

// Every case its own port, so nothing of one case reaches the next.
std::string Url(int port, const std::string& query) {
  return "multicast://239.255.42.1:" + std::to_string(port) + query;
}

// Sends hand-made datagrams to the group, as a registry of another build would.
class RawSender {
 public:
  explicit RawSender(int port) {
    naming::MulticastGroup g;
    g.group = "239.255.42.1";
    g.port = static_cast<uint16_t>(port);
    auto s = naming::MulticastSocket::Open(g);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (s.ok()) socket_ = std::move(*s);
  }
  void Send(const Datagram& d) {
    auto bytes = EncodeDatagram(d);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    SendBytes(*bytes);
  }
  void SendBytes(const std::string& bytes) {
    ASSERT_TRUE(socket_);
    Status st = socket_->Send(bytes);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

 private:
  std::unique_ptr<naming::MulticastSocket> socket_;
};

TEST(MulticastInNetns, ProvidersAnswerTheStartQueryAndSayGoodbye) {
  REQUIRE_NAMESPACE();
  // No period within the test: what the consumer learns comes from the
  // answers to its query, the announcements on Register and the goodbyes.
  const std::string url = Url(4701, "?interval_ms=60000");
  SnapshotRecorder rec, other_rec;  // outlive the naming service that calls them
  auto registry = Registry::FromUrl(url);
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  ASSERT_TRUE((*registry)->Register(Reg("10.0.0.1:8000", 50)).ok());
  ASSERT_TRUE((*registry)->Register(Reg("10.0.0.2:8000")).ok());
  ProviderRegistration other = Reg("10.0.0.9:9000");
  other.service = "test.Other";
  ASSERT_TRUE((*registry)->Register(other).ok());

  // Created after those announcements went out.
  auto start = std::chrono::steady_clock::now();
  auto naming = NamingService::FromUrl(url);
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_TRUE((*naming)->Subscribe(kService, rec.Listener()).ok());
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000", "10.0.0.2:8000"}, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(rec.count(), 1u);  // one snapshot: the answers were collected first
  const Provider& first = (*rec.latest())[0];
  EXPECT_EQ(first.weight, 50);
  EXPECT_EQ(first.zone, "az1");
  EXPECT_EQ(first.version, "1.2");
  EXPECT_EQ(first.group, "blue");
  EXPECT_EQ(first.warmup_ms, 5000);
  EXPECT_EQ(first.tags.at("odd"), "a=b\nc\\d");
  EXPECT_GT(first.start_time_ms, 0);  // filled by Register

  // Known by now: a new subscription gets it on this thread.
  ASSERT_TRUE((*naming)->Subscribe("test.Other", other_rec.Listener()).ok());
  EXPECT_EQ(other_rec.count(), 1u);
  EXPECT_TRUE(other_rec.WaitForAddresses({"10.0.0.9:9000"}, 0ms));

  ASSERT_TRUE((*registry)->Register(Reg("10.0.0.1:8000", 70)).ok());
  ASSERT_TRUE(rec.WaitFor([](const ProviderSet& s) { return s.size() == 2 && s[0].weight == 70; }, 5s));

  ASSERT_TRUE((*registry)->Deregister(kService, "10.0.0.2:8000").ok());
  EXPECT_EQ((*registry)->Deregister(kService, "10.0.0.2:8000").code(), Code::kNotFound);
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000"}, 5s));

  // A registry going away says goodbye for what it still has.
  registry->reset();
  ASSERT_TRUE(rec.WaitForAddresses({}, 5s));
  ASSERT_TRUE(other_rec.WaitForAddresses({}, 5s));
}

TEST(MulticastInNetns, SilentProvidersExpireAndAnnouncedOnesStay) {
  REQUIRE_NAMESPACE();
  const std::string url = Url(4702, "?interval_ms=100&ttl_ms=400&wait_ms=50");
  SnapshotRecorder rec;  // outlives the naming service that calls it
  auto naming = NamingService::FromUrl(url);
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_TRUE((*naming)->Subscribe(kService, rec.Listener()).ok());
  auto registry = Registry::FromUrl(url);
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  ASSERT_TRUE((*registry)->Register(Reg("10.0.0.1:8000")).ok());

  // One announcement and then silence, as from a crashed provider.
  RawSender raw(4702);
  raw.Send(Announce(77, 1, "10.0.0.2:8000", 100, 400));
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000", "10.0.0.2:8000"}, 5s));
  auto seen = std::chrono::steady_clock::now();
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000"}, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - seen, 300ms);  // not before its ttl

  // The registry's periodic announcements keep its provider for many ttls.
  EXPECT_FALSE(rec.WaitFor([](const ProviderSet& s) { return s.size() != 1; }, 1500ms));
}

TEST(MulticastInNetns, BadStaleAndForeignDatagramsAreIgnored) {
  REQUIRE_NAMESPACE();
  const std::string url = Url(4703, "?wait_ms=50");
  SnapshotRecorder rec;  // outlives the naming service that calls it
  auto naming = NamingService::FromUrl(url);
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_TRUE((*naming)->Subscribe(kService, rec.Listener()).ok());
  ASSERT_TRUE(rec.WaitForAddresses({}, 5s));

  RawSender raw(4703);
  raw.SendBytes("hello");
  raw.SendBytes("DOUGONG-MCAST/2 ANNOUNCE\ninstance=0000000000000001\n");
  raw.SendBytes(std::string(naming::kMaxDatagramSize + 100, 'x'));
  raw.SendBytes("DOUGONG-MCAST/1 ANNOUNCE\ninstance=0000000000000001\nseq=1\nttl_ms=1000\nservice=test.Echo\n");
  raw.Send(Announce(1, 5, "10.0.0.1:8000", 10));
  ASSERT_TRUE(rec.WaitFor([](const ProviderSet& s) { return s.size() == 1 && s[0].weight == 10; }, 5s));

  // Reordered: an older datagram of the same sender counts for nothing.
  raw.Send(Announce(1, 4, "10.0.0.1:8000", 20));
  raw.Send(Announce(1, 6, "10.0.0.1:8000", 30));
  ASSERT_TRUE(rec.WaitFor([](const ProviderSet& s) { return s.size() == 1 && s[0].weight == 30; }, 5s));
  // A restarted instance (another sender, same address) replaces it; the
  // old sender's late goodbye does not remove the new one.
  raw.Send(Announce(2, 1, "10.0.0.1:8000", 40));
  raw.Send(Goodbye(1, 7, "10.0.0.1:8000"));
  raw.Send(Announce(2, 2, "10.0.0.1:8000", 41));
  ASSERT_TRUE(rec.WaitFor([](const ProviderSet& s) { return s.size() == 1 && s[0].weight == 41; }, 5s));
  for (const ProviderSetPtr& s : rec.all()) {
    EXPECT_NE(s->size() == 1 ? (*s)[0].weight : -1, 20) << "a stale announcement was taken";
  }
  EXPECT_EQ(rec.all().size(), 5u);  // empty, 10, 30, 40, 41: never empty in between

  raw.Send(Goodbye(2, 3, "10.0.0.1:8000"));
  ASSERT_TRUE(rec.WaitForAddresses({}, 5s));
  // A late announcement of the goodbye's sender stays ignored.
  raw.Send(Announce(2, 2, "10.0.0.1:8000", 41));
  raw.Send(Announce(3, 1, "10.0.0.3:8000", 1));
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.3:8000"}, 5s));
}

// ---------------------------------------------------------------- the namespace

using testsupport::RunShell;

// Deletes the namespace however the test ends (a failed ASSERT included).
struct NamespaceGuard {
  std::string name;
  ~NamespaceGuard() {
    std::string out;
    if (RunShell("ip netns del " + name, &out) != 0) ADD_FAILURE() << "ip netns del " << name << ": " << out;
  }
};

TEST(MulticastNetns, RunsTheMulticastCasesInANetworkNamespace) {
  if (InNamespace()) GTEST_SKIP() << "already inside the namespace";
  const std::string ns = "dg-mc-" + std::to_string(::getpid());
  std::string out;
  // No silent pass: without a namespace the multicast cases would not run.
  ASSERT_EQ(RunShell("ip netns add " + ns, &out), 0)
      << "cannot create network namespace " << ns << " (needs root and iproute2): " << out;
  NamespaceGuard guard{ns};
  const std::string in = "ip netns exec " + ns + " ";
  ASSERT_EQ(RunShell(in + "ip link set lo up", &out), 0) << out;
  ASSERT_EQ(RunShell(in + "ip route add 224.0.0.0/4 dev lo", &out), 0) << out;
  char exe[PATH_MAX] = {};
  ASSERT_GT(::readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  int rc = RunShell(in + "env " + kNetnsEnv + "=" + ns + " " + exe + " --gtest_filter='MulticastInNetns.*'", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 3 tests."), std::string::npos) << out;
  EXPECT_EQ(out.find("[  SKIPPED ]"), std::string::npos) << out;
}

}  // namespace
}  // namespace dougong::cluster
