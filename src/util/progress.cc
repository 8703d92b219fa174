#include "regsweep/util/progress.h"

namespace regsweep::util {

Progress& no_progress() {
  static Progress silent;
  return silent;
}

}  // namespace regsweep::util
