# Tests of src/train and the CLI (libtorch).
bytelite_test(test_train_ops SOURCES test_train_ops.cc LIBS bytelite_train)
bytelite_test(test_trainer SOURCES test_trainer.cc LIBS bytelite_train)
bytelite_test(test_config SOURCES test_config.cc LIBS bytelite_train)
bytelite_test(test_cli SOURCES test_cli.cc LIBS bytelite_core)
add_dependencies(test_cli bytelite bytelite-train)
foreach(t test_train_ops test_trainer)
  target_precompile_headers(${t} REUSE_FROM bytelite_train)
endforeach()
bytelite_test(test_pretrain SOURCES test_pretrain.cc LIBS bytelite_train)
target_precompile_headers(test_pretrain REUSE_FROM bytelite_train)
bytelite_test(test_seq2seq SOURCES test_seq2seq.cc LIBS bytelite_train)
target_precompile_headers(test_seq2seq REUSE_FROM bytelite_train)
bytelite_test(test_seq2seq_trainer SOURCES test_seq2seq_trainer.cc LIBS bytelite_train)
target_precompile_headers(test_seq2seq_trainer REUSE_FROM bytelite_train)
add_dependencies(test_seq2seq_trainer bytelite bytelite-train)
bytelite_test(test_seq2seq_encoders SOURCES test_seq2seq_encoders.cc LIBS bytelite_train)
target_precompile_headers(test_seq2seq_encoders REUSE_FROM bytelite_train)
# Data-parallel training (src/train/distributed.h, the Trainer of src/train/loop.h, the --nproc
# launcher) on loopback: ranks started as separate processes with torchrun's environment
# variables, or by `bytelite-train train --nproc 2` (tests/test_distributed.py).
add_executable(dist_worker dist_worker.cc)
target_compile_options(dist_worker PRIVATE ${BYTELITE_WARNINGS})
target_link_libraries(dist_worker PRIVATE bytelite_train)
target_precompile_headers(dist_worker REUSE_FROM bytelite_train)
add_test(NAME distributed_loopback
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_distributed.py
    $<TARGET_FILE:dist_worker> $<TARGET_FILE:bytelite-train>)
set_tests_properties(distributed_loopback PROPERTIES TIMEOUT 300)
add_dependencies(dist_worker bytelite-train)
bytelite_test(test_encoder_registry SOURCES test_encoder_registry.cc LIBS bytelite_train)
target_include_directories(test_encoder_registry PRIVATE ${BYTELITE_GENERATED_DIR})
target_precompile_headers(test_encoder_registry REUSE_FROM bytelite_train)
# Text distortion, teacher scores and the distillation loss, the training-side projection input
# (docs/distillation.md).
bytelite_test(test_distill SOURCES test_distill.cc LIBS bytelite_train)
target_precompile_headers(test_distill REUSE_FROM bytelite_train)

# The libtorch check itself must fail on a binary that does link libtorch (the training CLI),
# so that the *_links_no_libtorch tests cannot pass vacuously.
add_test(NAME check_no_libtorch_detects_libtorch
  COMMAND ${CMAKE_COMMAND} -DFILES=$<TARGET_FILE:bytelite-train>
    -P ${CMAKE_CURRENT_SOURCE_DIR}/check_no_libtorch.cmake)
# (CMake wraps the message at about 80 columns, so with a long build path "found:" may start a
# new line.)
set_tests_properties(check_no_libtorch_detects_libtorch PROPERTIES
  PASS_REGULAR_EXPRESSION "expected no libtorch dependency,[ \n]*found:[^;]*libtorch")
