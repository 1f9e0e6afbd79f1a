/*
 * core/report/cmd.h - the report commands of the CLI:
 *   assay report RUN_DIR [-o FILE]
 *   assay runs compare A B [--html FILE] [--bootstrap N] [--seed S]
 * Each takes the arguments after its command words and returns the exit
 * code (0 ok, 1 failure, 2 bad usage or input).
 */
#ifndef ASSAY_REPORT_CMD_H
#define ASSAY_REPORT_CMD_H

int report_cmd_report(int argc, char **argv);
int report_cmd_compare(int argc, char **argv);

#endif
