/*
 * synth.synalign - SynAlign (Ren et al., "Few-shot LLM Synthetic Data
 * with Distribution Matching", WWW 2025): exploration-aware sampling of
 * demonstrations, latent attribute reasoning with an LLM, and alignment
 * of the synthetic set to the real one by MMD sampling weights.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes_tpl.h"
#include "generate_tpl.h"
#include "hashvec.h"
#include "jc_opts.h"
#include "jc_text.h"
#include "kernel.h"
#include "sa_sampler.h"
#include "syn_llm.h"
#include "syn_mmd.h"
#include "syn_text.h"

enum { BUDGET_AVERAGE = 0, BUDGET_PROPORTION = 1 };
enum { BY_AUTO = 0, BY_ALWAYS = 1, BY_NEVER = 2 };
enum { RS_MULTINOMIAL = 0, RS_TOP = 1 };
enum { STAGE_ATTR = 0, STAGE_GEN = 1 };

#define SA_EST_COMPLETION 600

typedef struct sa_state {
    const assay_host *h;
    char *endpoint, *embed_ep, *text_field, *label_field, *id_field;
    json_t *params;
    jc_prompt p_attr, p_gen;
    char *rep_attr, *rep_gen;
    size_t n_demos, k, gen_size, hash_dim, resample_n, max_iter;
    int budget, align_by, resample_method, hash_ngram;
    bool align, on_error_record;
    double lengthscale, gp_noise, tol, bandwidth;
    unsigned max_repairs;
} sa_state;

static const assay_port sa_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "the real labelled examples (text_field, label_field)"},
    {.name = "synthetic",
     .type = ASSAY_T_RECORDS,
     .doc = "an existing synthetic set to align (skips sampling and "
            "generation; needs text_field and label_field)"},
    {0}};

static const assay_port sa_outputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "synthetic records: text, label, weight, demo (the source "
            "demonstration), attributes"},
    {.name = "resampled",
     .type = ASSAY_T_RECORDS,
     .doc = "the synthetic records drawn by weight (one per draw)"},
    {.name = "demos",
     .type = ASSAY_T_RECORDS,
     .doc = "the demonstrations picked by the GP sampler, with their "
            "clusters, attributes and status"},
    {.name = "failures",
     .type = ASSAY_T_RECORDS,
     .doc = "LLM requests that failed or gave no usable answer (stage, "
            "demo, error)"},
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "counts, MMD^2 before/after alignment (overall and per "
            "label), bandwidths, solver figures"},
    {0}};

static const assay_option sa_options[] = {
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .doc = "endpoint that summarises and generates (needed unless "
            "`synthetic` is connected)"},
    JC_OPT_PARAMS,
    {.name = "text_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"text\"",
     .doc = "field holding the text"},
    {.name = "label_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"label\"",
     .doc = "field holding the label"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"id\"",
     .doc = "real-item field copied into `demo` when present"},
    {.name = "n_demos",
     .type = ASSAY_OPT_INT,
     .def = "12",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1000000,
     .doc = "demonstrations in all (the reference's n_epoch)"},
    {.name = "budget",
     .type = ASSAY_OPT_ENUM,
     .def = "\"average\"",
     .choices = "average|proportion",
     .doc = "per label: n_demos // labels, or in proportion to the label's "
            "share of the real set (at least 1)"},
    {.name = "k_example",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 64,
     .doc = "cluster size: the max-variance point and its nearest "
            "neighbours, all marked selected"},
    {.name = "gp_lengthscale",
     .type = ASSAY_OPT_FLOAT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .doc = "RBF lengthscale of the GP (0: the median distance of the "
            "label's embeddings; the reference uses 0.1 on DistilBERT "
            "vectors)"},
    {.name = "gp_noise",
     .type = ASSAY_OPT_FLOAT,
     .def = "1e-6",
     .has_min = true,
     .min = 1e-12,
     .has_max = true,
     .max = 1,
     .doc = "GP noise variance (jitter for duplicate texts)"},
    {.name = "gen_size",
     .type = ASSAY_OPT_INT,
     .def = "10",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 200,
     .doc = "new samples asked for per attribute summary"},
    {.name = "embed",
     .type = ASSAY_OPT_STRING,
     .doc = "embedding endpoint (host embedding service); none: the "
            "offline hashing embedder (embedder.hashing's vectors)"},
    {.name = "hash_dim",
     .type = ASSAY_OPT_INT,
     .def = "256",
     .has_min = true,
     .min = 8,
     .has_max = true,
     .max = 65536,
     .doc = "hashing embedder: dimension"},
    {.name = "hash_ngram",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 3,
     .doc = "hashing embedder: word n-grams of 1..hash_ngram"},
    {.name = "align",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "learn MMD weights (else every synthetic item weighs 1/m)"},
    {.name = "align_by_label",
     .type = ASSAY_OPT_ENUM,
     .def = "\"auto\"",
     .choices = "auto|always|never",
     .doc = "weights per label, mixed by the real label shares (auto: "
            "when label shares differ or are imbalanced)"},
    {.name = "bandwidth",
     .type = ASSAY_OPT_FLOAT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .doc = "RBF sigma of the MMD (0: median distance, per alignment "
            "group)"},
    {.name = "tol",
     .type = ASSAY_OPT_FLOAT,
     .def = "1e-4",
     .has_min = true,
     .min = 1e-12,
     .has_max = true,
     .max = 1,
     .doc = "solver stops when its duality gap is below tol x MMD^2 "
            "at uniform weights"},
    {.name = "max_iter",
     .type = ASSAY_OPT_INT,
     .def = "200000",
     .has_min = true,
     .min = 1,
     .doc = "solver steps at most, per alignment group"},
    {.name = "resample",
     .type = ASSAY_OPT_INT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .doc = "records to draw by weight (0: as many as were generated)"},
    {.name = "resample_method",
     .type = ASSAY_OPT_ENUM,
     .def = "\"multinomial\"",
     .choices = "multinomial|top",
     .doc = "draw with replacement by weight, or keep the top-weighted"},
    {.name = "attr_template",
     .type = ASSAY_OPT_STRING,
     .doc = "stage-1 prompt template text (see doc)"},
    {.name = "attr_template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the stage-1 template"},
    {.name = "gen_template",
     .type = ASSAY_OPT_STRING,
     .doc = "stage-2 prompt template text (see doc)"},
    {.name = "gen_template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the stage-2 template"},
    JC_OPT_MAX_REPAIRS,
    JC_OPT_ON_ERROR,
    {0}};

static void sa_destroy(void *state)
{
    sa_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    free(s->embed_ep);
    free(s->text_field);
    free(s->label_field);
    free(s->id_field);
    json_decref(s->params);
    jc_prompt_free(&s->p_attr);
    jc_prompt_free(&s->p_gen);
    free(s->rep_attr);
    free(s->rep_gen);
    free(s);
}

static int render_repair(const jc_prompt *p, char **out, assay_error *err)
{
    if (!p->repair)
        return ASSAY_OK;
    json_t *empty = json_object();
    int rc = empty ? jc_tpl_render(p->repair, empty, 0, out, err)
                   : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    json_decref(empty);
    return rc;
}

static int sa_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    sa_state *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    if (!jc_opt_strdup(o, "llm", &s->endpoint) ||
        !jc_opt_strdup(o, "embed", &s->embed_ep) ||
        !jc_opt_strdup(o, "text_field", &s->text_field) ||
        !jc_opt_strdup(o, "label_field", &s->label_field) ||
        !jc_opt_strdup(o, "id_field", &s->id_field)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    s->n_demos = (size_t)assay_opt_int(o, "n_demos");
    s->budget = !strcmp(assay_opt_str(o, "budget"), "proportion")
                    ? BUDGET_PROPORTION
                    : BUDGET_AVERAGE;
    s->k = (size_t)assay_opt_int(o, "k_example");
    s->lengthscale = assay_opt_num(o, "gp_lengthscale");
    s->gp_noise = assay_opt_num(o, "gp_noise");
    s->gen_size = (size_t)assay_opt_int(o, "gen_size");
    s->hash_dim = (size_t)assay_opt_int(o, "hash_dim");
    s->hash_ngram = (int)assay_opt_int(o, "hash_ngram");
    s->align = assay_opt_bool(o, "align");
    const char *by = assay_opt_str(o, "align_by_label");
    s->align_by = !strcmp(by, "always")  ? BY_ALWAYS
                  : !strcmp(by, "never") ? BY_NEVER
                                         : BY_AUTO;
    s->bandwidth = assay_opt_num(o, "bandwidth");
    s->tol = assay_opt_num(o, "tol");
    s->max_iter = (size_t)assay_opt_int(o, "max_iter");
    s->resample_n = (size_t)assay_opt_int(o, "resample");
    s->resample_method = !strcmp(assay_opt_str(o, "resample_method"), "top")
                             ? RS_TOP
                             : RS_MULTINOMIAL;
    s->max_repairs = (unsigned)assay_opt_int(o, "max_repairs");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    if (!s->text_field[0] || !s->label_field[0]) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "text_field and label_field must not be "
                             "empty");
        goto fail;
    }
    if ((rc = jc_prompt_option(h, o, "attr_template", "attr_template_file",
                               SYNTH_TPL_ATTRIBUTES, &s->p_attr, err)) ||
        (rc = jc_prompt_option(h, o, "gen_template", "gen_template_file",
                               SYNTH_TPL_GENERATE, &s->p_gen, err)) ||
        (rc = render_repair(&s->p_attr, &s->rep_attr, err)) ||
        (rc = render_repair(&s->p_gen, &s->rep_gen, err)))
        goto fail;
    *state = s;
    return ASSAY_OK;
fail:
    sa_destroy(s);
    return rc;
}

/* ---- labels ----------------------------------------------------------------
 */

