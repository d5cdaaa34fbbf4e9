# dougong_naming: service registration and discovery by URL (zk://, list://,
# file://, dns://, multicast://). Apart from dougong_cluster because it needs the ZooKeeper
# client (and so the big dougong library), spdlog and libresolv, which the
# load balancers must not pull in. Included from src/cluster/CMakeLists.txt.
add_library(dougong_naming STATIC
  ${CMAKE_CURRENT_LIST_DIR}/naming/background_loop.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/dns_naming.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/file_naming.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/listed_naming.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/multicast_codec.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/multicast_naming.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/multicast_socket.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/naming.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/provider_codec.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/server_publisher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/subscriber_set.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/url.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/zk_naming.cpp
  ${CMAKE_CURRENT_LIST_DIR}/naming/zk_util.cpp
)
target_include_directories(dougong_naming
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(dougong_naming
  PUBLIC dougong_cluster dougong Threads::Threads
  PRIVATE spdlog::spdlog fmt::fmt resolv)
