/*
 * ta_tree.h - ToolACE's API context tree (Liu et al., ICLR 2025, TSS):
 * functionalities of a domain, expanded level by level by an LLM, and
 * the adaptation step that samples a distinct subtree for each API (a
 * node plus some of its descendants: APIs covering many nodes are the
 * complex ones, single nodes the simple ones).
 */
#ifndef TA_TREE_H
#define TA_TREE_H

#include <assay/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ta_node {
    char *name, *desc;
    int depth; /* the root (the domain) is 0 */
    struct ta_node *parent;
    struct ta_node **kids;
    size_t nkids;
} ta_node;

/* Add a child (name and description copied); NULL on ENOMEM. */
ta_node *ta_node_add(ta_node *parent, const char *name, const char *desc);

/* Free the subtree below `n` (not `n` itself) and n's strings. */
void ta_node_clear(ta_node *n);

/* The nodes below `root` in depth-first preorder (root excluded); *out
 * is a new array (caller frees), *n its length.  0 or ASSAY_ENOMEM. */
int ta_tree_flatten(const ta_node *root, ta_node ***out, size_t *n);

/* "a > b > c" from the first level down to `n` (caller frees). */
char *ta_node_path(const ta_node *n);

/*
 * Sample `count` subtrees of the flattened tree `flat` (n nodes): each
 * a random node followed by a random subset (in preorder) of its
 * descendants, max_size nodes at most; a set drawn before is redrawn (up
 * to 16 times).  sets[i * max_size + j] are indices into flat (SIZE_MAX
 * pads), sizes[i] the set sizes.  0 or ASSAY_ENOMEM.
 */
int ta_sample_subtrees(ta_node *const *flat, size_t n, size_t count,
                       size_t max_size, uint64_t seed, size_t *sets,
                       size_t *sizes);

#endif
