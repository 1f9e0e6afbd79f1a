/*
 * sr_net.h - the causal self-attention network of rec.sasrec: parameters,
 * forward pass, cross-entropy loss with hand-written backward pass, and
 * Adam.  Dense products go through CBLAS.
 *
 * The element type is float; compiling with SR_DOUBLE makes it double
 * (used by the numerical gradient check).  Prefix: sr_.
 *
 * Architecture (pre-LayerNorm transformer decoder, tied item embeddings):
 *   x0   = E[item_t] + P[t]                 (t = position in the window)
 *   x0   = dropout(x0)
 *   per layer:
 *     a  = LN1(x);  [Q K V] = a Wqkv + bqkv
 *     O  = concat_h softmax(Q_h K_h^T / sqrt(d/H) + causal mask) V_h
 *     x  = x + dropout(O Wo + bo)
 *     b  = LN2(x);  x = x + dropout(relu(b W1 + b1) W2 + b2)
 *   h    = LNf(x);  logits = h E^T
 *   loss = mean over positions of -log softmax(logits)[next item]
 */
#ifndef ASSAY_REC_SR_NET_H
#define ASSAY_REC_SR_NET_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#ifdef SR_DOUBLE
typedef double sr_real;
#else
typedef float sr_real;
#endif

typedef struct sr_config {
    size_t n_items; /* output classes and embedding rows */
    size_t d;       /* hidden size */
    size_t heads;   /* attention heads (divides d) */
    size_t layers;
    size_t inner;   /* feed-forward hidden size */
    size_t max_len; /* longest window (positions) */
    double dropout; /* on embeddings and both residual branches */
} sr_config;

/* Views of one layer inside a flat parameter (or gradient) array. */
typedef struct sr_layer {
    sr_real *ln1_g, *ln1_b;
    sr_real *Wqkv, *bqkv; /* d x 3d, 3d */
    sr_real *Wo, *bo;     /* d x d, d */
    sr_real *ln2_g, *ln2_b;
    sr_real *W1, *b1; /* d x inner, inner */
    sr_real *W2, *b2; /* inner x d, d */
} sr_layer;

/* A flat array with named views. */
typedef struct sr_params {
    size_t count;
    sr_real *data;
    sr_real *E; /* n_items x d */
    sr_real *P; /* max_len x d */
    sr_layer *layer;
    sr_real *lnf_g, *lnf_b;
} sr_params;

/* Number of parameters of `cfg`. */
size_t sr_param_count(const sr_config *cfg);

/* Allocate a zeroed array with its views.  Caller frees with
 * sr_params_free. */
int sr_params_alloc(sr_params *p, const sr_config *cfg);
void sr_params_free(sr_params *p);

/* Initialise: weights and embeddings N(0, std), LayerNorm gains 1, the
 * rest 0. */
void sr_params_init(sr_params *p, const sr_config *cfg, double std,
                    assay_rng *rng);

/* A batch of windows packed without padding: sequence s owns tokens
 * [off[s], off[s+1]); the token at offset t has position t - off[s]. */
typedef struct sr_batch {
    size_t nseq;
    const size_t *off;       /* nseq + 1 */
    const uint32_t *items;   /* off[nseq] input items */
    const uint32_t *targets; /* next items (training), or NULL */
} sr_batch;

/* Activations and scratch for up to `max_tokens` tokens (opaque). */
typedef struct sr_work sr_work;

int sr_work_new(const sr_config *cfg, size_t max_tokens, size_t max_seqs,
                unsigned workers, sr_work **out);
void sr_work_free(sr_work *w);

/* Forward modes (0 and 1 read as false/true: evaluation/training). */
enum {
    SR_EVAL_ALL = 0, /* every position, no dropout */
    SR_TRAIN = 1,    /* every position, dropout; sr_backward may follow */
    SR_EVAL_LAST = 2 /* inference of each sequence's last position only:
                        the final block and LayerNorm skip the others */
};

/*
 * Forward pass of batch `b` (at most max_tokens tokens, windows of 1 to
 * max_len tokens).  In SR_TRAIN the dropout masks derive from `seed` and
 * the token number only (the same for any thread count).  `pool` may be
 * NULL (single-threaded).
 */
int sr_forward(const sr_config *cfg, const sr_params *p, sr_work *w,
               const sr_batch *b, int mode, uint64_t seed, rc_pool *pool);

/*
 * After sr_forward with targets: the mean cross-entropy over all tokens
 * (in *loss) and its gradient added into `g` (same layout as p; the
 * caller zeroes it).
 */
int sr_backward(const sr_config *cfg, const sr_params *p, sr_work *w,
                const sr_batch *b, sr_params *g, double *loss, rc_pool *pool);

/* After sr_forward (any mode): scores of every item for the last token of
 * each sequence, out[s * n_items + i]. */
void sr_score_last(const sr_config *cfg, const sr_params *p, sr_work *w,
                   const sr_batch *b, float *out);

/* The exponential the float network uses in softmaxes (x <= 0), exposed
 * for its accuracy test. */
float sr_softmax_exp(float x);

/* One Adam step on every parameter (bias-corrected, step >= 1), with L2
 * weight decay `wd` added to the gradient. */
void sr_adam(sr_params *p, const sr_params *g, sr_params *m, sr_params *v,
             double lr, double b1, double b2, double eps, double wd,
             uint64_t step);

#endif
