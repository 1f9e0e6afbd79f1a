/*
 * Deliberately broken plugin files for the loader tests.  One source,
 * compiled once per defect (BROKEN_<KIND>), so every .so shows exactly
 * one problem the host must report by file name.
 */
#include <assay/plugin.h>

#include <stdlib.h>

static int create(const assay_host *h, const json_t *o, void **s,
                  assay_error *e)
{
    (void)h, (void)o, (void)e;
    *s = NULL;
    return 0;
}
__attribute__((unused)) static int run(void *s, assay_io *io, assay_error *e)
{
    (void)s, (void)io, (void)e;
    return 0;
}
static void destroy(void *s)
{
    (void)s;
}

#if defined(BROKEN_BAD_DEFAULT)
static const assay_option opts[] = {
    {.name = "k", .type = ASSAY_OPT_INT, .def = "\"ten\"", .doc = "bad"},
    {0}};
#else
static const assay_option opts[] = {{0}};
#endif

static const assay_plugin p = {
#if defined(BROKEN_ABI)
    .abi_version = (ASSAY_ABI_MAJOR + 1) << 16,
    .struct_size = sizeof(assay_plugin),
#elif defined(BROKEN_SMALL)
    .abi_version = ASSAY_ABI_VERSION,
    .struct_size = 16,
#else
    ASSAY_PLUGIN_HEADER,
#endif
#if defined(BROKEN_DUP_A) || defined(BROKEN_DUP_B)
    .name = "test.dup",
#elif defined(BROKEN_BAD_NAME)
    .name = "Bad Name!",
#else
    .name = "test.broken",
#endif
    .kind = "transform",
    .version = "1.0.0",
    .summary = "broken on purpose",
    .options = opts,
    .create = create,
#if defined(BROKEN_NULL_RUN)
    .run = NULL,
#else
    .run = run,
#endif
    .destroy = destroy,
};

static const assay_plugin *const list[] = {&p, NULL};

#if defined(BROKEN_NO_ENTRY)
ASSAY_PLUGIN_EXPORT const assay_plugin *const *other_entry(uint32_t v);
ASSAY_PLUGIN_EXPORT const assay_plugin *const *other_entry(uint32_t v)
#elif defined(BROKEN_EMPTY)
ASSAY_PLUGIN_EXPORT const assay_plugin *const *assay_plugin_entry(uint32_t v)
{
    (void)v;
    (void)list;
    return NULL;
}
#define SKIP_BODY
#else
ASSAY_PLUGIN_EXPORT const assay_plugin *const *assay_plugin_entry(uint32_t v)
#endif
#ifndef SKIP_BODY
{
    (void)v;
    return list;
}
#endif
