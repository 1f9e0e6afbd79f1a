/*
 * core/plugcheck.h - `assay plugin-check FILE.so...`: the conformance
 * checker for plugin authors.  Validates every descriptor and its docs,
 * checks that the file exports only the entry symbol and needs no host
 * symbol, and runs each plugin in a forked worker against a mock host:
 * empty inputs, malformed records, cancellation, scripted LLM answers, and
 * a sweep of failing allocations.  A plugin may refuse bad input with an
 * error; it must never crash, hang or leave an output unset on success.
 */
#ifndef ASSAY_PLUGCHECK_H
#define ASSAY_PLUGCHECK_H

int plugcheck_main(int argc, char **argv);

#endif