typedef struct sa_label {
    char *key;     /* lower-cased, trimmed: how answers are matched */
    char *name;    /* as shown in prompts */
    json_t *value; /* as in the data (borrowed) */
    size_t *idx;   /* real items with this label */
    size_t n;
} sa_label;

typedef struct sa_labels {
    sa_label *v;
    size_t n;
} sa_labels;

static void labels_free(sa_labels *L)
{
    for (size_t i = 0; i < L->n; i++) {
        free(L->v[i].key);
        free(L->v[i].name);
        free(L->v[i].idx);
    }
    free(L->v);
    memset(L, 0, sizeof *L);
}

/* A label value as text: strings as they are, others as JSON. */
static char *label_text(const json_t *v)
{
    if (json_is_string(v))
        return jc_strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Index of the label whose key matches `text`, or SIZE_MAX. */
static size_t label_find(const sa_labels *L, const char *text)
{
    char *key = syn_key_dup(text);
    size_t r = SIZE_MAX;
    for (size_t i = 0; key && i < L->n && r == SIZE_MAX; i++)
        if (!strcmp(L->v[i].key, key))
            r = i;
    free(key);
    return r;
}

static size_t label_of_value(const sa_labels *L, const json_t *v)
{
    char *t = label_text(v);
    size_t r = t ? label_find(L, t) : SIZE_MAX;
    free(t);
    return r;
}

/* Labels of the real set, in order of first appearance; lab[i] per
 * record. */
static int labels_read(const sa_state *s, const json_t *recs, sa_labels *L,
                       size_t *lab, const char **texts, assay_error *err)
{
    size_t n = json_array_size(recs);
    int rc;
    L->v = calloc(n ? n : 1, sizeof *L->v);
    if (!L->v)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        json_t *lv;
        if ((rc = assay_rec_str(rec, i, s->text_field, &texts[i], err)) ||
            (rc = assay_rec_get(rec, i, s->label_field, &lv, err)))
            return rc;
        if (json_is_null(lv) || json_is_array(lv) || json_is_object(lv))
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field '%s': expected a "
                                   "string or number label",
                                   i, s->label_field);
        size_t k = label_of_value(L, lv);
        if (k == SIZE_MAX) {
            sa_label *x = &L->v[L->n];
            x->name = label_text(lv);
            x->key = syn_key_dup(x->name);
            x->value = lv;
            x->idx = malloc(n * sizeof *x->idx);
            if (!x->name || !x->key || !x->idx)
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            k = L->n++;
        }
        L->v[k].idx[L->v[k].n++] = i;
        lab[i] = k;
    }
    return ASSAY_OK;
}

