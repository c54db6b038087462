/*
 * export.h - a recorded run's metrics as CSV.
 *
 * Layer: store.  Used by `cwb runs export` (app/runs_cli.c) and
 * cwb.runs.export (lua/lruns.c).
 */
#ifndef CWB_EXPORT_H
#define CWB_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* CSV to path (NULL or "-": stdout; a file is written atomically), long
 * format "step,name,value" or, with wide, "step,<name>,...".  Returns 0, 1
 * when the run does not exist, or -1 on failure, with a one-line message in
 * err. */
int cwb_store_export_csv(cwb_store *s, int64_t run, const char *path, int wide,
                         char *err, size_t errlen);

#endif
