// The byte tokenizer is part of the runtime library (include/bytelite/byte_tokenizer.h), so the
// training code and the int8 runtime share one implementation.
#pragma once

#include "bytelite/byte_tokenizer.h"
