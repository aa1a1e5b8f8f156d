# Tests of src/core (no libtorch).
bytelite_test(test_byte_tokenizer SOURCES test_byte_tokenizer.cc LIBS bytelite_core)
bytelite_test(test_dataset SOURCES test_dataset.cc LIBS bytelite_core)
bytelite_test(test_metrics SOURCES test_metrics.cc LIBS bytelite_core)
bytelite_test(test_seq2seq_metrics SOURCES test_seq2seq_metrics.cc LIBS bytelite_core)
bytelite_test(test_corpus PREFIX corpus. SOURCES test_corpus.cc LIBS bytelite_core ZLIB::ZLIB)
