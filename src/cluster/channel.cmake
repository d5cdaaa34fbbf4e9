# dougong_cluster_channel: ClusterChannel, a ChannelInterface over the
# providers of a service (discovery, balancing, fault tolerance, breakers,
# limits). Apart from dougong_cluster and dougong_resilience because it needs
# the rpc channel (Boost.Asio, the big dougong library). Included from
# src/cluster/CMakeLists.txt.
add_library(dougong_cluster_channel STATIC
  ${CMAKE_CURRENT_LIST_DIR}/channel/channel_core.cpp
  ${CMAKE_CURRENT_LIST_DIR}/channel/cluster_call.cpp
  ${CMAKE_CURRENT_LIST_DIR}/channel/cluster_channel.cpp
  ${CMAKE_CURRENT_LIST_DIR}/channel/cluster_status.cpp
  ${CMAKE_CURRENT_LIST_DIR}/channel/failback_queue.cpp
  ${CMAKE_CURRENT_LIST_DIR}/channel/fault_tolerance.cpp
  ${CMAKE_CURRENT_LIST_DIR}/channel/method_state.cpp
)
target_include_directories(dougong_cluster_channel
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(dougong_cluster_channel
  PUBLIC dougong dougong_cluster dougong_resilience dougong_naming dougong_rules
  PRIVATE spdlog::spdlog fmt::fmt)
