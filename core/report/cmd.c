/*
 * core/report/cmd.c - `assay report` and `assay runs compare` (see
 * cmd.h).
 */
#include "report/cmd.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "report/compare.h"
#include "report/report.h"
#include "util.h"

static const char REPORT_HELP[] =
    "usage: assay report RUN_DIR [-o FILE]\n"
    "\n"
    "Rebuild report.html of a run from what its run directory holds\n"
    "(manifest.json and the stored outputs): one self-contained page with\n"
    "the key results, leaderboards, the experiment graph, node status and\n"
    "timings, LLM usage and cost, and every output as tables and charts.\n"
    "\n"
    "  -o, --output FILE  write the page to FILE instead of\n"
    "                     RUN_DIR/report.html\n";

static const char COMPARE_HELP[] =
    "usage: assay runs compare A B [options]\n"
    "\n"
    "Compare two run directories: metric differences between outputs of\n"
    "nodes with the same name, paired tests on the items both runs scored\n"
    "(McNemar for per-item correct/incorrect values, a seeded paired\n"
    "bootstrap of the mean difference for per-item scores), the items\n"
    "that were right in A and wrong in B, and the configuration\n"
    "differences.  Prints the comparison and writes it as HTML.\n"
    "\n"
    "  --html FILE      where the HTML goes (default: B/compare.html)\n"
    "  --bootstrap N    paired bootstrap resamples (default 2000)\n"
    "  --seed S         bootstrap seed (default 0)\n"
    "  --alpha A        significance level marked in the output "
    "(default 0.05)\n";

int report_cmd_report(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(REPORT_HELP, stdout);
            return 0;
        } else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "assay: %s needs a value\n", s);
                return 2;
            }
            out = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "assay: unknown option '%s'\n%s", s, REPORT_HELP);
            return 2;
        } else if (!dir)
            dir = s;
        else {
            fprintf(stderr, "assay: report takes one run directory\n");
            return 2;
        }
    }
    if (!dir) {
        fputs(REPORT_HELP, stderr);
        return 2;
    }
    if (!util_is_dir(dir)) {
        fprintf(stderr, "assay: %s is not a directory\n", dir);
        return 2;
    }
    assay_error err = {0};
    char written[PATH_MAX + 32];
    int rc = report_write(dir, out, written, sizeof written, &err);
    if (rc) {
        fprintf(stderr, "assay: report: %s\n", err.text);
        return rc == ASSAY_EIO || rc == ASSAY_EDATA ? 2 : 1;
    }
    printf("report: %s\n", written);
    return 0;
}

static bool parse_num(const char *s, double *v)
{
    return util_parse_double(s, v);
}

int report_cmd_compare(int argc, char **argv)
{
    const char *a = NULL, *b = NULL;
    compare_opts o = {.bootstrap = 2000, .seed = 0, .alpha = 0.05};
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        double v;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(COMPARE_HELP, stdout);
            return 0;
        }
        if (!strcmp(s, "--html") || !strcmp(s, "--bootstrap") ||
            !strcmp(s, "--seed") || !strcmp(s, "--alpha")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "assay: %s needs a value\n", s);
                return 2;
            }
            const char *val = argv[++i];
            if (!strcmp(s, "--html")) {
                o.html = val;
                continue;
            }
            if (!parse_num(val, &v) ||
                (!strcmp(s, "--bootstrap") &&
                 (v < 0 || v > 1e7 || v != (double)(long)v)) ||
                (!strcmp(s, "--seed") && (v < 0 || v != (double)(long)v)) ||
                (!strcmp(s, "--alpha") && !(v > 0 && v < 1))) {
                fprintf(stderr, "assay: bad value '%s' for %s\n", val, s);
                return 2;
            }
            if (!strcmp(s, "--bootstrap"))
                o.bootstrap = (unsigned)v;
            else if (!strcmp(s, "--seed"))
                o.seed = (unsigned long long)v;
            else
                o.alpha = v;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "assay: unknown option '%s'\n%s", s, COMPARE_HELP);
            return 2;
        } else if (!a)
            a = s;
        else if (!b)
            b = s;
        else {
            fprintf(stderr, "assay: compare takes two run directories\n");
            return 2;
        }
    }
    if (!a || !b) {
        fputs(COMPARE_HELP, stderr);
        return 2;
    }
    assay_error err = {0};
    int rc = compare_runs(a, b, &o, stdout, &err);
    if (rc) {
        fprintf(stderr, "assay: runs compare: %s\n", err.text);
        return rc == ASSAY_ENOMEM ? 1 : 2;
    }
    return 0;
}