/* ---- embeddings -----------------------------------------------------------
 */

/* Embed texts into a new n x *dim array (caller frees). */
static int embed(const sa_state *s, const char *const *texts, size_t n,
                 double **out, size_t *dim, assay_error *err)
{
    *out = NULL;
    if (!s->embed_ep) {
        hv_opts o = {.dim = s->hash_dim,
                     .ngram = s->hash_ngram,
                     .lowercase = true,
                     .idf = true,
                     .sublinear_tf = true,
                     .l2 = true};
        *dim = s->hash_dim;
        *out = calloc(n * s->hash_dim + 1, sizeof **out);
        if (!*out || hv_embed(texts, n, &o, *out) != 0) {
            free(*out);
            *out = NULL;
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
        return ASSAY_OK;
    }
    double *v = NULL;
    int rc = s->h->embed(s->h, s->embed_ep, texts, n, &v, dim, err);
    if (rc)
        return rc;
    *out = malloc((n * *dim + 1) * sizeof **out);
    if (*out)
        memcpy(*out, v, n * *dim * sizeof **out);
    s->h->free(v);
    return *out ? ASSAY_OK
                : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

/* ---- demonstrations and the LLM stages ---------------------------------- */

typedef struct sa_demo {
    size_t label, real;
    size_t *cluster; /* k entries, SIZE_MAX padded */
    bool fallback;
    uint32_t repeat; /* fallback repeats of the same point: sample index */
    jc_call c[2];
    json_t *attrs;   /* stage-1 attributes */
    json_t *samples; /* stage-2 records (before weights) */
    size_t rejected_label, rejected_empty;
    int status; /* JC_S_OK, JC_S_FAILED, JC_S_INVALID */
    int stage;  /* where it stopped */
} sa_demo;

typedef struct sa_run {
    sa_state *s;
    const json_t *recs;
    const char **texts;
    sa_labels *L;
    sa_demo *demos;
    size_t ndemos, resolved;
    jc_runner r;
} sa_run;

/* "key: value" lines of the attributes (values as text). */
static char *attr_lines(const json_t *attrs)
{
    jc_buf b = {0};
    char *out = NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)attrs, k, v)
    {
        char *t = label_text(v);
        int bad = !t || jc_buf_printf(&b, "%s: %s\n", k, t);
        free(t);
        if (bad) {
            jc_buf_free(&b);
            return NULL;
        }
    }
    jc_buf_take(&b, &out);
    return out;
}

static char *label_list(const sa_labels *L)
{
    jc_buf b = {0};
    char *out = NULL;
    for (size_t i = 0; i < L->n; i++)
        if (jc_buf_printf(&b, "%s%s", i ? ", " : "", L->v[i].name)) {
            jc_buf_free(&b);
            return NULL;
        }
    jc_buf_take(&b, &out);
    return out;
}

static int render_stage(sa_run *run, sa_demo *dm, int stage, char **sys,
                        char **usr, assay_error *err)
{
    sa_state *s = run->s;
    const json_t *rec = json_array_get(run->recs, dm->real);
    const sa_label *lb = &run->L->v[dm->label];
    char *labels = label_list(run->L), *extra = NULL;
    json_t *ctx = jc_context(rec, NULL);
    int rc = ASSAY_ENOMEM;
    if (!labels || !ctx)
        goto oom;
    if (json_object_set_new(ctx, "text", json_string(run->texts[dm->real])) ||
        json_object_set_new(ctx, "label", json_string(lb->name)) ||
        json_object_set_new(ctx, "labels", json_string(labels)) ||
        json_object_set_new(ctx, "gen_size",
                            json_integer((json_int_t)s->gen_size)))
        goto oom;
    if (stage == STAGE_ATTR) {
        json_t *ex = json_pack("{s:s, s:s}", "text", run->texts[dm->real],
                               "label", lb->name);
        extra = ex ? json_dumps(ex, JSON_ENSURE_ASCII) : NULL;
        json_decref(ex);
        if (!extra || json_object_set_new(ctx, "example", json_string(extra)))
            goto oom;
        rc = jc_prompt_render(&s->p_attr, ctx, dm->real, sys, usr, err);
    } else {
        extra = attr_lines(dm->attrs);
        if (!extra ||
            json_object_set_new(ctx, "attributes", json_string(extra)) ||
            json_object_set(ctx, "attribute_object", dm->attrs))
            goto oom;
        rc = jc_prompt_render(&s->p_gen, ctx, dm->real, sys, usr, err);
    }
    goto done;
oom:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    free(labels);
    free(extra);
    json_decref(ctx);
    return rc;
}

/* Stage 2's samples from an answer: every JSON object with a non-empty
 * text; its label mapped to a known one (missing: the demo's). */
static int take_samples(sa_run *run, sa_demo *dm, size_t di, const char *answer,
                        size_t *found)
{
    sa_state *s = run->s;
    json_t *objs = NULL;
    if (syn_json_objects(answer, &objs))
        return ASSAY_ENOMEM;
    *found = json_array_size(objs);
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        const json_t *t = json_object_get(o, "text");
        if (!json_is_string(t))
            t = json_object_get(o, s->text_field);
        char *text =
            json_is_string(t) ? syn_trim_dup(json_string_value(t)) : NULL;
        if (json_is_string(t) && !text) {
            json_decref(objs);
            return ASSAY_ENOMEM;
        }
        if (!text || !text[0]) {
            dm->rejected_empty++;
            free(text);
            continue;
        }
        const json_t *lv = json_object_get(o, "label");
        if (!lv)
            lv = json_object_get(o, s->label_field);
        size_t lab = dm->label;
        if (lv && !json_is_null(lv)) {
            lab = label_of_value(run->L, lv);
            if (lab == SIZE_MAX) {
                dm->rejected_label++;
                free(text);
                continue;
            }
        }
        json_t *rec = json_object();
        json_t *demo = json_pack("{s:I, s:s}", "index", (json_int_t)dm->real,
                                 "text", run->texts[dm->real]);
        const json_t *rid =
            json_object_get(json_array_get(run->recs, dm->real), s->id_field);
        if (demo && rid)
            json_object_set(demo, s->id_field, (json_t *)rid);
        int bad = !rec || !demo ||
                  json_object_set_new(rec, s->text_field, json_string(text)) ||
                  json_object_set(rec, s->label_field, run->L->v[lab].value) ||
                  json_object_set_new(rec, "demo", demo) ||
                  json_object_set_new(rec, "demo_number",
                                      json_integer((json_int_t)di)) ||
                  json_object_set(rec, "attributes", dm->attrs) ||
                  json_array_append_new(dm->samples, rec);
        if (bad && !rec)
            json_decref(demo);
        free(text);
        if (bad) {
            json_decref(objs);
            return ASSAY_ENOMEM;
        }
    }
    json_decref(objs);
    return ASSAY_OK;
}

