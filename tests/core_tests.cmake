# Tests of src/core (no libtorch).
bytelite_test(test_byte_tokenizer SOURCES test_byte_tokenizer.cc LIBS bytelite_core)
bytelite_test(test_dataset SOURCES test_dataset.cc LIBS bytelite_core)
bytelite_test(test_metrics SOURCES test_metrics.cc LIBS bytelite_core)
bytelite_test(test_seq2seq_metrics SOURCES test_seq2seq_metrics.cc LIBS bytelite_core)
bytelite_test(test_corpus PREFIX corpus. SOURCES test_corpus.cc LIBS bytelite_core ZLIB::ZLIB)
bytelite_test(test_report SOURCES test_report.cc LIBS bytelite_core)
# The report page rendered in headless Chromium (Debian chromium, python3-pil): every figure drew.
if(TARGET bytelite)
  add_test(NAME report_renders_in_chromium
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_report_render.py
      $<TARGET_FILE:bytelite> ${PROJECT_SOURCE_DIR})
endif()
# scripts/pareto_table.py (the README's Pareto table) on a made-up run directory: fronts, seed
# means and ranges, per-round speed ratios against fastText.
add_test(NAME pareto_table_fronts_and_rows
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_pareto_table.py)
# scripts/teacher/build_teacher.py's ensemble (the probability average, the validation choice of
# its weight against a brute-force macro-F1, the USE lite embedding cache checks); no node needed.
add_test(NAME build_teacher_ensemble
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_build_teacher.py)
# predict's JSONL writer (src/cli/predict_format.h) against nlohmann's dump of the same object.
bytelite_test(test_predict_format SOURCES test_predict_format.cc LIBS bytelite_core)
