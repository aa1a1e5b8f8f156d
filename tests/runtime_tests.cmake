# Tests of the int8 runtime (libbytelite), the exporter and the runtime CLI commands.
# test_runtime_kernels and test_beam_search link only the runtime (no libtorch); the others need
# libtorch to build or train the models they compare against.
bytelite_test(test_runtime_kernels SOURCES test_runtime_kernels.cc LIBS bytelite_runtime)
target_include_directories(test_runtime_kernels PRIVATE ${PROJECT_SOURCE_DIR}/src)
bytelite_test(test_runtime_transformer_ops SOURCES test_runtime_transformer_ops.cc LIBS bytelite_runtime)
target_include_directories(test_runtime_transformer_ops PRIVATE ${PROJECT_SOURCE_DIR}/src)
# The op harness: every op x its shape cases x every kernel path of this CPU against the reference,
# bit for bit (ctest: OpHarness*); its own main adds the perf mode, `build/test_ops --perf`
# (docs/runtime.md "Op harness").
add_executable(test_ops test_ops.cc)
target_compile_options(test_ops PRIVATE ${BYTELITE_WARNINGS})
target_link_libraries(test_ops PRIVATE bytelite_runtime GTest::gtest)
target_include_directories(test_ops PRIVATE ${PROJECT_SOURCE_DIR}/src)
set_target_properties(test_ops PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
gtest_discover_tests(test_ops WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} DISCOVERY_TIMEOUT 60)
bytelite_test(test_beam_search SOURCES test_beam_search.cc LIBS bytelite_runtime)
target_include_directories(test_beam_search PRIVATE ${PROJECT_SOURCE_DIR}/src)
# The ternary projection of hashed tokens against golden values from scikit-learn's MurmurHash3
# (tests/golden/projection_golden.json, scripts/golden/make_projection_golden.py).
bytelite_test(test_projection SOURCES test_projection.cc
  LIBS bytelite_runtime nlohmann_json::nlohmann_json)
target_include_directories(test_projection PRIVATE ${PROJECT_SOURCE_DIR}/src)
# The committed golden model files (tests/data/models/v1, v2) against their recorded outputs, and the
# tool that records them (scripts/make_golden_models.sh); both link only the runtime.
bytelite_test(test_golden_models PREFIX golden. SOURCES test_golden_models.cc LIBS bytelite_runtime)
# The runtime's encoder units: one per kind, in the list's order; golden files loaded by theirs.
bytelite_test(test_runtime_encoder_units SOURCES test_runtime_encoder_units.cc
  LIBS bytelite_runtime)
target_include_directories(test_runtime_encoder_units PRIVATE ${PROJECT_SOURCE_DIR}/src
  ${BYTELITE_GENERATED_DIR})
add_dependencies(test_runtime_encoder_units bytelite_schema)
add_executable(golden_model_dump golden_model_dump.cc)
target_compile_options(golden_model_dump PRIVATE ${BYTELITE_WARNINGS})
target_link_libraries(golden_model_dump PRIVATE bytelite_runtime)
set_target_properties(golden_model_dump PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
if(NOT BYTELITE_RUNTIME_ONLY)
bytelite_test(test_runtime_model SOURCES test_runtime_model.cc LIBS bytelite_train)
bytelite_test(test_runtime_diff SOURCES test_runtime_diff.cc LIBS bytelite_train)
bytelite_test(test_runtime_diff_transformer SOURCES test_runtime_diff_transformer.cc
  LIBS bytelite_train)
# The pQRNN encoder (projection input): the same projection on both sides, per-op and OLID test
# set agreement of the int8 model with the training graph.
bytelite_test(test_runtime_diff_pqrnn SOURCES test_runtime_diff_pqrnn.cc LIBS bytelite_train)
# ByteQRNN with word projection: the same byte -> word map and projection on both sides, per-op
# and OLID test set agreement of the int8 model with the training graph.
bytelite_test(test_runtime_diff_qrnn_proj SOURCES test_runtime_diff_qrnn_proj.cc
  LIBS bytelite_train)
bytelite_test(test_runtime_cli SOURCES test_runtime_cli.cc LIBS bytelite_train)
add_dependencies(test_runtime_cli bytelite bytelite-train classify_example)
# The seq2seq API and CLI commands on a tiny trained seq2seq model (generate, eval, info, bench).
bytelite_test(test_generate SOURCES test_generate.cc LIBS bytelite_train)
add_dependencies(test_generate bytelite bytelite-train)
foreach(t test_runtime_model test_runtime_diff test_runtime_diff_transformer
    test_runtime_diff_pqrnn test_runtime_diff_qrnn_proj test_runtime_cli test_generate)
  target_precompile_headers(${t} REUSE_FROM bytelite_train)
  target_include_directories(${t} PRIVATE ${BYTELITE_GENERATED_DIR})
endforeach()
endif()

# The runtime library and the example must not link libtorch (docs/architecture.md: the boundary is
# the product). Checks the dynamic section (readelf -d) and the resolved dependencies (ldd).
add_test(NAME runtime_links_no_libtorch
  COMMAND ${CMAKE_COMMAND}
    -DFILES=$<TARGET_FILE:bytelite_runtime>;$<TARGET_FILE:classify_example>
    -P ${CMAKE_CURRENT_SOURCE_DIR}/check_no_libtorch.cmake)

# The runtime-only command-line executable (src/cli/handoff.h) must not link libtorch either.
if(TARGET bytelite)
  add_test(NAME bytelite_cli_links_no_libtorch
    COMMAND ${CMAKE_COMMAND} -DFILES=$<TARGET_FILE:bytelite>
      -P ${CMAKE_CURRENT_SOURCE_DIR}/check_no_libtorch.cmake)
endif()