static int sa_done(void *ud, jc_runner *r, jc_call *c, assay_error *err)
{
    sa_run *run = ud;
    sa_state *s = run->s;
    size_t di = c->a;
    sa_demo *dm = &run->demos[di];
    int stage = c->tag, rc;
    if (c->status == JC_S_FAILED) {
        dm->status = JC_S_FAILED;
        dm->stage = stage;
        if (!s->on_error_record)
            return assay_error_set(
                err, jc_failure_code(c->error),
                "demonstration %zu (record %zu), %s: %s "
                "(set on_error: record to keep going)",
                di, dm->real, stage ? "generation" : "attributes", c->error);
        goto resolved;
    }
    if (stage == STAGE_ATTR) {
        json_t *a = NULL;
        rc = syn_call_json(r, c, SYN_JSON_OBJECT, &a, err);
        if (rc == SYN_ANS_RETRY)
            return ASSAY_OK;
        if (rc < 0)
            return rc;
        if (rc != SYN_ANS_OK) {
            dm->status = JC_S_INVALID;
            dm->stage = stage;
            goto resolved;
        }
        /* re-attach the label and the text when the summary lacks them */
        if ((!json_object_get(a, "label") &&
             json_object_set_new(a, "label",
                                 json_string(run->L->v[dm->label].name))) ||
            (!json_object_get(a, "text") &&
             json_object_set_new(a, "text",
                                 json_string(run->texts[dm->real])))) {
            json_decref(a);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
        dm->attrs = a;
        char *sys = NULL, *usr = NULL;
        if ((rc = render_stage(run, dm, STAGE_GEN, &sys, &usr, err)))
            return rc;
        jc_call *c2 = &dm->c[STAGE_GEN];
        syn_call_init(c2, sys, usr, s->rep_gen, s->max_repairs, dm->real,
                      dm->repeat);
        c2->tag = STAGE_GEN;
        c2->a = di;
        return jc_runner_add(r, c2, err);
    }
    size_t found = 0;
    if (take_samples(run, dm, di, jc_call_text(c), &found))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (found == 0) {
        if (syn_call_retry(r, c, &rc, err))
            return ASSAY_OK;
        if (rc)
            return rc;
        dm->status = JC_S_INVALID;
        dm->stage = stage;
        goto resolved;
    }
    dm->status = JC_S_OK;
    dm->stage = stage;
resolved:
    jc_call_drop_prompts(&dm->c[STAGE_ATTR]);
    jc_call_drop_prompts(&dm->c[STAGE_GEN]);
    s->h->progress(s->h, ++run->resolved, run->ndemos, "demonstrations");
    return ASSAY_OK;
}

/* Clusters per label (budget) and the GP sampler over each label. */
static int pick_demos(sa_run *run, const double *E, size_t dim,
                      assay_error *err)
{
    sa_state *s = run->s;
    const sa_labels *L = run->L;
    size_t n = json_array_size(run->recs), total = 0;
    size_t *per = calloc(L->n, sizeof *per);
    int rc = ASSAY_OK;
    if (!per)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t l = 0; l < L->n; l++) {
        if (s->budget == BUDGET_AVERAGE)
            per[l] = s->n_demos / L->n;
        else
            per[l] = (size_t)llround((double)s->n_demos * (double)L->v[l].n /
                                     (double)n);
        if (per[l] == 0)
            per[l] = 1;
        total += per[l];
    }
    run->demos = calloc(total, sizeof *run->demos);
    if (!run->demos) {
        free(per);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    uint64_t seed = s->h->seed(s->h, "sampler");
    for (size_t l = 0; l < L->n && rc == 0; l++) {
        const sa_label *lb = &L->v[l];
        size_t m = lb->n, R = per[l];
        double *El = malloc((m * dim + 1) * sizeof *El);
        size_t *picks = malloc(R * sizeof *picks);
        size_t *cl = malloc(R * s->k * sizeof *cl);
        bool *fb = malloc(R * sizeof *fb);
        if (!El || !picks || !cl || !fb) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < m; i++)
                memcpy(El + i * dim, E + lb->idx[i] * dim, dim * sizeof *El);
            sa_opts so = {.rounds = R,
                          .k = s->k,
                          .lengthscale = s->lengthscale,
                          .noise = s->gp_noise,
                          .seed = jc_item_seed(seed, l),
                          .host = s->h};
            rc = sa_sample(El, m, dim, &so, picks, cl, fb, err);
            if (rc)
                assay_error_prefix(err, "label %s: ", lb->name);
        }
        for (size_t r = 0; rc == 0 && r < R; r++) {
            sa_demo *dm = &run->demos[run->ndemos++];
            dm->label = l;
            dm->real = lb->idx[picks[r]];
            dm->fallback = fb[r];
            dm->cluster = malloc(s->k * sizeof *dm->cluster);
            dm->samples = json_array();
            if (!dm->cluster || !dm->samples) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                break;
            }
            for (size_t j = 0; j < s->k; j++)
                dm->cluster[j] = cl[r * s->k + j] == SIZE_MAX
                                     ? SIZE_MAX
                                     : lb->idx[cl[r * s->k + j]];
            /* the same point again: a distinct sample index */
            for (size_t q = 0; q + 1 < run->ndemos; q++)
                if (run->demos[q].real == dm->real)
                    dm->repeat++;
        }
        free(El);
        free(picks);
        free(cl);
        free(fb);
    }
    free(per);
    return rc;
}

