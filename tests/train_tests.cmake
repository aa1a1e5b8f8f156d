# Tests of src/train and the CLI (libtorch).
