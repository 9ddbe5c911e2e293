#include "worker/version.hpp"

#include "git_revision.inc"  // generated at build time (cmake/git_revision.cmake)

namespace hub::worker {

std::string VersionLine() { return std::string("hubworker ") + HUB_VERSION + " (git " + HUB_GIT_REVISION + ")"; }

}  // namespace hub::worker