/* ---- alignment
 * ---------------------------------------------------------------- */

typedef struct sa_align {
    double *w;       /* m */
    json_t *summary; /* filled */
} sa_align;

static double median_sigma(const double *X, size_t n, const double *Y, size_t m,
                           size_t d, double fixed)
{
    if (fixed > 0)
        return fixed;
    double med = 0;
    if (mk_median_distance(X, n, Y, m, d, 1000, &med) != 0 || !(med > 0))
        return 1.0;
    return med;
}

/* Learn weights over Y (the synthetic rows `ys` of V) against X (the real
 * rows `xs` of V), writing w[ys[i]] = mass * w_i. */
static int align_group(sa_state *s, const double *V, size_t dim,
                       const size_t *xs, size_t nx, const size_t *ys, size_t ny,
                       double mass, double *w, json_t *out, assay_error *err)
{
    double *X = malloc((nx * dim + 1) * sizeof *X);
    double *Y = malloc((ny * dim + 1) * sizeof *Y);
    double *wl = malloc((ny + 1) * sizeof *wl);
    int rc = ASSAY_OK;
    if (!X || !Y || !wl) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nx; i++)
        memcpy(X + i * dim, V + xs[i] * dim, dim * sizeof *X);
    for (size_t i = 0; i < ny; i++)
        memcpy(Y + i * dim, V + ys[i] * dim, dim * sizeof *Y);
    double sigma = median_sigma(X, nx, Y, ny, dim, s->bandwidth);
    syn_mmd_opts o = {.sigma = sigma,
                      .threads = s->h->threads(s->h),
                      .max_iter = s->max_iter,
                      .tol = s->tol,
                      .host = s->h};
    syn_mmd_result res;
    if ((rc = syn_mmd_learn(X, nx, Y, ny, dim, &o, wl, &res, err)))
        goto done;
    for (size_t i = 0; i < ny; i++)
        w[i] = mass * wl[i];
    json_object_set_new(out, "real", json_integer((json_int_t)nx));
    json_object_set_new(out, "synthetic", json_integer((json_int_t)ny));
    json_object_set_new(out, "sigma", json_real(sigma));
    json_object_set_new(out, "mmd2_before", json_real(res.mmd2_before));
    json_object_set_new(out, "mmd2_after", json_real(res.mmd2_after));
    json_object_set_new(out, "support", json_integer((json_int_t)res.support));
    json_object_set_new(out, "steps", json_integer((json_int_t)res.iterations));
    json_object_set_new(out, "gap", json_real(res.gap));
    json_object_set_new(out, "converged", json_boolean(res.converged));
    if (!res.converged)
        s->h->log(s->h, ASSAY_LOG_WARN,
                  "MMD weights stopped after %zu steps with gap %.3g "
                  "(raise max_iter or tol)",
                  res.iterations, res.gap);
done:
    free(X);
    free(Y);
    free(wl);
    return rc;
}

/*
 * Weights for the synthetic records `syn` (labels `slab`) against the
 * real texts; fills w (m) and the summary's alignment fields.
 */
static int align_all(sa_state *s, const char **rtexts, const size_t *rlab,
                     size_t n, const double *Ereal, size_t rdim,
                     const json_t *syn, const size_t *slab, const sa_labels *L,
                     double *w, json_t *sum, assay_error *err)
{
    size_t m = json_array_size(syn), dim = rdim;
    double *V = NULL, *Es = NULL;
    const char **all = malloc((n + m + 1) * sizeof *all);
    size_t *xs = malloc((n + 1) * sizeof *xs);
    size_t *ys = malloc((m + 1) * sizeof *ys);
    double *wg = malloc((m + 1) * sizeof *wg);
    json_t *groups = json_object();
    int rc = ASSAY_OK;
    if (!all || !xs || !ys || !wg || !groups) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t a = 0; a < m; a++)
        all[n + a] = json_string_value(
            json_object_get(json_array_get(syn, a), s->text_field));
    /* one vector space: the hashing embedder's idf over both sets; an
     * endpoint embeds the synthetic texts beside the real vectors */
    if (!s->embed_ep) {
        for (size_t i = 0; i < n; i++)
            all[i] = rtexts[i];
        if ((rc = embed(s, all, n + m, &V, &dim, err)))
            goto done;
    } else {
        if ((rc = embed(s, all + n, m, &Es, &dim, err)))
            goto done;
        if (dim != rdim) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "embedding endpoint returned %zu-d vectors "
                                 "for the synthetic texts, %zu-d for the "
                                 "real ones",
                                 dim, rdim);
            goto done;
        }
        V = malloc(((n + m) * dim + 1) * sizeof *V);
        if (!V) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(V, Ereal, n * dim * sizeof *V);
        memcpy(V + n * dim, Es, m * dim * sizeof *V);
    }
    /* per label when asked, or (auto) when the label shares of the two
     * sets differ by more than 5 points or the real labels are
     * imbalanced (largest share > 1.5 x smallest) */
    bool by_label = s->align_by == BY_ALWAYS;
    if (s->align_by == BY_AUTO && L->n > 1) {
        double pmin = 1, pmax = 0, diff = 0;
        for (size_t l = 0; l < L->n; l++) {
            size_t ml = 0;
            for (size_t a = 0; a < m; a++)
                ml += slab[a] == l;
            double p = (double)L->v[l].n / (double)n;
            double q = m ? (double)ml / (double)m : 0;
            pmin = fmin(pmin, p);
            pmax = fmax(pmax, p);
            diff = fmax(diff, fabs(p - q));
        }
        by_label = diff > 0.05 || pmax > 1.5 * pmin;
    }
    if (!by_label) {
        for (size_t i = 0; i < n; i++)
            xs[i] = i;
        for (size_t a = 0; a < m; a++)
            ys[a] = n + a;
        json_t *g = json_object();
        if (!g || json_object_set_new(groups, "all", g)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = align_group(s, V, dim, xs, n, ys, m, 1.0, w, g, err)))
            goto done;
    } else {
        double covered = 0;
        for (size_t l = 0; l < L->n; l++) {
            size_t ml = 0;
            for (size_t a = 0; a < m; a++)
                ml += slab[a] == l;
            if (ml)
                covered += (double)L->v[l].n / (double)n;
            else
                s->h->log(s->h, ASSAY_LOG_WARN,
                          "label %s has no synthetic items: its share of "
                          "the real set cannot be matched",
                          L->v[l].name);
        }
        for (size_t l = 0; l < L->n; l++) {
            size_t nx = 0, ny = 0;
            for (size_t i = 0; i < n; i++)
                if (rlab[i] == l)
                    xs[nx++] = i;
            for (size_t a = 0; a < m; a++)
                if (slab[a] == l)
                    ys[ny++] = n + a;
            if (!ny)
                continue;
            json_t *g = json_object();
            if (!g || json_object_set_new(groups, L->v[l].name, g)) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
            double mass = (double)nx / (double)n / covered;
            if ((rc = align_group(s, V, dim, xs, nx, ys, ny, mass, wg, g, err)))
                goto done;
            for (size_t i = 0, a = 0; a < m; a++)
                if (slab[a] == l)
                    w[a] = wg[i++];
        }
    }
    /* overall MMD^2 with one bandwidth: uniform vs learned weights */
    double sigma = median_sigma(V, n, V + n * dim, m, dim, s->bandwidth);
    double before, after;
    unsigned th = s->h->threads(s->h);
    if ((rc = syn_mmd_weighted(V, n, V + n * dim, m, dim, sigma, NULL, th,
                               &before, err)) ||
        (rc = syn_mmd_weighted(V, n, V + n * dim, m, dim, sigma, w, th, &after,
                               err)))
        goto done;
    json_object_set_new(sum, "aligned_by_label", json_boolean(by_label));
    json_object_set_new(sum, "sigma", json_real(sigma));
    json_object_set_new(sum, "mmd2_before", json_real(before));
    json_object_set_new(sum, "mmd2_after", json_real(after));
    json_object_set_new(sum, "embedding_dim", json_integer((json_int_t)dim));
    json_object_set(sum, "alignment", groups);
