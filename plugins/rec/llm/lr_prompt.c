/*
 * lr_prompt.c - prompt files with several paraphrased user messages
 * (see lr.h).  Each paraphrase becomes a complete jc_prompt (system,
 * that user message, repair), so rendering and the template language
 * are the judge library's.
 */
#include "lr.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* If [a, b) is a marker line "@@ name @@", copy the name. */
static bool marker(const char *a, const char *b, char *name, size_t cap)
{
    while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
        b--;
    if (b - a < 5 || a[0] != '@' || a[1] != '@' || b[-1] != '@' || b[-2] != '@')
        return false;
    a += 2;
    b -= 2;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if (a == b || (size_t)(b - a) >= cap)
        return false;
    memcpy(name, a, (size_t)(b - a));
    name[b - a] = '\0';
    return true;
}

typedef struct span {
    const char *a, *b;
} span;

void lr_prompts_free(lr_prompts *p)
{
    for (size_t i = 0; i < p->n; i++)
        jc_prompt_free(&p->v[i]);
    p->n = 0;
}

int lr_prompts_parse(const char *text, lr_prompts *out, assay_error *err)
{
    span sys = {0}, rep = {0}, users[LR_MAX_VARIANTS] = {{0}}, *cur = NULL;
    size_t nu = 0;
    char name[32];
    int rc = ASSAY_OK;
    const char *p = text, *end = text + strlen(text), *first = NULL;
    memset(out, 0, sizeof *out);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (marker(p, le, name, sizeof name)) {
            if (cur)
                cur->b = p;
            if (!first)
                first = p;
            bool is_user = !strcmp(name, "user");
            if (is_user) {
                if (nu == LR_MAX_VARIANTS)
                    return assay_error_set(err, ASSAY_EINVAL,
                                           "prompt: more than %d '@@ user "
                                           "@@' messages",
                                           LR_MAX_VARIANTS);
                cur = &users[nu++];
            } else if (!strcmp(name, "system")) {
                cur = &sys;
            } else if (!strcmp(name, "repair")) {
                cur = &rep;
            } else {
                return assay_error_set(err, ASSAY_EINVAL,
                                       "prompt: unknown message '@@ %s @@' "
                                       "(expected system, user or repair)",
                                       name);
            }
            if (!is_user && cur->a)
                return assay_error_set(err, ASSAY_EINVAL,
                                       "prompt: message '@@ %s @@' given "
                                       "twice",
                                       name);
            cur->a = nl ? nl + 1 : end;
            cur->b = end;
        }
        p = nl ? nl + 1 : end;
    }
    if (!first) {
        /* no markers: the whole text is one user message */
        users[0] = (span){text, end};
        nu = 1;
        first = text;
    }
    if (nu == 0)
        return assay_error_set(err, ASSAY_EINVAL,
                               "prompt: no '@@ user @@' message");
    /* rebuild one jc prompt file per variant and let jc parse it */
    for (size_t i = 0; i < nu; i++) {
        jc_buf b = {0};
        int e = jc_buf_put(&b, text, (size_t)(first - text));
        if (!e && sys.a)
            e = jc_buf_puts(&b, "@@ system @@\n") ||
                jc_buf_put(&b, sys.a, (size_t)(sys.b - sys.a));
        if (!e)
            e = jc_buf_puts(&b, "\n@@ user @@\n") ||
                jc_buf_put(&b, users[i].a, (size_t)(users[i].b - users[i].a));
        if (!e && rep.a)
            e = jc_buf_puts(&b, "\n@@ repair @@\n") ||
                jc_buf_put(&b, rep.a, (size_t)(rep.b - rep.a));
        if (e) {
            jc_buf_free(&b);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
        rc = jc_prompt_parse(b.p ? b.p : "", &out->v[i], err);
        jc_buf_free(&b);
        out->n = i + 1;
        if (rc) {
            if (nu > 1)
                assay_error_prefix(err, "user message %zu: ", i + 1);
            goto fail;
        }
    }
    return ASSAY_OK;
fail:
    lr_prompts_free(out);
    return rc;
}

int lr_prompts_option(const assay_host *h, const json_t *opts,
                      const char *inline_opt, const char *file_opt,
                      const char *def, lr_prompts *out, assay_error *err)
{
    const char *text = assay_opt_str(opts, inline_opt);
    const char *file = assay_opt_str(opts, file_opt);
    char *owned = NULL;
    int rc;
    if (text && file)
        return assay_error_set(err, ASSAY_EINVAL,
                               "options '%s' and '%s': give one of them",
                               inline_opt, file_opt);
    if (file) {
        char path[PATH_MAX];
        if ((rc = h->resolve_path(h, file, path, sizeof path, err)) ||
            (rc = jc_read_file(path, &owned, err)))
            return rc;
        text = owned;
    }
    rc = lr_prompts_parse(text ? text : def, out, err);
    if (rc)
        assay_error_prefix(err, "%s: ",
                           file   ? file
                           : text ? inline_opt
                                  : "built-in "
                                    "template");
    free(owned);
    return rc;
}

bool lr_prompts_uses(const lr_prompts *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (jc_prompt_uses(&p->v[i], name))
            return true;
    return false;
}

size_t lr_variant(const lr_prompts *p, long fixed, uint64_t seed, uint64_t key)
{
    if (p->n <= 1)
        return 0;
    if (fixed >= 0)
        return (size_t)fixed % p->n;
    return (size_t)(lr_mix(seed, key) % p->n);
}
