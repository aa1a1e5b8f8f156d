# Fails if any of FILES (a ;-list of binaries) depends on libtorch, c10 or another PyTorch
# library, directly (readelf -d NEEDED) or transitively (ldd).
foreach(f IN LISTS FILES)
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "${f}: expected a built binary, found none")
  endif()
  execute_process(COMMAND readelf -d "${f}" OUTPUT_VARIABLE dyn RESULT_VARIABLE rc1)
  execute_process(COMMAND ldd "${f}" OUTPUT_VARIABLE deps RESULT_VARIABLE rc2)
  if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
    message(FATAL_ERROR "${f}: readelf -d / ldd failed")
  endif()
  # Match library file names only: readelf and ldd print hex addresses and sizes (0xc10,
  # 0x00007fa9f9ac1000) that can contain "c10".
  string(REGEX MATCHALL "lib(torch|c10|caffe2|shm)[A-Za-z0-9_.+-]*\\.so" bad "${dyn}\n${deps}")
  if(bad)
    message(FATAL_ERROR "${f}: expected no libtorch dependency, found:\n${bad}")
  endif()
  string(REGEX MATCHALL "NEEDED[^\n]*" needed "${dyn}")
  message(STATUS "${f}: ${needed}")
endforeach()