done:
    free(V);
    free(Es);
    free(all);
    free(xs);
    free(ys);
    free(wg);
    json_decref(groups);
    return rc;
}

/* Draw `M` records by weight (multinomial) or keep the top `M`. */
static json_t *resample(sa_state *s, const json_t *items, const double *w)
{
    size_t m = json_array_size(items);
    size_t M = s->resample_n ? s->resample_n : m;
    json_t *out = json_array();
    size_t *cnt = calloc(m + 1, sizeof *cnt);
    double *cum = malloc((m + 1) * sizeof *cum);
    if (!out || !cnt || !cum || m == 0)
        goto done;
    if (s->resample_method == RS_TOP) {
        size_t *ord = malloc(m * sizeof *ord);
        if (!ord) {
            json_decref(out);
            out = NULL;
            goto done;
        }
        for (size_t a = 0; a < m; a++)
            ord[a] = a;
        /* insertion sort by weight, stable on index */
        for (size_t a = 1; a < m; a++) {
            size_t x = ord[a], b = a;
            while (b > 0 && w[ord[b - 1]] < w[x]) {
                ord[b] = ord[b - 1];
                b--;
            }
            ord[b] = x;
        }
        for (size_t a = 0; a < m && a < M; a++)
            if (w[ord[a]] > 0)
                cnt[ord[a]] = 1;
        free(ord);
    } else {
        assay_rng r;
        assay_rng_init(&r, s->h->seed(s->h, "resample"));
        double acc = 0;
        for (size_t a = 0; a < m; a++) {
            acc += w[a];
            cum[a] = acc;
        }
        for (size_t t = 0; t < M; t++) {
            double u = assay_rng_uniform(&r) * acc;
            size_t lo = 0, hi = m - 1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (cum[mid] > u)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            while (lo > 0 && w[lo] <= 0)
                lo--; /* never a zero-weight record */
            cnt[lo]++;
        }
    }
    for (size_t a = 0; a < m; a++)
        for (size_t c = 0; c < cnt[a]; c++)
            if (json_array_append(out, json_array_get(items, a))) {
                json_decref(out);
                out = NULL;
                goto done;
            }
done:
    free(cnt);
    free(cum);
    return out;
}

/* ---- run --------------------------------------------------------------------
 */

static json_t *demo_record(const sa_run *run, size_t di)
{
    const sa_demo *dm = &run->demos[di];
    sa_state *s = run->s;
    json_t *cl = json_array();
    for (size_t j = 0; cl && j < s->k; j++)
        if (dm->cluster[j] != SIZE_MAX)
            json_array_append_new(cl, json_integer((json_int_t)dm->cluster[j]));
    json_t *o = json_pack(
        "{s:I, s:I, s:s, s:O, s:o, s:b, s:s, s:I, s:I, "
        "s:I}",
        "demo_number", (json_int_t)di, "index", (json_int_t)dm->real, "text",
        run->texts[dm->real], "label", run->L->v[dm->label].value, "cluster",
        cl, "fallback", dm->fallback, "status", jc_status_name(dm->status),
        "generated", (json_int_t)json_array_size(dm->samples), "rejected_label",
        (json_int_t)dm->rejected_label, "rejected_empty",
        (json_int_t)dm->rejected_empty);
    const json_t *rid =
        json_object_get(json_array_get(run->recs, dm->real), s->id_field);
    if (o && rid)
        json_object_set(o, s->id_field, (json_t *)rid);
    if (o && dm->attrs)
        json_object_set(o, "attributes", dm->attrs);
    return o;
}

static json_t *failure_record(const sa_run *run, size_t di)
{
    const sa_demo *dm = &run->demos[di];
    const jc_call *c = &dm->c[dm->stage];
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:O}", "demo_number",
                          (json_int_t)di, "index", (json_int_t)dm->real,
                          "stage", dm->stage ? "generation" : "attributes",
                          "status", jc_status_name(dm->status), "label",
                          run->L->v[dm->label].value);
    if (!o)
        return NULL;
    json_object_set_new(o, "error",
                        json_string(c->error ? c->error
                                             : "no usable answer after "
                                               "the repairs"));
    json_t *raws = jc_call_raws(c);
    if (raws)
        json_object_set_new(o, "raw", raws);
    return o;
}

