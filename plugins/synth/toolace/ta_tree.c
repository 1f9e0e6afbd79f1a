/*
 * ta_tree.c - see ta_tree.h.
 */
#include "ta_tree.h"

#include <stdlib.h>
#include <string.h>

#include "jc_text.h"

ta_node *ta_node_add(ta_node *parent, const char *name, const char *desc)
{
    ta_node **k = realloc(parent->kids, (parent->nkids + 1) * sizeof *k);
    if (!k)
        return NULL;
    parent->kids = k;
    ta_node *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->name = jc_strdup(name);
    c->desc = jc_strdup(desc ? desc : "");
    if (!c->name || !c->desc) {
        free(c->name);
        free(c->desc);
        free(c);
        return NULL;
    }
    c->depth = parent->depth + 1;
    c->parent = parent;
    parent->kids[parent->nkids++] = c;
    return c;
}

void ta_node_clear(ta_node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        ta_node_clear(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    free(n->name);
    free(n->desc);
    n->kids = NULL;
    n->nkids = 0;
    n->name = n->desc = NULL;
}

static size_t count_below(const ta_node *n)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nkids; i++)
        c += 1 + count_below(n->kids[i]);
    return c;
}

static void collect(const ta_node *n, ta_node **out, size_t *k)
{
    for (size_t i = 0; i < n->nkids; i++) {
        out[(*k)++] = n->kids[i];
        collect(n->kids[i], out, k);
    }
}

int ta_tree_flatten(const ta_node *root, ta_node ***out, size_t *n)
{
    size_t c = count_below(root), k = 0;
    *out = malloc((c + 1) * sizeof **out);
    if (!*out)
        return ASSAY_ENOMEM;
    collect(root, *out, &k);
    *n = k;
    return ASSAY_OK;
}

char *ta_node_path(const ta_node *n)
{
    const ta_node *chain[64];
    size_t k = 0;
    for (const ta_node *p = n; p && p->depth > 0 && k < 64; p = p->parent)
        chain[k++] = p;
    jc_buf b = {0};
    char *out = NULL;
    while (k-- > 0)
        if (jc_buf_printf(&b, "%s%s", b.len ? " > " : "", chain[k]->name)) {
            jc_buf_free(&b);
            return NULL;
        }
    jc_buf_take(&b, &out);
    return out;
}

static bool is_below(const ta_node *n, const ta_node *anc)
{
    for (const ta_node *p = n->parent; p; p = p->parent)
        if (p == anc)
            return true;
    return false;
}

int ta_sample_subtrees(ta_node *const *flat, size_t n, size_t count,
                       size_t max_size, uint64_t seed, size_t *sets,
                       size_t *sizes)
{
    assay_rng r;
    assay_rng_init(&r, seed);
    size_t *below = malloc((n + 1) * sizeof *below);
    if (!below)
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        size_t *set = sets + i * max_size;
        for (int attempt = 0; attempt < 16; attempt++) {
            for (size_t j = 0; j < max_size; j++)
                set[j] = SIZE_MAX;
            if (n == 0) {
                sizes[i] = 0;
                break;
            }
            size_t root = (size_t)assay_rng_below(&r, n), nb = 0;
            for (size_t j = root + 1; j < n; j++)
                if (is_below(flat[j], flat[root]))
                    below[nb++] = j;
            size_t want =
                max_size > 1 && nb
                    ? (size_t)assay_rng_below(
                          &r, (nb < max_size - 1 ? nb : max_size - 1) + 1)
                    : 0;
            /* a random subset of `want` descendants, kept in preorder:
             * selection sampling */
            set[0] = root;
            size_t k = 1, need = want;
            for (size_t j = 0; j < nb && need; j++)
                if (assay_rng_below(&r, nb - j) < need) {
                    set[k++] = below[j];
                    need--;
                }
            sizes[i] = k;
            bool dup = false;
            for (size_t p = 0; p < i && !dup; p++)
                dup = sizes[p] == k &&
                      !memcmp(sets + p * max_size, set, k * sizeof *set);
            if (!dup)
                break;
        }
    }
    free(below);
    return ASSAY_OK;
}
