/*
 * sa_sampler.h - SynAlign's exploration-aware sampling (Ren et al., WWW
 * 2025; the released stage-1 generator): a Gaussian process over the
 * embeddings already selected, with all-zero targets, so the predictive
 * variance depends only on the distance to the selected set; each round
 * picks the remaining point of largest variance (the first one at
 * random), then its k - 1 nearest unselected neighbours, and returns the
 * cluster.  The GP posterior is metric statcommon's (RBF kernel,
 * Cholesky through LAPACKE).  When a label runs out of unselected points
 * the round falls back to a random point (as the reference does for
 * labels with too few items).
 *
 * Cost per round: one posterior over the selected set S and the
 * remaining points R, O(|S|^3 + |R| |S| (|S| + d)); meant for the
 * few-shot sets the method targets (hundreds to a few thousand points
 * per label).
 */
#ifndef SA_SAMPLER_H
#define SA_SAMPLER_H

#include <assay/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sa_opts {
    size_t rounds;      /* clusters to pick */
    size_t k;           /* cluster size, the picked point included */
    double lengthscale; /* RBF lengthscale; <= 0: the median distance */
    double noise;       /* GP noise variance (jitter), > 0 */
    uint64_t seed;
    const assay_host *host; /* cancellation; may be NULL */
} sa_opts;

/*
 * Sample clusters from E (n x d).  picks[r] is round r's point (the
 * demonstration), cluster[r * k .. r * k + k) its cluster (the pick
 * first; SIZE_MAX pads clusters cut short), fallback[r] whether the
 * round was random because no point was left.  n >= 1.  0, ASSAY_ENOMEM,
 * ASSAY_ECANCELED or ASSAY_EDATA (a kernel matrix LAPACK could not
 * factor) with `err` filled.
 */
int sa_sample(const double *E, size_t n, size_t d, const sa_opts *o,
              size_t *picks, size_t *cluster, bool *fallback, assay_error *err);

/*
 * Posterior variance of the latent f at Xs (m x d) given training inputs
 * X (n x d) and any targets, for kernel s2 exp(-|a - b|^2 / (2 l^2)) and
 * noise sn2: the quantity the sampler maximises (n may be 0: then s2).
 */
int sa_gp_var(const double *X, size_t n, const double *Xs, size_t m, size_t d,
              double s2, double l, double sn2, double *var, assay_error *err);

#endif