static int sa_run_cb(void *state, assay_io *io, assay_error *err)
{
    sa_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    const json_t *given = h->in_records(io, "synthetic");
    size_t n = json_array_size(recs), m = 0;
    sa_labels L = {0};
    sa_run run = {.s = s, .recs = recs, .L = &L};
    size_t *rlab = malloc((n + 1) * sizeof *rlab), *slab = NULL;
    const char **texts = calloc(n + 1, sizeof *texts);
    double *E = NULL, *w = NULL;
    size_t dim = 0, rejected_label = 0, rejected_empty = 0, nfail = 0;
    json_t *items = NULL, *demos = json_array(), *fails = json_array();
    json_t *sum = json_object(), *res = NULL;
    int rc = ASSAY_OK;
    run.texts = texts;
    jc_runner_init(&run.r, h, s->endpoint, s->params, sa_done, &run);
    if (!rlab || !texts || !demos || !fails || !sum) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (n == 0) {
        rc = assay_error_set(err, ASSAY_EDATA, "no real items");
        goto done;
    }
    if ((rc = labels_read(s, recs, &L, rlab, texts, err)))
        goto done;
    if (!given && !s->endpoint) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "option llm is needed to generate (or connect "
                             "an existing set to input `synthetic`)");
        goto done;
    }
    if ((rc = embed(s, texts, n, &E, &dim, err)))
        goto done;
    if (!given) {
        /* (a) sampling, (b) attributes then generation, pipelined */
        if ((rc = pick_demos(&run, E, dim, err)))
            goto done;
        for (size_t di = 0; di < run.ndemos; di++) {
            sa_demo *dm = &run.demos[di];
            char *sys = NULL, *usr = NULL;
            if ((rc = render_stage(&run, dm, STAGE_ATTR, &sys, &usr, err)))
                goto done;
            syn_call_init(&dm->c[STAGE_ATTR], sys, usr, s->rep_attr,
                          s->max_repairs, dm->real, dm->repeat);
            dm->c[STAGE_ATTR].tag = STAGE_ATTR;
            dm->c[STAGE_ATTR].a = di;
            if ((rc = jc_runner_add(&run.r, &dm->c[STAGE_ATTR], err)))
                goto done;
        }
        if ((rc = jc_runner_run(&run.r, err)))
            goto done;
        if (h->cancelled(h)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        items = json_array();
        for (size_t di = 0; items && di < run.ndemos; di++) {
            sa_demo *dm = &run.demos[di];
            size_t i;
            json_t *v;
            json_array_foreach(dm->samples, i, v)
            {
                json_object_set_new(v, "sample_number",
                                    json_integer((json_int_t)i));
                if (json_array_append(items, v)) {
                    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                    goto done;
                }
            }
            rejected_label += dm->rejected_label;
            rejected_empty += dm->rejected_empty;
            json_t *d = demo_record(&run, di);
            if (!d || json_array_append_new(demos, d)) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
            if (dm->status != JC_S_OK) {
                json_t *f = failure_record(&run, di);
                nfail++;
                if (!f || json_array_append_new(fails, f)) {
                    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                    goto done;
                }
            }
        }
        if (!items) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    } else {
        items = json_deep_copy(given);
        if (!items) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* labels of the synthetic records */
    m = json_array_size(items);
    slab = malloc((m + 1) * sizeof *slab);
    w = malloc((m + 1) * sizeof *w);
    if (!slab || !w) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t a = 0; a < m; a++) {
        const json_t *rec = json_array_get(items, a);
        const char *t;
        json_t *lv;
        if ((rc = assay_rec_str(rec, a, s->text_field, &t, err)) ||
            (rc = assay_rec_get(rec, a, s->label_field, &lv, err))) {
            assay_error_prefix(err, "synthetic ");
            goto done;
        }
        slab[a] = label_of_value(&L, lv);
        if (slab[a] == SIZE_MAX) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "synthetic record %zu: field '%s': a label "
                                 "the real set does not have",
                                 a, s->label_field);
            goto done;
        }
        w[a] = 1.0 / (double)m;
    }
    /* (c) alignment */
    if (m && s->align) {
        if ((rc = align_all(s, texts, rlab, n, E, dim, items, slab, &L, w, sum,
                            err)))
            goto done;
    } else if (!m) {
        h->log(h, ASSAY_LOG_WARN, "no synthetic items to align");
    }
    for (size_t a = 0; a < m; a++)
        if (json_object_set_new(json_array_get(items, a), "weight",
                                json_real(w[a]))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    if (!(res = resample(s, items, w))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    /* summary */
    json_t *perlab = json_object();
    for (size_t l = 0; perlab && l < L.n; l++) {
        size_t ml = 0;
        double mass = 0;
        for (size_t a = 0; a < m; a++)
            if (slab[a] == l) {
                ml++;
                mass += w[a];
            }
        json_object_set_new(perlab, L.v[l].name,
                            json_pack("{s:I, s:I, s:f}", "real",
                                      (json_int_t)L.v[l].n, "synthetic",
                                      (json_int_t)ml, "weight_mass", mass));
    }
    if (!perlab ||
        json_object_set_new(sum, "real", json_integer((json_int_t)n)) ||
        json_object_set_new(sum, "labels", perlab) ||
        json_object_set_new(sum, "demos",
                            json_integer((json_int_t)run.ndemos)) ||
        json_object_set_new(sum, "failed_demos",
                            json_integer((json_int_t)nfail)) ||
        json_object_set_new(sum, "synthetic", json_integer((json_int_t)m)) ||
        json_object_set_new(sum, "rejected_unknown_label",
                            json_integer((json_int_t)rejected_label)) ||
        json_object_set_new(sum, "rejected_empty",
                            json_integer((json_int_t)rejected_empty)) ||
        json_object_set_new(sum, "resampled",
                            json_integer((json_int_t)json_array_size(res))) ||
        json_object_set_new(
            sum, "embedder",
            json_string(s->embed_ep ? s->embed_ep : "hashing")) ||
        (s->endpoint && !given &&
         json_object_set_new(sum, "llm",
                             jc_info(h, s->endpoint, &run.r, run.ndemos)))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (nfail)
        h->log(h, ASSAY_LOG_WARN,
               "%zu of %zu demonstrations gave no samples (see the "
               "failures output)",
               nfail, run.ndemos);
    rc = h->out_records(io, "items", items, err);
    items = NULL;
    if (rc == 0)
        rc = h->out_records(io, "resampled", res, err);
    else
        json_decref(res);
    res = NULL;
    if (rc == 0)
        rc = h->out_records(io, "demos", demos, err);
    else
        json_decref(demos);
    demos = NULL;
    if (rc == 0)
        rc = h->out_records(io, "failures", fails, err);
    else
        json_decref(fails);
    fails = NULL;
    if (rc == 0)
        rc = h->out_json(io, "summary", sum, err);
    else
        json_decref(sum);
    sum = NULL;
done:
    for (size_t di = 0; run.demos && di < run.ndemos; di++) {
        sa_demo *dm = &run.demos[di];
        jc_call_clear(&dm->c[0]);
        jc_call_clear(&dm->c[1]);
        free(dm->cluster);
        json_decref(dm->attrs);
        json_decref(dm->samples);
    }
    free(run.demos);
    jc_runner_free(&run.r);
    labels_free(&L);
    free(rlab);
    free(slab);
    free(texts);
    free(E);
    free(w);
    json_decref(items);
    json_decref(demos);
    json_decref(fails);
    json_decref(sum);
    json_decref(res);
    return rc;
}

static int sa_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    sa_state *s = state;
    (void)err;
    est->endpoint = s->endpoint;
    if (!s->endpoint || s->h->in_type(io, "synthetic"))
        return ASSAY_OK;
    const json_t *recs = jc_estimate_items(s->h, io, "items", 0);
    size_t n = recs ? json_array_size(recs) : 0;
    uint64_t avg = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(
            json_object_get(json_array_get(recs, i), s->text_field));
        avg += t ? strlen(t) : 0;
    }
    avg = n ? avg / n : 400;
    uint64_t req = 2 * (uint64_t)s->n_demos;
    jc_estimate_fill(est, s->endpoint, req, req * (avg * 2 + 1200), s->params,
                     SA_EST_COMPLETION);
    return ASSAY_OK;
}

