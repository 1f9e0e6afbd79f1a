/*
 * core/cli.h - the `assay` command line: run, validate, plugins, graph,
 * runs, llm.  Exit codes: 0 ok, 1 run failed, 2 bad input.
 */
#ifndef ASSAY_CLI_H
#define ASSAY_CLI_H

int cli_main(int argc, char **argv);

#endif
