/* Drives a server with the Apache ZooKeeper C client (libzookeeper_mt,
 * 3.8): sync API calls, one async call and one data watch. Used by
 * test_c_client.py against ZooKeeper and keeper.
 *
 *   c_client_check HOST:PORT BASE_PATH
 *   c_client_check --failover HOSTS BASE_PATH   (a replicated keeper)
 *
 * --failover: creates BASE_PATH and an ephemeral under it, sets a data
 * watch on BASE_PATH, prints "serving HOST:PORT" (the member it is on) and
 * waits for a line on stdin (the test stops that member meanwhile); then
 * checks it reconnected to another member with the same session, that the
 * ephemeral is still there, prints "moved HOST:PORT" and waits for the
 * watch (the test changes BASE_PATH through another client).
 *
 * Prints "ok <step>" per step; on the first failure prints
 * "FAIL <step>: ..." and exits 1. Exit 2: usage or connection trouble. */

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zookeeper/zookeeper.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int connected;
static int expired;
static int data_events;
static int data_event_type;
static char data_event_path[512];
static int async_done;
static int async_rc;
static struct Stat async_stat;

static void fail(const char *step, const char *fmt, ...) {
  va_list ap;
  printf("FAIL %s: ", step);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  exit(1);
}

static void ok(const char *step) {
  printf("ok %s\n", step);
  fflush(stdout);
}

#define EXPECT_RC(step, got, want)                                          \
  do {                                                                      \
    int got_ = (got);                                                       \
    if (got_ != (want))                                                     \
      fail(step, "rc %d (%s), want %d (%s)", got_, zerror(got_), (want),    \
           zerror(want));                                                   \
  } while (0)

#define EXPECT(step, cond, ...)        \
  do {                                 \
    if (!(cond)) fail(step, __VA_ARGS__); \
  } while (0)

/* Waits on cv until *flag >= want or the timeout; returns 1 if reached. */
static int wait_flag(int *flag, int want, int timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&mu);
  while (*flag < want) {
    if (pthread_cond_timedwait(&cv, &mu, &deadline) == ETIMEDOUT) break;
  }
  int reached = *flag >= want;
  pthread_mutex_unlock(&mu);
  return reached;
}

