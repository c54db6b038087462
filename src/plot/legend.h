/*
 * legend.h - legend labels that say what differs between the runs of one
 * figure (docs/plot.md).
 *
 * Layer: plot (reads parameter records through store/store.h).  Used by
 * plot/runs_plot.c and the workbench's curve pane (ui/tui_plot.c).
 *
 * Two runs that differ only in tau are both called "infonce-B256-seed1";
 * a legend of names cannot tell them apart.  The label of a run is the
 * words of its name that not every run's name has ("gradient_bias
 * decomposable B=8" among gradient_bias runs of B=8 reads "decomposable")
 * plus the parameters whose values differ among the runs of the same name
 * ("infonce-B256-seed1 tau=0.5"); when every run has the same name, the
 * name goes and the differences stay ("tau=0.5").  Runs that nothing tells
 * apart get their id ("#47").
 */
#ifndef CWB_LEGEND_H
#define CWB_LEGEND_H

#include <stdint.h>

#include "store/store.h"

typedef struct {
    const char *name;     /* the run's label */
    const char *params;   /* its parameters, a JSON object (NULL or "" = none) */
    int64_t id;           /* shown as "#id" when nothing else tells it apart; <= 0: none */
} cwb_legend_run;

/* Longest label made (longer ones are cut with "~"). */
#define CWB_LEGEND_MAX 96

/* labels[i] (malloc'd, caller frees each) for runs[0..n-1].  s reads the
 * JSON (SQLite's json_tree); with s NULL the labels are the names and ids.
 * 0 or -1 (out of memory; labels are then all NULL). */
int cwb_legend_labels(cwb_store *s, const cwb_legend_run *runs, int n, char **labels);

#endif
