# Tests of src/train and the CLI (libtorch).
bytelite_test(test_train_ops SOURCES test_train_ops.cc LIBS bytelite_train)
bytelite_test(test_trainer SOURCES test_trainer.cc LIBS bytelite_train)
bytelite_test(test_cli SOURCES test_cli.cc LIBS bytelite_core)
add_dependencies(test_cli bytelite)
foreach(t test_train_ops test_trainer)
  target_precompile_headers(${t} REUSE_FROM bytelite_train)
endforeach()
