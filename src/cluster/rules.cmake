# dougong_rules: the config center (live settings in ZooKeeper or keeper,
# pushed by watches, kept in a local cache file), the service rules model
# (YAML: weights, tag and condition routing, access lists, flow, concurrency
# and breaker settings), routing, and the provider-side ServerGovernor.
# Apart from dougong_cluster because it needs the ZooKeeper client and
# yaml-cpp. Included from src/cluster/CMakeLists.txt.
add_library(dougong_rules STATIC
  ${CMAKE_CURRENT_LIST_DIR}/rules/config_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rules/config_values.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rules/routing.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rules/rules_parser.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rules/rules_watcher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rules/server_governor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rules/zk_config_center.cpp
)
target_include_directories(dougong_rules
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(dougong_rules
  PUBLIC dougong_cluster dougong_resilience dougong_naming dougong Threads::Threads
  PRIVATE spdlog::spdlog fmt::fmt yaml-cpp)
