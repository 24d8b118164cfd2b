# Compiler flags shared by every target: strict warnings, optional -Werror,
# optional ASan+UBSan. Applied through ks_target_defaults() so third-party
# code (none vendored today) would not inherit them by accident.
set(KS_WARNING_FLAGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wvla -Wpointer-arith -Wno-unused-parameter)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  # error messages are truncated on purpose (fixed-size, allocation-free buffers)
  list(APPEND KS_WARNING_FLAGS -Wno-format-truncation)
endif()
if(KS_WERROR)
  list(APPEND KS_WARNING_FLAGS -Werror)
endif()
if(KS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
add_compile_definitions(_GNU_SOURCE)

function(ks_target_defaults target)
  target_compile_options(${target} PRIVATE ${KS_WARNING_FLAGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# ks_component(<target> <folder> [DEPS ...]): a static library of every .c
# file under <folder> (any depth) except main.c files, which are binaries.
# A folder with no sources yet becomes an INTERFACE target so dependants link.
function(ks_component target folder)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${folder}/*.c)
  list(FILTER srcs EXCLUDE REGEX "/main\\.c$")
  if(srcs)
    add_library(${target} STATIC ${srcs})
    ks_target_defaults(${target})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# Fuzz builds instrument every library for coverage; targets add the driver.
if(KS_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
