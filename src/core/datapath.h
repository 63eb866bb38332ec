/* core/datapath.h — where xrem's own data files (data/labeler/, ...) are found at run time.
 *
 * The CLI and the library may run from the build tree, from an installed prefix, or from a Python
 * package, in any working directory. xrem_data_find("labeler", buf, sizeof buf) tries, in order:
 *   1. <directory of the running executable>/../share/xrem/labeler   (an installed prefix)
 *   2. <directory of the running executable>/../data/labeler         (the build tree: build/xrem)
 *   3. XREM_INSTALL_DATADIR/labeler    (compiled in: ${CMAKE_INSTALL_FULL_DATADIR}/xrem)
 *   4. XREM_SOURCE_DATADIR/labeler     (compiled in: the source tree's data/)
 *   5. data/labeler                    (relative to the working directory)
 * and gives the first that is a readable directory; otherwise XREM_ERR_IO with every path tried.
 */
#ifndef XREM_CORE_DATAPATH_H
#define XREM_CORE_DATAPATH_H

#include <stddef.h>

#include "xrem/status.h"

xrem_status xrem_data_find(const char *rel, char *out, size_t cap);

#endif
