/* core/outpath.h — checks made on a command's outputs before any work starts.
 *
 * The rule they enforce: no output may replace an input, and an output folder that cannot be
 * made is found out before an hour of compute, not after it.
 *
 *   const char *inputs[] = {gt_csv, pred_csv, NULL};
 *   xrem_status s = xrem_outdir_check(out_dir);
 *   if (!s) s = xrem_out_not_input(out_dir, "per_report.csv", inputs);
 *
 * Identity is by device and inode (stat follows symbolic links), so `--out .` next to an input,
 * a hard link or a symlink to an input are all caught; an output that does not exist yet cannot
 * be any existing input.
 */
#ifndef XREM_CORE_OUTPATH_H
#define XREM_CORE_OUTPATH_H

#include "xrem/status.h"

/* dir is a directory that xrem may write, or does not exist and its nearest existing ancestor is
 * one (so `mkdir -p` will succeed). */
xrem_status xrem_outdir_check(const char *dir);
/* The output dir/name (dir NULL: name alone) is none of the NULL-terminated inputs (NULL entries
 * before the end are allowed only as the terminator; pass unused inputs as ""). */
xrem_status xrem_out_not_input(const char *dir, const char *name, const char *const *inputs);

#endif
