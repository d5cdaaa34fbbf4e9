# dougong_add_proto(<target> <file.proto>... [IMPORT_DIRS dir...])
#
# Generates protobuf messages and Dougong service stubs (server base class and
# client stub) for each .proto and adds them to <target>. The generated headers
# land in ${CMAKE_CURRENT_BINARY_DIR}/dougong_gen, which is added to the
# target's include path. Works in-tree and from the installed package.
#
# A .proto inside one of IMPORT_DIRS is compiled under its path relative to
# that directory (as protoc names it, and as other protos import it):
# IMPORT_DIRS protos with protos/foo/bar.proto gives dougong_gen/foo/bar.pb.h
# and foo/bar.dougong.h. A .proto outside all IMPORT_DIRS is compiled relative
# to its own directory. Changes to imported protos trigger regeneration.

# Functions keep the policies in force where they are defined: NEW makes
# CMake rewrite protoc's depfile paths for Ninja, whatever the caller's policy.
cmake_policy(PUSH)
cmake_policy(SET CMP0116 NEW)

function(dougong_add_proto target)
  cmake_parse_arguments(ARG "" "" "IMPORT_DIRS" ${ARGN})
  if(NOT ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dougong_add_proto: no .proto files given for ${target}")
  endif()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/dougong_gen)
  file(MAKE_DIRECTORY ${out_dir})
  if(TARGET protoc-gen-dougong)
    set(plugin $<TARGET_FILE:protoc-gen-dougong>)
    set(plugin_dep protoc-gen-dougong)
  elseif(TARGET dougong::protoc-gen-dougong)
    set(plugin $<TARGET_FILE:dougong::protoc-gen-dougong>)
    set(plugin_dep dougong::protoc-gen-dougong)
  else()
    message(FATAL_ERROR "dougong_add_proto: protoc-gen-dougong not found")
  endif()
  if(NOT TARGET protobuf::protoc)
    message(FATAL_ERROR "dougong_add_proto: protobuf::protoc not found; find_package(Protobuf) first")
  endif()
  set(protoc_exe protobuf::protoc)

  set(import_dirs)
  foreach(d ${ARG_IMPORT_DIRS})
    get_filename_component(dabs ${d} ABSOLUTE)
    cmake_path(NORMAL_PATH dabs)
    list(APPEND import_dirs ${dabs})
  endforeach()

  set(srcs)
  foreach(proto ${ARG_UNPARSED_ARGUMENTS})
    get_filename_component(abs ${proto} ABSOLUTE)
    cmake_path(NORMAL_PATH abs)
    # protoc maps the file through the first -I that contains it; choose that
    # directory so output names match protoc's and imports resolve to the
    # same file (otherwise it would be defined twice in the descriptor pool).
    set(root)
    foreach(dabs ${import_dirs})
      cmake_path(IS_PREFIX dabs "${abs}" NORMALIZE under)
      if(under)
        set(root ${dabs})
        break()
      endif()
    endforeach()
    if(root)
      set(includes)
    else()
      get_filename_component(root ${abs} DIRECTORY)
      set(includes -I${root})
    endif()
    foreach(dabs ${import_dirs})
      list(APPEND includes -I${dabs})
    endforeach()
    cmake_path(RELATIVE_PATH abs BASE_DIRECTORY ${root} OUTPUT_VARIABLE rel)
    string(REGEX REPLACE "\\.proto$" "" rel_stem "${rel}")

    # Sorted as protoc lists them in the depfile: Ninja checks that the
    # depfile's first output is the rule's first output.
    set(gen
      ${out_dir}/${rel_stem}.dougong.cc ${out_dir}/${rel_stem}.dougong.h
      ${out_dir}/${rel_stem}.pb.cc ${out_dir}/${rel_stem}.pb.h)
    # Several targets of one directory may share a proto (e.g. a server and a
    # client): the rule is created once and its outputs added to each target.
    get_property(done DIRECTORY PROPERTY DOUGONG_PROTO_OUTPUTS)
    if(NOT "${out_dir}/${rel_stem}.pb.cc" IN_LIST done)
      set_property(DIRECTORY APPEND PROPERTY DOUGONG_PROTO_OUTPUTS ${out_dir}/${rel_stem}.pb.cc)
      add_custom_command(
        OUTPUT ${gen}
        COMMAND ${protoc_exe} ${includes}
          --cpp_out=${out_dir}
          --plugin=protoc-gen-dougong=${plugin}
          --dougong_out=${out_dir}
          --dependency_out=${out_dir}/${rel_stem}.proto.d
          ${abs}
        DEPENDS ${abs} ${plugin_dep} ${protoc_exe}
        DEPFILE ${out_dir}/${rel_stem}.proto.d
        COMMENT "dougong_add_proto: ${rel}"
        VERBATIM)
    endif()
    list(APPEND srcs ${out_dir}/${rel_stem}.pb.cc ${out_dir}/${rel_stem}.dougong.cc)
  endforeach()
  target_sources(${target} PRIVATE ${srcs})
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${out_dir}>)
endfunction()

cmake_policy(POP)
