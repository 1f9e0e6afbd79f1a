/*
 * A trivial plugin compiled 50 times (NOOP_INDEX = 0..49) so that the
 * host-overhead benchmark loads 50 plugin files.
 */
#include <assay/plugin.h>

#include <stdlib.h>

#define STR2(x) #x
#define STR(x) STR2(x)

typedef struct st {
    const assay_host *h;
} st;

static int create(const assay_host *h, const json_t *o, void **out,
                  assay_error *err)
{
    (void)o;
    st *s = malloc(sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    *out = s;
    return 0;
}

static int run(void *p, assay_io *io, assay_error *err)
{
    st *s = p;
    const json_t *x = s->h->in_json(io, "x");
    json_int_t n = 1;
    for (size_t i = 0; i < json_array_size(x); i++)
        n += json_integer_value(json_object_get(json_array_get(x, i), "n"));
    return s->h->out_json(io, "y", json_pack("{sI}", "n", n), err);
}

static void destroy(void *p)
{
    free(p);
}

static const assay_port in[] = {
    {.name = "x", .type = ASSAY_T_JSON, .multi = true, .doc = "upstream"},
    {0}};
static const assay_port out[] = {
    {.name = "y", .type = ASSAY_T_JSON, .doc = "{n}"}, {0}};
static const assay_option opts[] = {
    {.name = "label", .type = ASSAY_OPT_STRING, .def = "\"\"",
     .doc = "ignored"},
    {0}};

static const assay_plugin p = {
    ASSAY_PLUGIN_HEADER,
    .name = "bench.noop" STR(NOOP_INDEX),
    .kind = "transform",
    .version = "1.0.0",
    .summary = "trivial node for the host-overhead benchmark",
    .inputs = in,
    .outputs = out,
    .options = opts,
    .flags = ASSAY_F_DETERMINISTIC,
    .create = create,
    .run = run,
    .destroy = destroy,
};

static const assay_plugin *const list[] = {&p, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t v)
{
    (void)v;
    return list;
}
