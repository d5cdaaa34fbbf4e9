# dougong_resilience: the cluster module's resilience primitives (circuit
# breaker, outlier ejection, concurrency and rate limiters, retry budget).
# Pure logic over an injectable clock, standard library only, so it builds
# and tests without the big dougong library. Included from src/CMakeLists.txt.
add_library(dougong_resilience STATIC
  ${CMAKE_CURRENT_LIST_DIR}/clock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/circuit_breaker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/outlier_detector.cpp
  ${CMAKE_CURRENT_LIST_DIR}/concurrency_limiter.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rate_limiter.cpp
  ${CMAKE_CURRENT_LIST_DIR}/retry_budget.cpp
)
target_include_directories(dougong_resilience
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(dougong_resilience PUBLIC Threads::Threads)
install(TARGETS dougong_resilience EXPORT dougongTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
