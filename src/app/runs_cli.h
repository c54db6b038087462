/*
 * runs_cli.h - `cwb runs ...`: list, show, export and plot recorded runs.
 *
 * Layer: app (the program).  Called by main.c.
 */
#ifndef CWB_RUNS_CLI_H
#define CWB_RUNS_CLI_H

/* argv[0] is "runs"; db_path is --db given before "runs" (or NULL).
 * Returns the process exit status. */
int cwb_runs_main(int argc, char **argv, const char *db_path);

#endif