static const assay_plugin sa_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "synth.synalign",
    .kind = "synthesizer",
    .version = "1.0.0",
    .summary = "SynAlign: GP-guided demonstrations, LLM attribute "
               "summaries and generation, MMD-aligned sampling weights",
    .doc = "Implements SynAlign (Ren et al., \"Few-shot LLM Synthetic Data "
           "with Distribution Matching\", WWW 2025) for a labelled text set.\n"
           "(a) Exploration-aware sampling: every real text is embedded (the "
           "host's embedding endpoint `embed`, or the offline hashing "
           "embedder: feature-hashed TF-IDF of word 1..hash_ngram-grams, "
           "L2-normalised, as embedder.hashing); per label, a Gaussian "
           "process with an RBF kernel (lengthscale gp_lengthscale, or the "
           "median distance) is fitted on the embeddings selected so far with "
           "all-zero targets, so its predictive variance measures distance to "
           "the selected set; each round the remaining point of largest "
           "variance (the first at random) and its k_example - 1 nearest "
           "unselected neighbours are selected, and the point becomes a "
           "demonstration.  budget average gives each label n_demos // labels "
           "rounds, proportion splits n_demos by label frequency; a label "
           "that runs out of points falls back to random picks.\n"
           "(b) Latent attribute reasoning: for each demonstration the "
           "endpoint `llm` summarises the example's attributes as one JSON "
           "object (label and text re-attached when missing); the summary is "
           "then listed as key: value lines and the model writes gen_size new "
           "samples as JSON objects {label, text}, found anywhere in the "
           "answer (fences, prose and trailing commas tolerated); a label is "
           "matched case-insensitively to the real labels (missing: the "
           "demonstration's; unknown: rejected and counted).  Unreadable "
           "answers get repair turns; failed or unusable requests are listed "
           "in `failures` (on_error: fail stops the node instead).  Both "
           "stages stream: a summary's generation request leaves as soon as "
           "the summary arrives.\n"
           "(c) Distribution alignment: real and synthetic texts share one "
           "embedding space; sampling weights w on the simplex minimise the "
           "weighted MMD^2 to the real set with an RBF kernel whose sigma is "
           "the median pairwise distance (bandwidth to fix it), solved by "
           "pairwise Frank-Wolfe with exact line search (stopping on the "
           "duality gap, tol); with align_by_label (auto: when label shares "
           "differ by more than 5 points or the real labels are imbalanced) "
           "each label is aligned to its own real items and the labels mixed "
           "by their real shares.  The summary reports MMD^2 before "
           "(uniform) and after (learned weights), overall with one "
           "bandwidth and per alignment group.  `resampled` draws `resample` "
           "records (default: as many as generated) by weight with "
           "replacement, or keeps the top-weighted (resample_method top).\n"
           "Connect an existing synthetic set to `synthetic` to run (c) only.\n"
           "Outputs: items (text, label, weight, demo {index, id, text}, "
           "demo_number, sample_number, attributes), resampled, demos "
           "(clusters, attributes, status, counts), failures, summary.\n"
           "Templates: attr_template(_file) with fields example, text, label, "
           "labels and the record's fields; gen_template(_file) with "
           "attributes, attribute_object, label, labels, gen_size.\n\n"
           "Default templates:\n\nattributes.txt:\n" SYNTH_TPL_ATTRIBUTES
           "\ngenerate.txt:\n" SYNTH_TPL_GENERATE,
    .inputs = sa_inputs,
    .outputs = sa_outputs,
    .options = sa_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = sa_create,
    .run = sa_run_cb,
    .destroy = sa_destroy,
    .estimate = sa_estimate,
};

static const assay_plugin *const sa_list[] = {&sa_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return sa_list;
}
