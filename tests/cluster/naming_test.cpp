// The naming layer without ZooKeeper: URL errors, list://, file:// reload
// and keep-last-good, dns:// with localhost, SRV answers, the codecs and the
// subscriber bookkeeping (naming_zk_test.cpp has zk://).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cluster/naming/dns_naming.h"
#include "cluster/naming/file_naming.h"
#include "cluster/naming/provider_codec.h"
#include "cluster/naming/subscriber_set.h"
#include "dougong/cluster/naming.h"
#include "naming_test_util.h"

namespace dougong::cluster {
namespace {

using testing::SnapshotRecorder;

Provider P(const std::string& address, int weight = 100) {
  Provider p;
  p.address = address;
  p.weight = weight;
  return p;
}

Code FromUrlCode(const std::string& url) { return NamingService::FromUrl(url).status().code(); }

TEST(NamingUrl, BadUrlsAreRefusedWithTheReason) {
  EXPECT_EQ(FromUrlCode("127.0.0.1:80"), Code::kInvalidArgument);  // no scheme
  EXPECT_EQ(FromUrlCode("consul://x:1"), Code::kInvalidArgument);
  // multicast:// URLs that fail before a socket is opened (the working ones
  // run in a network namespace: naming_multicast_test.cpp).
  EXPECT_EQ(FromUrlCode("multicast://10.0.0.1:1234"), Code::kInvalidArgument);       // not multicast
  EXPECT_EQ(FromUrlCode("multicast://239.1.1.1"), Code::kInvalidArgument);           // no port
  EXPECT_EQ(FromUrlCode("multicast://[ff02::1]:1234"), Code::kInvalidArgument);      // IPv4 only
  EXPECT_EQ(FromUrlCode("multicast://239.1.1.1:1234/x"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("multicast://239.1.1.1:1234?interval_ms=100&ttl_ms=50"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("multicast://239.1.1.1:1234?hops=300"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("multicast://239.1.1.1:1234?interface=eth0"), Code::kInvalidArgument);
  EXPECT_EQ(Registry::FromUrl("multicast://239.1.1.1:1234?ttl=5").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("list://"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("list://host"), Code::kInvalidArgument);           // no port
  EXPECT_EQ(FromUrlCode("list://host:99999"), Code::kInvalidArgument);     // port range
  EXPECT_EQ(FromUrlCode("list://::1:80"), Code::kInvalidArgument);         // unbracketed v6
  EXPECT_EQ(FromUrlCode("list://a:1,a:1"), Code::kInvalidArgument);        // twice
  EXPECT_EQ(FromUrlCode("list://a:1?weight=3"), Code::kInvalidArgument);   // no parameters
  EXPECT_EQ(FromUrlCode("file:///nonexistent/dougong/providers"), Code::kNotFound);
  EXPECT_EQ(FromUrlCode("file:///etc/hostname?interval_ms=abc"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("file:///etc/hostname?interval=5"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("dns://localhost"), Code::kInvalidArgument);       // no port, not SRV
  EXPECT_EQ(FromUrlCode("dns://_x._tcp.example.com:80"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("dns://localhost:80?interval_ms=0"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("zk:///dougong"), Code::kInvalidArgument);         // no host
  EXPECT_EQ(FromUrlCode("zk://h:2181/x?session_timeout_ms=-1"), Code::kInvalidArgument);
  EXPECT_EQ(FromUrlCode("zk://h:notaport/x"), Code::kInvalidArgument);

  Status st = NamingService::FromUrl("list://a:1,b").status();
  EXPECT_NE(st.message().find("'b' is not host:port"), std::string::npos) << st.ToString();
  st = NamingService::FromUrl("file:///etc/hostname?intervall_ms=5").status();
  EXPECT_NE(st.message().find("unknown query parameter 'intervall_ms'"), std::string::npos) << st.ToString();
  st = Registry::FromUrl("list://a:1").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("read-only"), std::string::npos) << st.ToString();
}

TEST(NamingList, DeliversTheFixedListAtOnce) {
  SnapshotRecorder rec;
  auto naming = NamingService::FromUrl("list://10.0.0.2:80,10.0.0.1:80,[::1]:81");
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  auto id = (*naming)->Subscribe("svc", rec.Listener());
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(rec.count(), 1u);  // before Subscribe returned
  ProviderSetPtr set = rec.latest();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ((*set)[0].address, "10.0.0.1:80");  // sorted
  EXPECT_EQ((*set)[2].host, "::1");
  EXPECT_TRUE((*naming)->Unsubscribe(*id).ok());
  EXPECT_EQ((*naming)->Unsubscribe(*id).code(), Code::kNotFound);
}

TEST(NamingCodec, RegistrationRoundTripsThroughNodeData) {
  ProviderRegistration r;
  r.service = "pkg.Echo";
  r.provider.address = "10.0.0.1:8000";
  r.provider.weight = 50;
  r.provider.zone = "az1";
  r.provider.version = "1.2";
  r.provider.group = "blue";
  r.provider.tags = {{"env", "prod"}, {"note", "two\nlines \\ and a backslash"}};
  r.provider.start_time_ms = 1764100000000;
  r.provider.warmup_ms = 0;
  r.methods = {"Echo", "Ping"};
  std::string data = naming::EncodeRegistration(r);
  EXPECT_NE(data.find("address=10.0.0.1:8000\nweight=50\nzone=az1\n"), std::string::npos) << data;
  EXPECT_NE(data.find("methods=Echo,Ping\n"), std::string::npos) << data;
  auto back = naming::DecodeRegistration(data + "future_field=ignored\n");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->provider.address, r.provider.address);
  EXPECT_EQ(back->provider.weight, 50);
  EXPECT_EQ(back->provider.zone, "az1");
  EXPECT_EQ(back->provider.version, "1.2");
  EXPECT_EQ(back->provider.group, "blue");
  EXPECT_EQ(back->provider.tags, r.provider.tags);
  EXPECT_EQ(back->provider.start_time_ms, r.provider.start_time_ms);
  EXPECT_EQ(back->provider.warmup_ms, 0);
  EXPECT_EQ(back->methods, r.methods);

  EXPECT_FALSE(naming::DecodeRegistration("weight=1\n").ok());            // no address
  EXPECT_FALSE(naming::DecodeRegistration("address=a:1\nweight=x\n").ok());
  EXPECT_FALSE(naming::DecodeRegistration("address=a:1\nnot a field\n").ok());
}

TEST(NamingCodec, NodeNamesAreUrlEncodedAddresses) {
  EXPECT_EQ(naming::EncodeNodeName("10.0.0.1:8000"), "10.0.0.1%3A8000");
  EXPECT_EQ(naming::EncodeNodeName("[::1]:80"), "%5B%3A%3A1%5D%3A80");
  EXPECT_EQ(*naming::DecodeNodeName("%5B%3A%3A1%5D%3A80"), "[::1]:80");
  EXPECT_FALSE(naming::DecodeNodeName("a%3").ok());
  EXPECT_FALSE(naming::DecodeNodeName("a%zz").ok());
}

TEST(NamingFile, ParsesLinesCommentsAndServiceScopes) {
  auto list = naming::ParseProviderFile(
      "# providers of the echo service\n"
      "10.0.0.1:8000 weight=50 zone=az1 tag.env=prod\n"
      "\n"
      "  10.0.0.2:8000   service=only.This   # trailing comment\n"
      "10.0.0.2:8000 service=only.That\n");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].provider.weight, 50);
  EXPECT_EQ((*list)[0].provider.tags.at("env"), "prod");
  EXPECT_EQ((*list)[0].service, "");
  EXPECT_EQ((*list)[1].service, "only.This");

  auto bad = naming::ParseProviderFile("10.0.0.1:8000\n10.0.0.2:8000 wieght=5\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2: unknown field 'wieght'"), std::string::npos)
      << bad.status().ToString();
  EXPECT_FALSE(naming::ParseProviderFile("10.0.0.1:8000\n10.0.0.1:8000 service=x\n").ok());
  EXPECT_FALSE(naming::ParseProviderFile("10.0.0.1\n").ok());
  EXPECT_FALSE(naming::ParseProviderFile("10.0.0.1:80 weight=-1\n").ok());
}

class NamingFileReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("dougong_naming_");
    path_ = (dir_ / "providers").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Written aside and renamed, as operators should: a reader never sees a
  // half-written file.
  void Write(const std::string& text) {
    std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path_);
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(NamingFileReload, ReloadsOnChangeAndKeepsLastGoodOnAMalformedFile) {
  SnapshotRecorder echo;
  SnapshotRecorder other;
  Write("10.0.0.1:8000\n10.0.0.2:8000 service=pkg.Other\n");
  auto naming = NamingService::FromUrl("file://" + path_ + "?interval_ms=20");
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_TRUE((*naming)->Subscribe("pkg.Echo", echo.Listener()).ok());
  ASSERT_TRUE((*naming)->Subscribe("pkg.Other", other.Listener()).ok());
  ASSERT_TRUE(echo.WaitForAddresses({"10.0.0.1:8000"}));
  ASSERT_TRUE(other.WaitForAddresses({"10.0.0.1:8000", "10.0.0.2:8000"}));
  ProviderSetPtr first = echo.latest();
  first->stats(0).OnStart();  // a call in flight on 10.0.0.1

  Write("10.0.0.1:8000 weight=7\n10.0.0.3:8000\n");
  ASSERT_TRUE(echo.WaitForAddresses({"10.0.0.1:8000", "10.0.0.3:8000"}));
  ProviderSetPtr second = echo.latest();
  EXPECT_EQ((*second)[0].weight, 7);
  EXPECT_EQ(second->stats(0).active(), 1);  // the survivor kept its stats
  ASSERT_TRUE(other.WaitForAddresses({"10.0.0.1:8000", "10.0.0.3:8000"}));

  // A malformed file changes nothing; the next good one is picked up.
  size_t before = echo.count();
  Write("10.0.0.9:8000 weight=heavy\n");
  Write("10.0.0.4:8000\n");
  ASSERT_TRUE(echo.WaitForAddresses({"10.0.0.4:8000"}));
  // Whatever was delivered in between was one of the good lists.
  EXPECT_LE(echo.count(), before + 1);
}

TEST_F(NamingFileReload, MalformedFileAloneKeepsTheList) {
  SnapshotRecorder rec;
  Write("10.0.0.1:8000\n");
  auto naming = NamingService::FromUrl("file://" + path_ + "?interval_ms=10");
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_TRUE((*naming)->Subscribe("svc", rec.Listener()).ok());
  ASSERT_TRUE(rec.WaitForAddresses({"10.0.0.1:8000"}));
  Write("this is not an address\n");
  std::filesystem::remove(path_);  // and then no file at all
  // Bounded wait for a change that must not come (many poll intervals).
  EXPECT_FALSE(rec.WaitFor([](const ProviderSet& s) { return s.size() != 1; },
                           std::chrono::milliseconds(300)));
  EXPECT_EQ(rec.count(), 1u);
}

TEST(NamingDns, ResolvesLocalhost) {
  SnapshotRecorder rec;
  auto naming = NamingService::FromUrl("dns://localhost:8080?interval_ms=50");
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_TRUE((*naming)->Subscribe("svc", rec.Listener()).ok());
  ASSERT_TRUE(rec.WaitFor([](const ProviderSet& s) {
    return s.Find("127.0.0.1:8080").has_value() || s.Find("[::1]:8080").has_value();
  }));
  for (const Provider& p : rec.latest()->providers()) EXPECT_TRUE(p.address.ends_with(":8080"));
}

// A DNS answer built by hand: question _e._tcp.x.test SRV, three answers.
std::vector<unsigned char> SrvAnswer() {
  std::vector<unsigned char> m = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0};
  for (std::string label : {"_e", "_tcp", "x", "test"}) {
    m.push_back(static_cast<unsigned char>(label.size()));
    m.insert(m.end(), label.begin(), label.end());
  }
  m.insert(m.end(), {0, 0, 33, 0, 1});  // root, type SRV, class IN
  auto add = [&](int priority, int weight, int port, const std::string& host) {
    m.insert(m.end(), {0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60});  // name -> question, ttl 60
    std::vector<unsigned char> rdata = {static_cast<unsigned char>(priority >> 8), static_cast<unsigned char>(priority),
                                        static_cast<unsigned char>(weight >> 8), static_cast<unsigned char>(weight),
                                        static_cast<unsigned char>(port >> 8), static_cast<unsigned char>(port)};
    rdata.push_back(static_cast<unsigned char>(host.size()));
    rdata.insert(rdata.end(), host.begin(), host.end());
    rdata.insert(rdata.end(), {0xc0, 20});  // "x.test" in the question: 12 + 3 ("\2_e") + 5 ("\4_tcp")
    m.push_back(0);
    m.push_back(static_cast<unsigned char>(rdata.size()));
    m.insert(m.end(), rdata.begin(), rdata.end());
  };
  add(10, 60, 8000, "a");
  add(10, 0, 8001, "b");
  add(20, 100, 8002, "backup");
  return m;
}

TEST(NamingDns, SrvAnswersGiveTheLowestPriorityTargets) {
  std::vector<unsigned char> answer = SrvAnswer();
  auto records = naming::ParseSrvAnswer(answer.data(), static_cast<int>(answer.size()));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].target, "a.x.test");
  EXPECT_EQ((*records)[2].port, 8002);
  std::vector<Provider> providers = naming::ProvidersFromSrv(*records);
  ASSERT_EQ(providers.size(), 2u);
  EXPECT_EQ(providers[0].address, "a.x.test:8000");
  EXPECT_EQ(providers[0].weight, 60);
  EXPECT_EQ(providers[1].address, "b.x.test:8001");
  EXPECT_EQ(providers[1].weight, 1);  // SRV weight 0 still gets traffic
  answer.resize(answer.size() - 5);
  EXPECT_FALSE(naming::ParseSrvAnswer(answer.data(), static_cast<int>(answer.size())).ok());
}

TEST(NamingSubscribers, NotifiesOnChangeOnlyAndAllowsUnsubscribeFromTheListener) {
  naming::SubscriberSet subs;
  int calls = 0;
  SubscriptionId self = 0;
  self = subs.Add("svc", [&](const ProviderSetPtr&) {
    ++calls;
    bool last = false;
    EXPECT_TRUE(subs.Remove(self, &last).ok());
    EXPECT_TRUE(last);
  });
  EXPECT_TRUE(subs.Publish("svc", {P("a:1")}).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(subs.Publish("svc", {P("b:1")}).ok());
  EXPECT_EQ(calls, 1);  // unsubscribed

  SnapshotRecorder rec;
  subs.Add("x", rec.Listener());
  EXPECT_EQ(rec.count(), 0u);  // nothing known yet
  EXPECT_TRUE(subs.Publish("x", {P("a:1"), P("b:1")}).ok());
  EXPECT_TRUE(subs.Publish("x", {P("b:1"), P("a:1")}).ok());
  EXPECT_EQ(rec.count(), 1u);  // same list, another order
  EXPECT_TRUE(subs.Publish("x", {P("a:1", 5), P("b:1")}).ok());
  EXPECT_EQ(rec.count(), 2u);  // a weight change is a change
  EXPECT_FALSE(subs.Publish("x", {P("a:1"), P("a:1")}).ok());
  EXPECT_EQ(rec.count(), 2u);

  SnapshotRecorder late;
  subs.Add("x", late.Listener());
  EXPECT_EQ(late.count(), 1u);  // the known snapshot, at once
}

}  // namespace
}  // namespace dougong::cluster
