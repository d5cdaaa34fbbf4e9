// The data tree's node store: NodeIndex (open addressing, backward-shift
// deletion) against std::map under random inserts and removals, and the
// intrusive child lists of ZNode.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "keeper/node_index.h"
#include "keeper/znode.h"

namespace dougong::keeper {
namespace {

TEST(NodeData, OwnsExactBytes) {
  NodeData d;
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(d.view(), "");
  d.Assign("hello");
  EXPECT_EQ(d.view(), "hello");
  NodeData moved(std::move(d));
  EXPECT_EQ(moved.view(), "hello");
  EXPECT_EQ(d.size(), 0u);
  moved.Assign("");
  EXPECT_EQ(moved.view(), "");
  moved.Assign(std::string(1000, 'x'));
  EXPECT_EQ(moved.size(), 1000u);
}

TEST(ZNode, PathNameAndChildList) {
  ZNodePtr root = ZNode::New("/");
  EXPECT_EQ(root->path(), "/");
  EXPECT_EQ(root->name(), "");
  std::vector<ZNodePtr> kids;
  for (const char* p : {"/a", "/b", "/c", "/d"}) kids.push_back(ZNode::New(p));
  EXPECT_EQ(kids[1]->name(), "b");
  for (auto& k : kids) root->AddChild(k.get());
  auto names = [&] {
    std::vector<std::string> out;
    for (ZNode* c = root->first_child; c != nullptr; c = c->next_sibling) out.emplace_back(c->name());
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"d", "c", "b", "a"}));  // newest first
  root->RemoveChild(kids[2].get());                                    // middle
  root->RemoveChild(kids[3].get());                                    // head
  root->RemoveChild(kids[0].get());                                    // tail
  EXPECT_EQ(names(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(root->num_children, 1u);
  root->RemoveChild(kids[1].get());
  EXPECT_EQ(root->first_child, nullptr);
  EXPECT_EQ(root->num_children, 0u);
}

// Random inserts, duplicate inserts, finds and extracts, checked against
// std::map after every step; sizes that make the table grow many times and
// long probe runs wrap around its end.
TEST(NodeIndex, MatchesStdMapUnderRandomOperations) {
  std::mt19937_64 rng(7);
  NodeIndex index;
  std::map<std::string, ZNode*> model;
  auto key = [&] { return "/k" + std::to_string(rng() % 3000); };
  for (int step = 0; step < 60000; ++step) {
    std::string k = key();
    switch (rng() % 4) {
      case 0:
      case 1: {
        ZNodePtr n = ZNode::New(k);
        ZNode* raw = n.get();
        ZNode* got = index.Insert(std::move(n));
        if (model.count(k)) {
          EXPECT_EQ(got, nullptr) << k;
          EXPECT_NE(n, nullptr) << "a refused node stays with the caller";
        } else {
          EXPECT_EQ(got, raw);
          model[k] = raw;
        }
        break;
      }
      case 2: {
        auto it = model.find(k);
        if (it != model.end()) {
          ZNodePtr out = index.Extract(it->second);
          EXPECT_EQ(out.get(), it->second);
          model.erase(it);
        }
        break;
      }
      default: {
        auto it = model.find(k);
        EXPECT_EQ(index.Find(k), it == model.end() ? nullptr : it->second) << k;
      }
    }
    ASSERT_EQ(index.size(), model.size());
    if (step % 5000 == 0) {
      for (auto& [path, node] : model) ASSERT_EQ(index.Find(path), node) << path;
      size_t seen = 0;
      index.ForEach([&](const ZNode& n) {
        ++seen;
        EXPECT_TRUE(model.count(std::string(n.path())));
      });
      EXPECT_EQ(seen, model.size());
    }
  }
  for (auto& [path, node] : model) EXPECT_EQ(index.Find(path), node) << path;
  EXPECT_EQ(index.Find("/absent"), nullptr);
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Find(model.begin()->first), nullptr);
}

TEST(NodeIndex, ReserveKeepsEveryNodeFindable) {
  NodeIndex index;
  for (int i = 0; i < 100; ++i) index.Insert(ZNode::New("/n" + std::to_string(i)));
  index.Reserve(100000);
  for (int i = 0; i < 100; ++i) EXPECT_NE(index.Find("/n" + std::to_string(i)), nullptr);
  EXPECT_EQ(index.Find(""), nullptr);
}

}  // namespace
}  // namespace dougong::keeper