static void global_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
  (void)zh, (void)path, (void)ctx;
  if (type != ZOO_SESSION_EVENT) return;
  pthread_mutex_lock(&mu);
  if (state == ZOO_CONNECTED_STATE) connected = 1;
  if (state == ZOO_EXPIRED_SESSION_STATE) expired = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
  (void)zh, (void)state, (void)ctx;
  /* The C client also passes state changes (a lost connection) to every
   * watcher; those are not the node's events. */
  if (type == ZOO_SESSION_EVENT) return;
  pthread_mutex_lock(&mu);
  data_events++;
  data_event_type = type;
  snprintf(data_event_path, sizeof data_event_path, "%s", path ? path : "");
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void exists_completion(int rc, const struct Stat *stat, const void *data) {
  (void)data;
  pthread_mutex_lock(&mu);
  async_rc = rc;
  if (stat) async_stat = *stat;
  async_done = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static zhandle_t *open_handle(const char *hosts) {
  pthread_mutex_lock(&mu);
  connected = 0;
  pthread_mutex_unlock(&mu);
  zhandle_t *zh = zookeeper_init(hosts, global_watcher, 10000, NULL, NULL, 0);
  if (!zh) {
    printf("FAIL connect: zookeeper_init: %s\n", strerror(errno));
    exit(2);
  }
  if (!wait_flag(&connected, 1, 15000)) {
    printf("FAIL connect: no session within 15 s (state %d)\n", zoo_state(zh));
    exit(2);
  }
  return zh;
}

static int failover_check(const char *hosts, const char *base) {
  char eph[512], buf[64];
  int len = sizeof buf;
  struct Stat st;
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  zhandle_t *zh = open_handle(hosts);
  long long session = zoo_client_id(zh)->client_id;
  EXPECT_RC("create", zoo_create(zh, base, "0", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0), ZOK);
  snprintf(eph, sizeof eph, "%s/eph", base);
  EXPECT_RC("ephemeral", zoo_create(zh, eph, "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0), ZOK);
  EXPECT_RC("watch", zoo_wget(zh, base, data_watcher, NULL, buf, &len, &st), ZOK);
  const char *first = zoo_get_current_server(zh);
  char serving[256];
  snprintf(serving, sizeof serving, "%s", first ? first : "?");
  printf("serving %s\n", serving);
  fflush(stdout);
  if (!fgets(buf, sizeof buf, stdin)) fail("failover", "stdin closed");
  /* The member is gone: calls fail until the client is on another one. */
  int rc = ZCONNECTIONLOSS;
  for (int i = 0; i < 300 && rc != ZOK; i++) {
    rc = zoo_exists(zh, eph, 0, &st);
    if (rc != ZOK) {
      struct timespec ts = {0, 50 * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  EXPECT_RC("reconnect", rc, ZOK);
  EXPECT("reconnect", zoo_client_id(zh)->client_id == session, "session changed");
  EXPECT("reconnect", st.ephemeralOwner == session, "the ephemeral is not the session's");
  const char *now = zoo_get_current_server(zh);
  EXPECT("reconnect", now && strcmp(now, serving) != 0, "still on %s", serving);
  printf("moved %s\n", now);
  fflush(stdout);
  EXPECT("watch", wait_flag(&data_events, 1, 15000), "the watch did not fire after the move");
  EXPECT("watch", data_event_type == ZOO_CHANGED_EVENT, "event type %d", data_event_type);
  ok("failover");
  zookeeper_close(zh);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--failover") == 0) return failover_check(argv[2], argv[3]);
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOST:PORT BASE_PATH\n", argv[0]);
    return 2;
  }
  const char *hosts = argv[1];
  const char *base = argv[2];
  char p[512], child[512], eph[512], buf[1024], created[512];
  int len;
  struct Stat st, st2;

  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  zhandle_t *zh = open_handle(hosts);
  const clientid_t *cid = zoo_client_id(zh);
  EXPECT("connect", cid && cid->client_id != 0, "no session id");
  ok("connect");

  /* create / get / set / exists / children / delete */
  snprintf(p, sizeof p, "%s", base);
  EXPECT_RC("create", zoo_create2(zh, p, "hello", 5, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                                  created, sizeof created, &st), ZOK);
  EXPECT("create", strcmp(created, p) == 0, "created %s", created);
  EXPECT("create", st.version == 0 && st.dataLength == 5 && st.czxid == st.mzxid &&
         st.numChildren == 0 && st.ephemeralOwner == 0, "bad stat");
  ok("create");

  len = sizeof buf;
  EXPECT_RC("get", zoo_get(zh, p, 0, buf, &len, &st2), ZOK);
  EXPECT("get", len == 5 && memcmp(buf, "hello", 5) == 0, "data %.*s", len, buf);
  EXPECT("get", st2.czxid == st.czxid && st2.mzxid == st.mzxid, "stat differs");
  ok("get");

  EXPECT_RC("set", zoo_set2(zh, p, "world!", 6, 0, &st2), ZOK);
  EXPECT("set", st2.version == 1 && st2.dataLength == 6 && st2.mzxid > st.mzxid, "bad stat");
  EXPECT_RC("set bad version", zoo_set2(zh, p, "x", 1, 0, NULL), ZBADVERSION);
  ok("set");

  EXPECT_RC("exists", zoo_exists(zh, p, 0, &st2), ZOK);
  EXPECT("exists", st2.version == 1, "version %d", st2.version);
  snprintf(child, sizeof child, "%s/missing", base);
  EXPECT_RC("exists missing", zoo_exists(zh, child, 0, &st2), ZNONODE);
  ok("exists");

  for (int i = 0; i < 3; i++) {
    snprintf(child, sizeof child, "%s/c%d", base, i);
    EXPECT_RC("children", zoo_create(zh, child, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                                     NULL, 0), ZOK);
  }
  snprintf(child, sizeof child, "%s/s-", base);
  EXPECT_RC("children", zoo_create(zh, child, "", 0, &ZOO_OPEN_ACL_UNSAFE,
                                   ZOO_PERSISTENT_SEQUENTIAL, created, sizeof created), ZOK);
  snprintf(child, sizeof child, "%s/s-%010d", base, 3);
  EXPECT("children", strcmp(created, child) == 0, "sequential name %s, want %s", created, child);
  struct String_vector kids;
  EXPECT_RC("children", zoo_get_children(zh, p, 0, &kids), ZOK);
  EXPECT("children", kids.count == 4, "count %d", kids.count);
  deallocate_String_vector(&kids);
  ok("children");

  /* an ephemeral, owned by this session */
  snprintf(eph, sizeof eph, "%s/eph", base);
  EXPECT_RC("ephemeral", zoo_create2(zh, eph, "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL,
                                     NULL, 0, &st2), ZOK);
  EXPECT("ephemeral", st2.ephemeralOwner == cid->client_id, "owner 0x%llx, session 0x%llx",
         (unsigned long long)st2.ephemeralOwner, (unsigned long long)cid->client_id);
  snprintf(child, sizeof child, "%s/eph/x", base);
  EXPECT_RC("ephemeral", zoo_create(zh, child, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                                    NULL, 0), ZNOCHILDRENFOREPHEMERALS);
  ok("ephemeral");

  /* a data watch fires once, with the right type and path */
  snprintf(child, sizeof child, "%s/c0", base);
  len = sizeof buf;
  EXPECT_RC("watch", zoo_wget(zh, child, data_watcher, NULL, buf, &len, &st2), ZOK);
  EXPECT_RC("watch", zoo_set(zh, child, "changed", 7, -1), ZOK);
  EXPECT("watch", wait_flag(&data_events, 1, 10000), "no event within 10 s");
  EXPECT("watch", data_event_type == ZOO_CHANGED_EVENT && strcmp(data_event_path, child) == 0,
         "event type %d path %s", data_event_type, data_event_path);
  EXPECT_RC("watch", zoo_set(zh, child, "again", 5, -1), ZOK);
  EXPECT_RC("watch", zoo_exists(zh, child, 0, &st2), ZOK); /* round trip after the 2nd set */
  EXPECT("watch", data_events == 1, "watch fired %d times", data_events);
  ok("watch");

  /* one async call */
  EXPECT_RC("async", zoo_aexists(zh, p, 0, exists_completion, NULL), ZOK);
  EXPECT("async", wait_flag(&async_done, 1, 10000), "no completion within 10 s");
  EXPECT("async", async_rc == ZOK && async_stat.numChildren == 5, "rc %d children %d", async_rc,
         async_stat.numChildren);
  ok("async");

  /* multi: success, then a failing op with per-op results */
  {
    zoo_op_t ops[3];
    zoo_op_result_t res[3];
    char mpath[512], mbuf[512];
    struct Stat mstat;
    snprintf(mpath, sizeof mpath, "%s/m", base);
    zoo_create_op_init(&ops[0], mpath, "m", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, mbuf,
                       sizeof mbuf);
    zoo_set_op_init(&ops[1], mpath, "mm", 2, 0, &mstat);
    zoo_check_op_init(&ops[2], p, 1);
    EXPECT_RC("multi", zoo_multi(zh, 3, ops, res), ZOK);
    EXPECT("multi", res[0].err == ZOK && res[1].err == ZOK && res[2].err == ZOK, "results %d %d %d",
           res[0].err, res[1].err, res[2].err);
    EXPECT("multi", strcmp(mbuf, mpath) == 0 && mstat.version == 1, "created %s version %d", mbuf,
           mstat.version);

    char m2[512];
    snprintf(m2, sizeof m2, "%s/m2", base);
    zoo_create_op_init(&ops[0], m2, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    zoo_check_op_init(&ops[1], p, 42);
    zoo_delete_op_init(&ops[2], mpath, -1);
    EXPECT_RC("multi failing", zoo_multi(zh, 3, ops, res), ZBADVERSION);
    EXPECT("multi failing", res[0].err == ZOK && res[1].err == ZBADVERSION &&
           res[2].err == ZRUNTIMEINCONSISTENCY, "results %d %d %d", res[0].err, res[1].err,
           res[2].err);
    EXPECT_RC("multi failing", zoo_exists(zh, m2, 0, NULL), ZNONODE);
    EXPECT_RC("multi failing", zoo_exists(zh, mpath, 0, NULL), ZOK);
    ok("multi");
  }

  /* error codes from the server */
  EXPECT_RC("errors", zoo_create(zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0),
            ZNODEEXISTS);
  EXPECT_RC("errors", zoo_delete(zh, p, -1), ZNOTEMPTY);
  snprintf(child, sizeof child, "%s/none/x", base);
  EXPECT_RC("errors", zoo_create(zh, child, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL,
                                 0), ZNONODE);
  EXPECT_RC("errors", zoo_delete(zh, eph, 5), ZBADVERSION);
  len = sizeof buf;
  EXPECT_RC("errors", zoo_get(zh, "/zookeeper/config", 0, buf, &len, NULL), ZOK);
  EXPECT_RC("errors", zoo_set(zh, "/zookeeper/config", "x", 1, -1), ZNOAUTH);
  {
    struct ACL bad_acl = {ZOO_PERM_ALL, {"digest", "no-colon"}};
    struct ACL_vector bad = {1, &bad_acl};
    snprintf(child, sizeof child, "%s/badacl", base);
    EXPECT_RC("errors", zoo_create(zh, child, NULL, -1, &bad, ZOO_PERSISTENT, NULL, 0),
              ZINVALIDACL);
  }
  EXPECT_RC("errors", zoo_delete(zh, "/zookeeper", -1), ZBADARGUMENTS);
  ok("errors");

  /* close: the ephemeral goes with the session */
  EXPECT_RC("close", zookeeper_close(zh), ZOK);
  zh = open_handle(hosts);
  EXPECT_RC("close", zoo_exists(zh, eph, 0, NULL), ZNONODE);
  /* cleanup with sync deletes */
  const char *names[] = {"c0", "c1", "c2", "s-0000000003", "m"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(child, sizeof child, "%s/%s", base, names[i]);
    EXPECT_RC("delete", zoo_delete(zh, child, -1), ZOK);
  }
  EXPECT_RC("delete", zoo_delete(zh, p, 1), ZOK);
  EXPECT_RC("delete", zoo_exists(zh, p, 0, NULL), ZNONODE);
  ok("delete");
  zookeeper_close(zh);
  printf("all ok\n");
  return 0;
}
