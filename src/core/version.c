/* The library's version and build commit (include/xrem/xrem.h). CMake passes both. */
#include "xrem/xrem.h"

#ifndef XREM_VERSION_STRING
#define XREM_VERSION_STRING "0.1.0"
#endif
#ifndef XREM_GIT_COMMIT
#define XREM_GIT_COMMIT "unknown"
#endif

const char *xrem_version(void)
{
    return XREM_VERSION_STRING;
}
const char *xrem_build_commit(void)
{
    return XREM_GIT_COMMIT;
}
