#include "bytelite/errors.h"

namespace bytelite {

// Key functions: the vtables and type_info of the error classes are emitted here, once.
Error::~Error() = default;
InputError::~InputError() = default;
ConfigError::~ConfigError() = default;
ModelFileError::~ModelFileError() = default;
TrainingError::~TrainingError() = default;
InvalidArgument::~InvalidArgument() = default;

}  // namespace bytelite
