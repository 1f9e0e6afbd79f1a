/*
 * core/cluster.h - run one experiment across many machines with the
 * schedulers research groups already have: `assay slurm` writes and
 * submits a job array (one task per shard) and a merge job that depends
 * on it; `assay k8s` writes an Indexed Job and a merge Job.
 */
#ifndef ASSAY_CLUSTER_H
#define ASSAY_CLUSTER_H

int cluster_slurm_main(int argc, char **argv);
int cluster_k8s_main(int argc, char **argv);

#endif
