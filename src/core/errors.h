// The error classes are part of the runtime's public API (include/bytelite/errors.h).
#pragma once

#include "bytelite/errors.h"
