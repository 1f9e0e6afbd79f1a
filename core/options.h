/*
 * core/options.h - validate a node's `with:` options against the plugin's
 * declared schema and fill in defaults, so that plugins never parse
 * configuration.  Every problem becomes a diagnostic at the option's YAML
 * position (unknown key with did-you-mean, wrong type, out of range, not
 * one of the enum values, missing required option).
 */
#ifndef ASSAY_OPTIONS_H
#define ASSAY_OPTIONS_H

#include <assay/plugin.h>

#include "diag.h"
#include "ydoc.h"

/*
 * `given`: the options as JSON (NULL = none).  `ypos`: the YAML mapping
 * they came from, for positions (may be NULL); `file`, `line`, `col`: where
 * to report problems that have no better position; `who` prefixes
 * messages ("node 'x'").  On success *out is a new object with every
 * declared option present.
 */
int options_resolve(const assay_plugin *p, const json_t *given,
                    const ynode *ypos, const char *file, int line, int col,
                    const char *who, diag *d, json_t **out);

/* Parse an option's default (JSON text) and check it against the option's
 * own type and bounds; used by the loader and plugin-check. */
int options_check_default(const assay_option *o, char *msg, size_t msgsz);

/* "int", "float", ... for messages and `plugins info`. */
const char *options_type_name(assay_opt_type t);

#endif
