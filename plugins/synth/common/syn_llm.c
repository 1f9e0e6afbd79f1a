/*
 * syn_llm.c - see syn_llm.h.
 */
#include "syn_llm.h"

#include <string.h>

void syn_call_init(jc_call *c, char *system, char *user, const char *repair,
                   unsigned max_repairs, size_t item, uint32_t sample)
{
    c->system = system;
    c->user = user;
    c->repair = repair;
    c->max_repairs = repair ? max_repairs : 0;
    c->parse = JC_PARSE_TEXT;
    c->item = item;
    c->sample = sample;
}

bool syn_call_retry(jc_runner *r, jc_call *c, int *rc, assay_error *err)
{
    *rc = ASSAY_OK;
    if (c->status == JC_S_FAILED || !c->repair ||
        c->repairs >= c->max_repairs || !c->user) {
        if (c->status != JC_S_FAILED)
            c->status = JC_S_INVALID;
        return false;
    }
    c->repairs++;
    *rc = jc_runner_add(r, c, err);
    return *rc == ASSAY_OK;
}

int syn_call_json(jc_runner *r, jc_call *c, int want, json_t **out,
                  assay_error *err)
{
    assay_error local;
    int rc;
    *out = NULL;
    if (c->status == JC_S_FAILED)
        return SYN_ANS_FAILED;
    rc = syn_json_find(jc_call_text(c), want, out, &local);
    if (rc == ASSAY_ENOMEM)
        return assay_error_set(err, rc, "out of memory");
    if (rc == ASSAY_OK) {
        c->status = JC_S_OK;
        return SYN_ANS_OK;
    }
    if (syn_call_retry(r, c, &rc, err))
        return SYN_ANS_RETRY;
    return rc ? rc : SYN_ANS_INVALID;
}
